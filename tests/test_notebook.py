"""notebooks/tutorial.ipynb runs from top to bottom (at the small sizes of
REPRODUCE_TUTORIAL_QUICK=1), so the tutorial cannot rot; and the committed
copy shows its pictures and stays small."""
import os

import pytest

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "notebooks", "tutorial.ipynb")


def test_the_committed_tutorial_shows_its_pictures_and_stays_small():
    import nbformat
    nb = nbformat.read(NOTEBOOK, as_version=4)
    pictures = [output for cell in nb.cells if cell.cell_type == "code"
                for output in cell.get("outputs", []) if "image/jpeg" in output.get("data", {})]
    assert len(pictures) >= 8
    errors = [output for cell in nb.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    assert os.path.getsize(NOTEBOOK) < 2 << 20


@pytest.mark.slow
def test_the_tutorial_runs(monkeypatch, tmp_path):
    """Every cell, in a fresh kernel, at the small sizes (a failing cell
    raises CellExecutionError with its traceback).  The kernel's own log
    (ipykernel warns about its local TCP sockets) goes to a file, not to
    the suite's stderr."""
    import nbformat
    from nbclient import NotebookClient
    from reproduce import paths
    for path in (paths.EMBEDDED_CLASSIFIER, paths.EMBEDDED_VGG16_CONV, paths.PRIOR):
        if not os.path.exists(path):
            pytest.fail("%s is missing: run `make setup` first" % path)
    monkeypatch.setenv("REPRODUCE_TUTORIAL_QUICK", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with open(str(tmp_path / "kernel.log"), "w") as log:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute(stderr=log)
    shown = [output for cell in nb.cells if cell.cell_type == "code"
             for output in cell.outputs if "image/jpeg" in output.get("data", {})]
    assert len(shown) >= 8

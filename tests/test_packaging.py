"""What pip users get: the wheel's contents and metadata, the requirements
split, and where an installed copy keeps its data."""
import email.parser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from reproduce import paths

ROOT = paths.REPO
TEST_ONLY = {"pytest", "playwright", "greenlet"}
OPTIONAL = {"torch", "dask", "distributed"}


def _names(requirements_file):
    """The distribution names a requirements file lists."""
    with open(os.path.join(ROOT, requirements_file)) as f:
        lines = [line.split("#")[0].strip() for line in f]
    return [line.split("==")[0].lower() for line in lines if line]


def test_runtime_requirements_hold_no_test_or_optional_package():
    runtime = set(_names("requirements.txt"))
    assert not runtime & (TEST_ONLY | OPTIONAL)
    assert TEST_ONLY <= set(_names("requirements-test.txt"))
    assert {"dask", "distributed"} <= set(_names("requirements-atlas.txt"))
    assert "torch" in _names("requirements-torch.txt")


def test_the_embedded_packages_named_to_pip_users_are_the_pinned_ones():
    with open(os.path.join(ROOT, "requirements-embedded.txt")) as f:
        pinned = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert sorted(pinned) == sorted(paths.EMBEDDED_PACKAGES)


def test_a_clone_keeps_its_own_data():
    assert paths.IN_CLONE
    assert paths.data_home(in_clone=True, environ={}) == ROOT


def test_an_installed_copy_keeps_its_data_in_the_user_data_folder(tmp_path):
    home = paths.data_home(in_clone=False, environ={"XDG_DATA_HOME": str(tmp_path)})
    assert home == os.path.join(str(tmp_path), "reproduce")
    assert paths.data_home(in_clone=False, environ={}) == os.path.join(
        os.path.expanduser("~"), ".local", "share", "reproduce")
    assert "site-packages" not in paths.data_home(in_clone=False, environ={})
    mine = str(tmp_path / "mine")
    for in_clone in (True, False):
        assert paths.data_home(in_clone, {"REPRODUCE_HOME": mine}) == mine
    assert paths.user_data_dir("darwin", {}).endswith(
        os.path.join("Library", "Application Support", "reproduce"))
    assert paths.user_data_dir("win32", {"LOCALAPPDATA": "C:\\U"}) == os.path.join(
        "C:\\U", "reproduce")


@pytest.mark.parametrize("what, clone, installed", [
    ("vgg16.h5", "`make weights`", "`reproduce download vgg16`"),
    ("/x/weights/prior_student.h5", "`make prior`", "`reproduce fit-prior`"),
    ("efficientnet_lite0.h5", "`make weights-embedded`", "reproduce convert-embedded`"),
    ("torch", "`make setup`", "[torch]'`"),
])
def test_missing_files_name_the_command_of_the_copy_that_runs(what, clone, installed):
    assert paths.how_to_make(what, in_clone=True) == clone
    assert paths.how_to_make(what, in_clone=False).endswith(installed)
    assert paths.how_to_make("my_own.h5") is None


@pytest.mark.slow
def test_the_wheel_holds_every_subpackage_and_its_data_and_no_weights(tmp_path):
    """Built offline from the tracked files, as pip builds it (about 5 s)."""
    tracked = subprocess.run(
        ["git", "ls-files", "reproduce", "reproduce_torch", "pyproject.toml", "README.md",
         "LICENSE", "requirements*.txt"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0 or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    src = tmp_path / "src"
    for name in tracked.stdout.split():
        os.makedirs(src / os.path.dirname(name), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), src / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", str(src), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = os.listdir(tmp_path / "wheel")
    with zipfile.ZipFile(tmp_path / "wheel" / wheel) as z:
        names = set(z.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(z.read(info).decode())
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()

    packages = {os.path.dirname(n) for n in tracked.stdout.split()
                if n.endswith("__init__.py")}
    assert len(packages) > 10
    assert {p for p in packages if p + "/__init__.py" not in names} == set()
    code = {n for n in tracked.stdout.split() if n.startswith("reproduce")
            and n.endswith((".py", ".c", ".json", ".html", ".js", ".css"))}
    assert {n for n in code if n.endswith(".c")} and code - names == set()
    assert not [n for n in names if n.endswith((".h5", ".mat", ".pth", ".npy"))]
    assert not [n for n in names if n.split("/")[0] in ("tests", "bench", "experiments",
                                                        "weights", "results")]
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert metadata["Name"] == paths.DISTRIBUTION
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] in (">=3.11,<3.12", "<3.12,>=3.11")
    runtime = {r.split("==")[0].lower() for r in metadata.get_all("Requires-Dist")
               if "extra ==" not in r}
    assert "theano" in runtime and not runtime & (TEST_ONLY | OPTIONAL)
    assert "reproduce = reproduce.cli:main" in entry_points


def test_scripts_are_named_from_the_clone_or_else_from_the_working_folder(
        monkeypatch, tmp_path):
    from reproduce.atlas import scripts
    assert scripts.script_folder() == ROOT  # `make figures` names experiments/...
    monkeypatch.setattr(scripts, "IN_CLONE", False)
    monkeypatch.chdir(tmp_path)
    assert scripts.script_folder() == str(tmp_path)  # never site-packages


def test_an_installed_copy_builds_no_venv_of_its_own(monkeypatch):
    """The conformance table's venvs sit beside the clone's .venv; from
    site-packages they would be written inside it: refused in one line."""
    from reproduce.conformance import envs
    from reproduce.errors import UserError
    monkeypatch.setattr(envs, "IN_CLONE", False)
    env = envs.ENVS["torch"]
    made = os.path.exists(env.path)
    with pytest.raises(UserError, match="clone"):
        envs.build(env)
    assert os.path.exists(env.path) == made

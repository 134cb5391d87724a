"""Fixtures every test folder shares: the tiny model and its weights file.
Helpers that are not fixtures are in the ``helpers`` package beside this file."""
import pytest

import reproduce.backend  # noqa: F401  (Theano flags before anything else)


@pytest.fixture(scope="session")
def tiny_model():
    from helpers.models import tiny_vgg
    return tiny_vgg()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory, tiny_model):
    from reproduce.nets.weights import save_model
    path = tmp_path_factory.mktemp("weights") / "tiny.h5"
    save_model(tiny_model, path)
    return str(path)


@pytest.fixture(scope="session")
def reference_files(tiny_weights, tmp_path_factory):
    """(reference-vectors file, prior file) of the tiny model, written by the command."""
    from helpers.reference import write_reference
    return write_reference(tiny_weights, str(tmp_path_factory.mktemp("reference")))


@pytest.fixture(scope="session")
def ref(reference_files):
    """(arrays, attrs) of that reference file."""
    from reproduce import reference
    return reference.load(reference_files[0])


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a loaded two-core machine torch's spinning OpenMP
    threads made small calls 30 times slower."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

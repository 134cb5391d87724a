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

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reproduce.backend  # noqa: E402,F401  (Theano flags before anything else)

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "..", "shared")
LSD2015 = os.path.join(SHARED, "reference", "lsd2015")


@pytest.fixture(scope="session")
def tiny_model():
    from models import tiny_vgg
    return tiny_vgg()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory, tiny_model):
    from reproduce.nets.weights import save_model
    path = tmp_path_factory.mktemp("weights") / "tiny.h5"
    save_model(tiny_model, path)
    return str(path)


def lsd2015_file(name):
    """Path of a 2015 reference file, or skip the test where ../shared is absent."""
    path = os.path.join(LSD2015, name)
    if not os.path.exists(path):
        pytest.skip("2015 reference files not found at %s" % LSD2015)
    return path

"""One step of ``dream --profile image2015`` from hd1.jpg against the 2015
step written out independently (tests/helpers/lsd2015_port.py), at hd1's full size
(1920x1080) on the tiny VGG-shaped net, with and without the 2015 prior."""
import numpy as np
import pytest
from PIL import Image

from helpers import lsd2015_port as port
from helpers.shared import LSD2015, lsd2015_file
from reproduce import cli
from reproduce.fileio import load_image, to_uint8
from reproduce.nets.classes import find_class

CLASSES = ("wood rabbit", "analog clock")


@pytest.fixture(scope="module")
def start():
    return load_image(lsd2015_file("hd1.jpg"))


@pytest.fixture(scope="module")
def net_term(tiny_model, start):
    """The 2015 net term's gradient at the start image, for our two classes."""
    f = port.net_term_function(tiny_model, start.shape[:2])
    features = np.array([find_class(c, tiny_model.descriptions) for c in CLASSES], np.int32)
    n, grad = f(np.ascontiguousarray(start.transpose(2, 0, 1)[None]), features)
    return float(n), grad


def dream_one_step(weights, tmp_path, *options):
    out = tmp_path / "step.png"
    argv = ["dream", "--weights", weights, "--profile", "image2015", "--steps", "1",
            "--prior-dir", LSD2015, "--no-progress", "--out", str(out)]
    for c in CLASSES:
        argv += ["--classes", c]
    assert cli.main(argv + list(options)) == 0
    return np.asarray(Image.open(out), np.float32)


def agreement(ours, expected):
    """Share of pixel values that are the same 8-bit level."""
    return float(np.mean(ours == to_uint8(expected)))


@pytest.mark.slow
def test_one_step_without_the_prior_is_the_2015_step(tiny_weights, tmp_path, start, net_term):
    n, grad = net_term
    assert np.isnan(n)  # 2015 printed NaN: the lower slices of both pooled maps are empty
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    expected = port.adam2015_first_step(start.transpose(2, 0, 1)[None], grad)[0].transpose(1, 2, 0)
    ours = dream_one_step(tiny_weights, tmp_path, "--prior", "none")
    assert agreement(ours, expected) >= 0.99
    # the check can fail: halving each pooled map (our option) is another step
    other = dream_one_step(tiny_weights, tmp_path, "--prior", "none",
                           "--set", "half_row=per_map")
    assert agreement(other, expected) < 0.9


@pytest.mark.slow
def test_one_step_with_the_2015_prior_is_the_2015_step(tiny_weights, tmp_path, start,
                                                       net_term):
    _, grad = net_term
    x = start.transpose(2, 0, 1)[None].astype(np.float32)
    _, prior_grad = port.prior_term(x, LSD2015, strength=1000.0)
    expected = port.adam2015_first_step(x, grad + prior_grad)[0].transpose(1, 2, 0)
    ours = dream_one_step(tiny_weights, tmp_path, "--prior", "lsd2015")
    assert agreement(ours, expected) >= 0.99

"""Class models on the tiny synthetic VGG: Simonyan et al.'s gradient ascent
raises the class logit and its lambda shrinks the image; the least-squares
L-BFGS fit moves the layer towards its exaggerated target, with total
variation or the patch prior; the CLI refuses bad requests in one line."""
import numpy as np
import pytest
from PIL import Image

from reproduce.deepdream import classmodels as cm
from reproduce.cli import main
from reproduce.nets.build import build_net, preprocess, to_batch
from reproduce.prior.fit import fit_gaussian, prior_from_fit
from helpers.cli import one_error_line

CLASS = 7


@pytest.fixture(scope="module")
def net(tiny_model):
    return build_net(tiny_model)


@pytest.fixture(scope="module")
def class_gradient(net):
    return cm.compile_class_gradient(net)


@pytest.fixture(scope="module")
def photo():
    rng = np.random.RandomState(4)
    return rng.uniform(30, 225, (28, 28, 3)).astype(np.float32)


def logit(gradient, net, image):
    x = preprocess(to_batch(image), net.model)
    return float(gradient(x, np.int32(CLASS), np.float32(0))[1])


def test_simonyan_raises_the_class_logit(net, class_gradient):
    settings = cm.SimonyanSettings(steps=8, learning_rate=10.0, l2=1e-3)
    result = cm.simonyan(net, CLASS, settings, progress=False, gradient=class_gradient)
    scores = [s for _, s in result.history]
    assert result.steps == 8 and not result.interrupted
    # it starts from the zero (mean) image ...
    assert scores[0] == pytest.approx(logit(class_gradient, net,
                                            np.tile(net.model.mean_rgb(), (28, 28, 1))),
                                      abs=1e-4)
    # ... and climbs; the image it returns holds the higher logit
    assert scores[-1] > scores[0] + 1.0
    assert logit(class_gradient, net, result.image) > scores[-1]
    assert result.image.shape == (28, 28, 3)


def test_simonyan_l2_keeps_the_image_small(net, class_gradient):
    def norm(l2):
        settings = cm.SimonyanSettings(steps=8, learning_rate=10.0, l2=l2)
        image = cm.simonyan(net, CLASS, settings, False, class_gradient).image
        return np.linalg.norm(image - net.model.mean_rgb())
    assert norm(0.05) < 0.5 * norm(0.0)  # lr * 2 * l2 < 2: stable


@pytest.mark.slow
@pytest.mark.parametrize("regulariser", ["tv", "prior"])
def test_least_squares_approaches_the_exaggerated_target(net, photo, regulariser):
    prior = None
    if regulariser == "prior":
        patches = np.random.RandomState(0).uniform(0, 255, (2000, 8, 8, 3))
        prior = prior_from_fit(fit_gaussian(patches))
    settings = cm.LeastSquaresSettings(layer="relu2_1", k=2.0, regulariser=regulariser,
                                       weight=0.01, iterations=6, prior_scales=(1, 2))
    result = cm.least_squares(net, photo, settings, prior, progress=False)
    loss, match, reg = zip(*result.history)
    # at the photo the layer is 1/k of the target: ||a - k a||^2 / ||k a||^2
    assert match[0] == pytest.approx((1 - 1 / 2.0) ** 2, rel=1e-3)
    assert min(loss) < 0.7 * loss[0] and min(match) < 0.7 * match[0]
    assert 0 <= result.image.min() and result.image.max() <= 255  # L-BFGS-B bounds
    assert not result.interrupted


def test_cli_bad_requests(tmp_path, capsys, tiny_weights, tiny_model):
    out = tmp_path / "out.png"
    base = ["class-model", "--weights", tiny_weights, "--out", str(out)]
    assert "--classes" in one_error_line(capsys, base + ["--method", "simonyan"])
    assert "--start" in one_error_line(capsys, base + ["--method", "lsq"])
    start = tmp_path / "start.png"
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(start)
    line = one_error_line(capsys, base + ["--method", "lsq", "--start", str(start),
                                          "--layer", "nope"])
    assert "nope" in line and "conv1_1" in line
    assert not out.exists()


@pytest.mark.slow
def test_cli_simonyan_writes_the_picture(tmp_path, capsys, tiny_weights, tiny_model):
    out = tmp_path / "class.png"
    name = tiny_model.descriptions[CLASS].split(",")[0]
    assert main(["class-model", "--weights", tiny_weights, "--classes", name,
                 "--steps", "3", "--learning-rate", "10", "--no-progress",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (28, 28)
    assert name in capsys.readouterr().out

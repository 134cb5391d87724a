"""DeepDream on the tiny synthetic VGG: each objective goes up, octaves keep
the size, the jitter is seeded, Ctrl-C keeps the work, and the CLI refuses
unknown layers and images too large for memory with one line."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from reproduce.deepdream import dream as dd
from reproduce.nets import memory
from reproduce import objectives
from reproduce.cli import main
from reproduce.nets.build import build_net, to_batch
from helpers.cli import one_error_line

LAYER = "relu2_1"            # conv2_1 after its ReLU: 8 channels


@pytest.fixture(scope="module")
def net(tiny_model):
    return build_net(tiny_model)


@pytest.fixture(scope="module")
def photo():
    """A smooth random 'photo', (36, 44, 3) on 0..255."""
    rng = np.random.RandomState(3)
    small = rng.uniform(40, 215, (6, 8, 3)).astype(np.float32)
    return dd.resize(small, (36, 44))


@pytest.fixture(scope="module")
def l2_gradient(net):
    return dd.compile_gradient(net, objectives.layer_l2(LAYER))


def score(gradient, image):
    return float(gradient(to_batch(image))[0])


def dream(gradient, image, **kw):
    settings = dd.DreamSettings(**dict(dict(octaves=1, steps=4, jitter=0), **kw))
    return dd.deepdream(gradient, image, settings, progress=False)


def test_layer_l2_goes_up(l2_gradient, photo):
    result = dream(l2_gradient, photo)
    assert result.steps == 4 and not result.interrupted
    assert score(l2_gradient, result.image) > 1.5 * score(l2_gradient, photo)
    assert result.image.min() >= 0 and result.image.max() <= 255


def test_channel_goes_up(net, photo):
    gradient = dd.compile_gradient(net, objectives.layer_l2(LAYER, channel=3))
    before = score(gradient, photo)
    after = score(gradient, dream(gradient, photo).image)
    assert after > 1.5 * before
    assert objectives.layer_l2(LAYER, 3).name == "l2(relu2_1:3)"


def test_guide_goes_up(net, photo):
    guide = np.random.RandomState(5).uniform(0, 255, (28, 28, 3)).astype(np.float32)
    features = dd.guide_features(net, LAYER, guide)
    assert features.shape == (8, 14 * 14)
    gradient = dd.compile_gradient(net, objectives.guide(LAYER, features))
    assert score(gradient, dream(gradient, photo).image) > score(gradient, photo)


def test_octaves_give_the_input_size(l2_gradient, photo):
    assert dd.octave_sizes((36, 44), 3, 1.4) == [(19, 22), (26, 31), (36, 44)]
    small = dd.resize(photo, (19, 22))
    assert small.shape == (19, 22, 3)
    assert photo.min() <= small.min() and small.max() <= photo.max()  # no zero edges
    result = dream(l2_gradient, photo, octaves=3, steps=2, jitter=4)
    assert result.image.shape == photo.shape and result.steps == 6
    # the detail dreamed at the small octaves is carried up, not dropped
    assert score(l2_gradient, result.image) > score(l2_gradient, photo)


def test_jitter_is_seeded(l2_gradient, photo):
    a = dream(l2_gradient, photo, jitter=8, seed=1).image
    b = dream(l2_gradient, photo, jitter=8, seed=1).image
    c = dream(l2_gradient, photo, jitter=8, seed=2).image
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1


def test_ctrl_c_keeps_what_was_made(l2_gradient, photo):
    calls = []

    def interrupted_gradient(batch):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return l2_gradient(batch)

    result = dream(interrupted_gradient, photo, octaves=3, steps=2)
    assert result.interrupted and result.steps == 3
    assert result.image.shape == photo.shape        # scaled up to full size
    assert np.abs(result.image - photo).max() > 1   # the dreamed detail is kept


def test_conv_layers_are_taken_after_their_relu(net):
    assert dd.rectified(net, "conv1_2") == "relu1_2"
    assert dd.rectified(net, "pool1") == "pool1"
    assert dd.rectified(net, "fc8") == "fc8"        # no ReLU follows the logits
    assert dd.conv_layers(net)[:3] == ["relu1_1", "relu1_2", "relu2_1"]


def test_memory_estimate(net):
    small, large = (memory.estimate_bytes(net, n, n, LAYER) for n in (64, 128))
    # activations and the im2col buffer grow with the pixels; parameters do not
    params = 4 * sum(s.W.size + s.b.size for s in net.model.layers if s.type == "conv")
    assert (large - params) == pytest.approx(4 * (small - params), rel=0.05)
    assert memory.parse_bytes("1.5G") == 3 * 2 ** 29
    assert memory.parse_bytes("512M") == 512 * 2 ** 20


# --------------------------------------------------------------- the CLI


@pytest.fixture
def photo_file(tmp_path, photo):
    path = tmp_path / "photo.png"
    Image.fromarray(photo.astype(np.uint8)).save(path)
    return str(path)


def test_cli_unknown_layer_lists_the_valid_ones(tmp_path, capsys, tiny_weights,
                                                photo_file):
    out = tmp_path / "out" / "dream.png"
    line = one_error_line(capsys, ["deepdream", photo_file, "--weights", tiny_weights,
                                   "--layer", "conv9_9", "--out", str(out)])
    assert "conv9_9" in line and "conv1_1" in line and "relu2_1" in line
    assert not out.exists() and not out.parent.exists()


def test_cli_refuses_an_image_too_large(tmp_path, capsys, tiny_weights, photo_file):
    out = tmp_path / "dream.png"
    line = one_error_line(capsys, ["deepdream", photo_file, "--weights", tiny_weights,
                                   "--layer", "conv2_1", "--size", "4000x3000",
                                   "--max-memory", "1G", "--out", str(out)])
    need = memory.human(memory.estimate_bytes(build_net_of(tiny_weights), 3000, 4000,
                                              "relu2_1"))
    assert need in line and "1.0 GiB" in line and "4000x3000" in line
    assert os.listdir(tmp_path) == ["photo.png"]


def build_net_of(path):
    from reproduce.nets.weights import load_model
    return build_net(load_model(path))


@pytest.mark.slow
def test_cli_deepdream_and_sweep(tmp_path, capsys, tiny_weights, photo_file):
    out = tmp_path / "dream.png"
    assert main(["deepdream", photo_file, "--weights", tiny_weights, "--layer",
                 "conv2_1", "--octaves", "2", "--steps", "2", "--no-progress",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (44, 36)

    sweep = tmp_path / "sweep"
    assert main(["sweep", photo_file, "--weights", tiny_weights, "--layers",
                 "conv1_2,conv2_1", "--size", "44x36", "--octaves", "1", "--steps",
                 "2", "--no-progress", "--out-dir", str(sweep)]) == 0
    names = sorted(os.listdir(sweep))
    assert names == ["00_input.json", "00_input.png", "01_relu1_2.json",
                     "01_relu1_2.png", "02_relu2_1.json", "02_relu2_1.png",
                     "index.html"]
    record = json.load(open(sweep / "02_relu2_1.json"))
    assert record["classes"] == ["relu2_1"] and record["steps"] == 2
    assert record["settings"]["steps"] == 2
    page = open(sweep / "index.html").read()
    assert page.index("01_relu1_2.png") < page.index("02_relu2_1.png")


@pytest.mark.slow
def test_demo_quick(tmp_path):
    """The `make demo` script end to end, shrunk (--quick), on the embedded VGG-16."""
    import importlib.util

    from reproduce.report.gallery import build
    from reproduce.paths import REPO as root
    weights = os.path.join(root, "weights", "vgg16_conv_hed.h5")
    if not os.path.exists(weights):
        pytest.skip("%s not converted yet (make setup)" % weights)
    spec = importlib.util.spec_from_file_location(
        "demo_deepdream", os.path.join(root, "experiments", "demo_deepdream.py"))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.main(["--quick", "--weights", weights, "--results", str(tmp_path)]) == 0
    records = [json.load(open(tmp_path / f)) for f in sorted(os.listdir(tmp_path))
               if f.endswith(".json")]
    assert [r["classes"][0] for r in records] == [
        "input photo", "relu4_3", "relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3",
        "input clip", "relu4_3", "relu4_3"]
    assert all(r["quick"] and os.path.exists(tmp_path / r["image"]) for r in records)
    videos = [r for r in records if r.get("video")]
    assert [r["name"] for r in videos] == ["video_00_input", "video_01_relu4_3",
                                           "zoom_01_relu4_3"]
    assert all(os.path.exists(tmp_path / r["video"]) for r in videos)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".frames")]
    assert build(str(tmp_path), "demo", "")[1] == len(records)

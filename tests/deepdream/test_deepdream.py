"""DeepDream on the tiny synthetic VGG: each objective goes up, octaves keep
the size, the jitter is seeded, Ctrl-C keeps the work, and the CLI refuses
unknown layers and images too large for memory with one line."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from reproduce.deepdream import dream as dd
from reproduce.nets import memory, naming
from reproduce import objectives
from reproduce.cli import main
from reproduce.nets.build import build_net, to_batch
from helpers.cli import one_error_line
from reproduce.errors import UserError

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


CAFFE_MEAN_BGR = np.float32([104.0, 116.0, 122.0])  # dream.ipynb's net mean


def toy_objective_gradient(p):
    """A smooth stand-in for the net: d/dp of 0.5 * sum(tanh(p / 40)^2 * w),
    p the notebook's input (3, H, W), BGR minus the mean; w varies with
    position so that the jitter matters."""
    rows, cols = np.mgrid[0:p.shape[1], 0:p.shape[2]]
    w = 1.0 + 0.5 * np.sin(rows / 3.0) * np.cos(cols / 5.0)
    t = np.tanh(p / 40.0)
    return (t * (1 - t * t) / 40.0 * w).astype(np.float32)


def notebook_deepdream(base_img, iter_n, octave_n, octave_scale, jitter, step_size, seed):
    """dream.ipynb's ``deepdream`` and ``make_step`` (clip=True), line for
    line in numpy, with ``toy_objective_gradient`` for the net's backward
    pass and a seeded RandomState for np.random."""
    import scipy.ndimage as nd
    random = np.random.RandomState(seed)
    mean = CAFFE_MEAN_BGR.reshape(3, 1, 1)

    def preprocess(img):
        return np.float32(np.rollaxis(img, 2)[::-1]) - mean

    def deprocess(img):
        return np.dstack((img + mean)[::-1])

    def make_step(data):
        ox, oy = random.randint(-jitter, jitter + 1, 2)
        data = np.roll(np.roll(data, ox, -1), oy, -2)
        g = toy_objective_gradient(data)
        data = data + step_size / np.abs(g).mean() * g
        data = np.roll(np.roll(data, -ox, -1), -oy, -2)
        return np.clip(data, -mean, 255 - mean)

    octaves = [preprocess(base_img)]
    for i in range(octave_n - 1):
        octaves.append(nd.zoom(octaves[-1], (1, 1.0 / octave_scale, 1.0 / octave_scale),
                               order=1))
    detail = np.zeros_like(octaves[-1])
    for octave, octave_base in enumerate(octaves[::-1]):
        h, w = octave_base.shape[-2:]
        if octave > 0:
            h1, w1 = detail.shape[-2:]
            detail = nd.zoom(detail, (1, 1.0 * h / h1, 1.0 * w / w1), order=1)
        data = octave_base + detail
        for i in range(iter_n):
            data = make_step(data)
        detail = data - octave_base
    return deprocess(data)


def test_octaves_compute_what_the_notebook_computes():
    """Chained octaves, the detail scaled up, no clip before an octave's
    first step, step_size / mean|g| without epsilon: the notebook's loop."""
    rng = np.random.RandomState(5)
    image = dd.resize(rng.uniform(0, 255, (8, 11, 3)).astype(np.float32), (64, 90))
    image[:6] = 255.0  # saturated rows: the clip matters

    def gradient(batch):  # our side: RGB pixels (1, 3, H, W) -> the same toy
        p = batch[0, ::-1] - CAFFE_MEAN_BGR.reshape(3, 1, 1)
        return 0.0, toy_objective_gradient(p)[::-1][None]

    settings = dd.DreamSettings(octaves=3, octave_scale=1.4, steps=3, jitter=4,
                                step_size=1.5, seed=7)
    *_, (_, _, ours, _, _) = dd.dream_octaves(gradient, image, settings)
    expected = notebook_deepdream(image, 3, 3, 1.4, 4, 1.5, seed=7)
    assert ours.shape == expected.shape == image.shape
    np.testing.assert_allclose(ours, expected, atol=2e-3)


def test_octave_edge_notebook_gives_the_notebooks_zero_row():
    """At 111 rows an octave of 1/1.4 samples its last row just outside the
    image: dream.ipynb's nd.zoom (mode "constant") makes that row the mean
    colour; ``octave_edge="notebook"`` reproduces the notebook's output
    exactly, the default "nearest" repeats the edge row instead."""
    rng = np.random.RandomState(6)
    image = dd.resize(rng.uniform(0, 255, (8, 11, 3)).astype(np.float32), (111, 90))

    def gradient(batch):
        p = batch[0, ::-1] - CAFFE_MEAN_BGR.reshape(3, 1, 1)
        return 0.0, toy_objective_gradient(p)[::-1][None]

    expected = notebook_deepdream(image, 2, 2, 1.4, 4, 1.5, seed=3)
    mean_rgb = CAFFE_MEAN_BGR[::-1]
    outs = {}
    for edge in ("notebook", "nearest"):
        settings = dd.DreamSettings(octaves=2, octave_scale=1.4, steps=2, jitter=4,
                                    step_size=1.5, seed=3, octave_edge=edge)
        base = dd.octave_bases(image, settings, mean_rgb)[0]
        assert base.shape == (79, 64, 3)
        outs[edge] = (base, [s[2] for s in dd.dream_octaves(gradient, image, settings,
                                                             mean_rgb)][-1])
    np.testing.assert_allclose(outs["notebook"][0][-1], np.tile(mean_rgb, (64, 1)))
    assert np.abs(outs["nearest"][0][-1] - mean_rgb).max() > 10
    np.testing.assert_allclose(outs["notebook"][1], expected, atol=2e-3)
    assert np.abs(outs["nearest"][1] - expected).max() > 1
    assert dd.DreamSettings().octave_edge == "nearest"
    with pytest.raises(UserError):
        dd.DreamSettings(octave_edge="constant")


def test_an_all_zero_gradient_leaves_the_image():
    image = np.full((30, 40, 3), 300.0, np.float32)  # clipped by the step
    settings = dd.DreamSettings(octaves=1, steps=1, jitter=2)
    out, _ = dd.ascent_step(lambda b: (0.0, np.zeros_like(b)), image, settings,
                            np.random.RandomState(0))
    np.testing.assert_array_equal(out, 255.0)


def test_a_conv_layer_name_means_its_output_after_the_relu(net):
    from reproduce.deepdream.inputs import resolve_layer
    assert resolve_layer(net, "conv2_1") == "relu2_1"
    assert resolve_layer(net, "conv2_1", pre_relu=True) == "conv2_1"  # the notebook's
    assert resolve_layer(net, "relu2_1", pre_relu=True) == "conv2_1"


def test_conv_layers_are_taken_after_their_relu(net):
    assert naming.rectified(net, "conv1_2") == "relu1_2"
    assert naming.rectified(net, "pool1") == "pool1"
    assert naming.rectified(net, "fc8") == "fc8"        # no ReLU follows the logits
    assert naming.conv_layers(net)[:3] == ["relu1_1", "relu1_2", "relu2_1"]


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


def test_cli_unknown_layer_names_the_closest(tmp_path, capsys, tiny_weights, photo_file):
    out = tmp_path / "out" / "dream.png"
    line = one_error_line(capsys, ["deepdream", photo_file, "--weights", tiny_weights,
                                   "--layer", "conv9_9", "--out", str(out)])
    assert "conv9_9" in line and "did you mean" in line and "conv1_1" in line
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

"""Caffe models the tests write (tests/caffe_models.py), in both layer formats:
conversion, our Theano net against a numpy forward pass written from Caffe's
C++ layers, names with slashes end to end, a GoogLeNet-shaped model (the real
layer list of bvlc_googlenet's deploy.prototxt, few channels, 64x64 input)
that classifies like numpy and dreams at inception_4c/output, and every bad
input through the CLI."""
import os

import h5py
import numpy as np
import pytest

from helpers.caffe_models import (L, caffe_forward, caffemodel_bytes, googlenet,
                                  prototxt_text, random_blobs, small_net, write_caffe)
from helpers.cli import assert_user_error
from reproduce.backend import theano
from reproduce.cli import main
from reproduce.convert.caffe import convert_caffe
from reproduce.nets.build import build_net
from reproduce.nets.weights import load_model, save_model

SMALL_INPUT = (3, 23, 19)          # odd sizes: ceil pooling overhangs
GOOGLENET_INPUT = (3, 64, 64)      # pool5 is 2x2 here (7x7 at 224)
MEAN_BGR = np.array([104.0, 116.0, 122.0])


def close(ours, reference, tol=1e-4):
    """Agreement to ``tol`` relative to the reference's scale."""
    return np.abs(ours - reference).max() <= tol * max(1.0, np.abs(reference).max())


def forward_all(net, names, x):
    f = theano.function([net.input_var], net.outputs(names))
    return dict(zip(names, (o[0] for o in f(x))))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """{format: (caffemodel, prototxt, blobs)} of the small net, same seed."""
    folder = tmp_path_factory.mktemp("caffe_small")
    return {fmt: write_caffe(folder / fmt, small_net(), SMALL_INPUT, fmt)
            for fmt in ("layer", "V1")}


@pytest.fixture(scope="module")
def goog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("caffe_googlenet")
    net = googlenet(divisor=16, pool5=2)
    caffemodel, prototxt, blobs = write_caffe(folder, net, GOOGLENET_INPUT, "layer",
                                              name="googlenet")
    model = convert_caffe(caffemodel, prototxt, model_name="googlenet-synthetic")
    path = str(folder / "googlenet.h5")
    save_model(model, path)
    return dict(layers=net, blobs=blobs, model=load_model(path), path=path,
                net=build_net(load_model(path)))


# --------------------------------------------------------------- conversion

def test_both_layer_formats_convert_alike(small, tmp_path):
    models = [convert_caffe(*small[fmt][:2]) for fmt in ("layer", "V1")]
    # a current-format prototxt with a V1 caffemodel, as 2014 models come
    cross = write_caffe(tmp_path, small_net(), SMALL_INPUT, "layer", model_fmt="V1")
    models.append(convert_caffe(*cross[:2]))
    first = models[0]
    for other in models[1:]:
        assert [s.name for s in other.layers] == [s.name for s in first.layers]
        for a, b in zip(first.layers, other.layers):
            assert (a.type, a.input, a.inputs, a.pad, a.stride) == \
                   (b.type, b.input, b.inputs, b.pad, b.stride)
            if a.W is not None:
                assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)


def test_names_are_the_blobs_after_in_place_ops(small):
    model = convert_caffe(*small["layer"][:2])
    assert model.layer_names() == [
        "c1/3x3/pre_relu", "c1/3x3", "p1/max", "p1/norm", "c2/grouped/pre_relu",
        "c2/grouped", "c2/avg", "c2/max", "cat/output", "fc/out"]
    assert model.layer("c2/max").input == "c2/grouped"     # a branch, by name
    assert model.layer("cat/output").inputs == ("c2/avg", "c2/max")
    assert model.layer("c2/grouped/pre_relu").groups == 3
    assert model.layer("c2/avg").rounding == "ceil"
    assert model.layer("fc/out").W.shape == (7, 12, 4, 3)  # InnerProduct as a conv
    assert (model.channel_order, list(model.mean)) == ("BGR", [104, 116, 122])
    assert model.image_shape == (23, 19) and not model.has_classes


@pytest.mark.parametrize("fmt", ["layer", "V1"])
def test_forward_matches_numpy_caffe(small, fmt):
    caffemodel, prototxt, blobs = small[fmt]
    net = build_net(convert_caffe(caffemodel, prototxt))
    x = (np.random.RandomState(1).randn(1, *SMALL_INPUT) * 50).astype(np.float32)
    reference = caffe_forward(small_net(), blobs, x[0])
    names = [n for n in net.layers if n in reference]
    assert len(names) == 8
    ours = forward_all(net, names, x)
    for name in names:
        assert ours[name].shape == reference[name].shape, name
        assert close(ours[name], reference[name]), name


def test_saved_file_keeps_slashes_and_other_class_counts(small, tmp_path):
    labels = tmp_path / "categoryIndex.csv"
    labels.write_text("".join("/%s/place_%d %d\n" % ("abcdefg"[i], i, i) for i in range(7)))
    model = convert_caffe(*small["V1"][:2], labels=str(labels))
    path = tmp_path / "m.h5"
    save_model(model, path)
    with h5py.File(path, "r") as f:
        assert f.attrs["version"] == 2
        assert "cat%2Foutput" in f["layers"] and "cat" not in f["layers"]
    loaded = load_model(path)
    assert loaded.layer_names() == model.layer_names()
    assert loaded.descriptions[:2] == ["place 0", "place 1"] and len(loaded.wnids) == 7
    assert loaded.wnids[0] == "/a/place_0"
    lrn = loaded.layer("p1/norm")
    assert (lrn.local_size, lrn.beta, lrn.k) == (5, 0.75, 1.0)
    assert np.isclose(lrn.alpha, 1e-4)


def test_version_1_files_still_load(tiny_model, tmp_path):
    path = tmp_path / "v1.h5"
    save_model(tiny_model, path)
    with h5py.File(path, "r+") as f:   # as version 1 wrote it: no rounding attr
        f.attrs["version"] = 1
        for name in ("pool1", "pool2"):
            del f["layers"][name].attrs["rounding"]
    loaded = load_model(path)
    assert loaded.layer("pool1").rounding == "floor"
    assert loaded.layer_names() == tiny_model.layer_names()


# --------------------------------------------------------------- GoogLeNet-shaped

def test_googlenet_converts_with_the_real_names(goog):
    names = goog["model"].layer_names()
    for name in ("conv2/3x3_reduce", "conv2/norm2", "inception_3b/3x3_reduce",
                 "pool3/3x3_s2", "inception_4d/pool_proj", "inception_4c/output",
                 "inception_3a/pool", "inception_5b/5x5_reduce", "inception_4c/1x1/pre_relu"):
        assert name in names, name
    assert names[-1] == "loss3/classifier" and "prob" not in names
    assert not any("drop" in n for n in names)
    assert goog["model"].has_classes and len(goog["model"].descriptions) == 1000
    assert len(goog["model"].layer_names("conv")) == 58  # 57 convs + the classifier


def test_googlenet_classifies_like_numpy_caffe(goog):
    from reproduce.nets.classify import Classifier
    rng = np.random.RandomState(2)
    rgb = rng.uniform(0, 255, GOOGLENET_INPUT[1:] + (3,)).astype(np.float32)
    bgr = rgb[..., ::-1].astype(np.float64) - MEAN_BGR       # the notebook's preprocess
    reference = caffe_forward(goog["layers"], goog["blobs"], bgr.transpose(2, 0, 1))
    classifier = Classifier(goog["model"])
    logits = classifier.logits(rgb)
    expected = reference["loss3/classifier"].ravel()
    assert close(logits, expected)
    assert classifier.top(logits, 1)[0][0] == int(np.argmax(reference["prob"]))
    x = bgr.transpose(2, 0, 1)[None].astype(np.float32)
    names = ["conv2/norm2", "inception_3a/output", "inception_4c/output", "pool5/7x7_s1"]
    ours = forward_all(goog["net"], names, x)
    for name in names:
        assert close(ours[name], reference[name]), name


@pytest.mark.slow
def test_googlenet_dreams_at_inception_4c_output(goog):
    from reproduce import objectives
    from reproduce.deepdream import dream as dd
    layer = "inception_4c/output"
    gradient = dd.compile_gradient(goog["net"], objectives.layer_l2(layer))
    rng = np.random.RandomState(4)
    photo = dd.resize(rng.uniform(60, 200, (8, 8, 3)).astype(np.float32), (80, 80))
    settings = dd.DreamSettings(octaves=2, octave_scale=1.25, steps=3, jitter=4)
    result = dd.deepdream(gradient, photo, settings, progress=False)
    assert result.steps == 6 and result.image.shape == photo.shape

    def score(image):
        return float(gradient(dd.to_batch(image))[0])
    assert score(result.image) > 1.2 * score(photo)


def _dream_gradient(net, layer, rgb):
    """DeepDream's gradient (0.5 mean(a^2) at ``layer``) to the RGB pixels, (3, H, W)."""
    from reproduce import objectives
    from reproduce.deepdream import dream as dd
    return dd.compile_gradient(net, objectives.layer_l2(layer))(dd.to_batch(rgb))[1][0]


@pytest.fixture(scope="module")
def caffe_gradients(goog):
    """At dream.ipynb's layer, a 96x96 noise photo and the DeepDream gradient
    (0.5 mean(a^2)) to its RGB pixels as Caffe's backward pass computes it in
    numpy, with Caffe's max-pool rule and with Theano's."""
    from helpers.caffe_models import caffe_backward, up_to
    layer = "inception_4c/output"
    rgb = np.random.RandomState(5).uniform(0, 255, (96, 96, 3)).astype(np.float32)
    data = (rgb[..., ::-1].astype(np.float64) - MEAN_BGR).transpose(2, 0, 1)
    top = caffe_forward(up_to(goog["layers"], layer), goog["blobs"], data)[layer]
    grads = {ties: caffe_backward(goog["layers"], goog["blobs"], data, layer,
                                  top / top.size, ties)[::-1]   # BGR -> RGB
             for ties in ("argmax", "every")}
    return layer, rgb, grads


def relative_l2(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_googlenet_dream_gradient_is_caffes_on_ties(goog, caffe_gradients):
    """By default a net converted from Caffe takes Caffe's max-pool rule (one
    argmax a window).  The inception pools over overlapping pools tie, so
    Theano's rule (every tied maximum) is measurably another gradient."""
    layer, rgb, caffe = caffe_gradients
    assert relative_l2(caffe["every"], caffe["argmax"]) > 0.02   # the ties matter here
    assert relative_l2(_dream_gradient(goog["net"], layer, rgb), caffe["argmax"]) <= 1e-3


@pytest.mark.slow
def test_pool_ties_every_gives_theanos_rule(goog, caffe_gradients):
    layer, rgb, caffe = caffe_gradients
    every = build_net(goog["model"], pool_ties="every")
    assert relative_l2(_dream_gradient(every, layer, rgb), caffe["every"]) <= 1e-3


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_stride_past_the_window_with_one_padded_axis_classifies_as_caffe(method, tmp_path):
    """kernel 2, stride 3, padding on the rows only: Caffe drops a last window
    that would start in the padding on *both* axes (pooling_layer.cpp,
    Reshape), and a stride past the window leaves input unread; conversion,
    our pool and classify follow it (the InnerProduct after it fixes the size)."""
    from helpers.caffe_models import conv, pooled_shape
    from reproduce.nets.classify import Classifier
    net = (conv("c1/3x3", "data", 4, 3)
           + [L("p1", "Pooling", "c1/3x3", pool=method, kernel=2, stride=3, pad=(1, 0)),
              L("fc", "InnerProduct", "p1", num_output=5)])
    shape = (3, 21, 20)              # c1: 19x18; pooled: 7x6 (columns: 0, 3, ... 15)
    assert pooled_shape((19, 18), 2, 3, (1, 0)) == (7, 6)   # unpadded columns: 6, not 7
    caffemodel, prototxt, blobs = write_caffe(tmp_path, net, shape, "layer")
    labels = tmp_path / "labels.txt"
    labels.write_text("".join("class %d\n" % i for i in range(5)))
    path = str(tmp_path / "odd.h5")
    save_model(convert_caffe(caffemodel, prototxt, labels=str(labels)), path)
    rgb = np.random.RandomState(3).uniform(0, 255, shape[1:] + (3,)).astype(np.float32)
    bgr = rgb[..., ::-1].astype(np.float64) - MEAN_BGR
    expected = caffe_forward(net, blobs, bgr.transpose(2, 0, 1))["fc"].ravel()
    classifier = Classifier(load_model(path))
    logits = classifier.logits(rgb)
    assert close(logits, expected)
    assert classifier.top(logits, 1)[0][1] == "class %d" % np.argmax(expected)


# --------------------------------------------------------------- CLI and bad input

def test_cli_converts_and_dreams_at_a_slashed_name(small, tmp_path, capsys):
    caffemodel, prototxt, _ = small["layer"]
    out = tmp_path / "small.h5"
    assert main(["convert-weights", caffemodel, "--prototxt", prototxt, str(out)]) == 0
    assert "10 layers" in capsys.readouterr().out
    photo = tmp_path / "photo.png"
    from reproduce.fileio import save_image
    save_image(np.random.RandomState(0).uniform(0, 255, (30, 26, 3)), str(photo))
    dreamed = tmp_path / "dream.png"
    assert main(["deepdream", str(photo), "--layer", "c2/grouped", "--weights", str(out),
                 "--octaves", "1", "--steps", "2", "--jitter", "2", "--no-progress",
                 "--out", str(dreamed)]) == 0
    assert dreamed.exists()


def _write(folder, net, caffemodel=None, prototxt=None):
    """A model dir with the small net's files, then the given replacements."""
    os.makedirs(folder, exist_ok=True)
    cm, pt, _ = write_caffe(folder, net, SMALL_INPUT, "layer")
    if caffemodel is not None:
        open(cm, "wb").write(caffemodel)
    if prototxt is not None:
        open(pt, "w").write(prototxt)
    return cm, pt


def bad_truncated(folder):
    cm, pt = _write(folder, small_net())
    data = open(cm, "rb").read()
    open(cm, "wb").write(data[:len(data) // 2 + 3])
    return cm, pt, "truncated"


def bad_prototxt(folder):
    cm, pt = _write(folder, small_net(), prototxt='layer { name: "c1/3x3" type: ')
    return cm, pt, "not a Caffe prototxt"


def bad_layer_type(folder):
    net = small_net()
    net.insert(3, L("p1/sum", "Eltwise", ["p1/max", "p1/max"]))
    cm, pt = _write(folder, net)
    return cm, pt, "type Eltwise, which we do not support"


def bad_blob_shape(folder):
    net = small_net()
    cm, pt = _write(folder, net)
    other = small_net()
    other[0]["num_output"] = 5           # the caffemodel's filters: 5, not 6
    blobs = random_blobs(other, SMALL_INPUT)
    blobs.pop("c2/grouped")
    blobs.pop("fc/out")
    open(cm, "wb").write(caffemodel_bytes(other, blobs))
    return cm, pt, "has shape (5, 3, 3, 3), the prototxt needs (6, 3, 3, 3)"


@pytest.mark.parametrize("make", [bad_truncated, bad_prototxt, bad_layer_type,
                                  bad_blob_shape])
def test_bad_caffe_input_is_one_line_and_no_file(tmp_path, capsys, make):
    cm, pt, message = make(tmp_path / "model")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    line = assert_user_error(capsys, ["convert-weights", cm, "--prototxt", pt,
                                      str(out_dir / "w.h5")], "", out_dir)
    assert message in line, line


def test_caffemodel_without_prototxt_says_what_to_add(small, tmp_path, capsys):
    line = assert_user_error(capsys, ["convert-weights", small["layer"][0],
                                      str(tmp_path / "w.h5")], "--prototxt")
    assert not (tmp_path / "w.h5").exists() and line


def test_prototxt_written_matches_googlenet_layer_count():
    text = prototxt_text(googlenet(), (3, 224, 224))
    assert text.count("layer {") == 143  # deploy.prototxt: 142 layers + Input


# --------------------------------------------------------------- class pictures and the stream

@pytest.mark.slow
def test_fourier_recipe_takes_a_googlenet(goog, tmp_path):
    out = tmp_path / "fourier.png"
    assert main(["dream", "--recipe", "fourier", "--weights", goog["path"], "--classes",
                 "goldfish", "--set", "image_size=80x80", "--steps", "2",
                 "--no-progress", "--out", str(out)]) == 0
    assert out.exists()


def test_serve_aims_at_the_googlenet_logits(goog):
    from reproduce.cli import build_parser
    from reproduce.commands._options import stream_job
    from reproduce.stream.setup import prepare
    args = build_parser().parse_args(["serve", "--weights", goog["path"], "--classes",
                                      "goldfish", "--size", "96x96"])
    setup = prepare(stream_job(args))
    assert setup.profile.layer == "loss3/classifier"
    assert setup.start.overlay and "goldfish" in setup.start.overlay.lower()


def test_pre_relu_and_rectified_names_on_caffe_layers(small):
    from reproduce.nets.naming import before_relu, conv_layers, rectified
    net = build_net(convert_caffe(*small["layer"][:2]))
    assert rectified(net, "c2/grouped/pre_relu") == "c2/grouped"
    assert before_relu(net, "c2/grouped") == "c2/grouped/pre_relu"
    assert before_relu(net, "p1/norm") == "p1/norm"
    assert conv_layers(net) == ["c1/3x3", "c2/grouped", "fc/out"]


def test_missing_googlenet_names_its_make_target(tmp_path, capsys):
    assert_user_error(capsys, ["classify", str(tmp_path / "p.png"), "--weights",
                               str(tmp_path / "bvlc_googlenet.h5")], "make weights-googlenet")

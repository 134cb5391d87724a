"""MatConvNet .mat -> our HDF5: exact weights for both layouts and both MAT
versions, and the acceptance check: `classify --json` logits equal an
independent numpy forward pass over the .mat arrays."""
import json
import os

import numpy as np
import pytest
import scipy.io
from PIL import Image

from helpers.matfiles import StructArray, write_mat, write_v5, write_v73
from reproduce.cli import main
from reproduce.convert.matconvnet import convert_matconvnet, read_mat
from reproduce.nets.weights import load_model, save_model, sha256_of

VARIANTS = [("2015", "v5"), ("2015", "v73"), ("current", "v5"), ("current", "v73")]


def _mat(tmp_path, model, layout, version, **options):
    path = tmp_path / ("net-%s-%s.mat" % (layout, version))
    if layout == "current" and version == "v73":
        options.setdefault("mean_shape", (3, 1))  # both shapes occur in real files
    write_mat(path, model, layout, version, **options)
    return path


@pytest.mark.parametrize("layout,version", VARIANTS)
def test_weights_roundtrip_exactly(tmp_path, tiny_model, layout, version):
    src = _mat(tmp_path, tiny_model, layout, version)
    dst = tmp_path / "out.h5"
    save_model(convert_matconvnet(src), dst)
    model = load_model(dst)

    assert model.layer_names() == tiny_model.layer_names()  # softmax dropped
    for ours, theirs in zip(model.layers, tiny_model.layers):
        assert (ours.type, ours.pad, ours.stride) == (theirs.type, theirs.pad, theirs.stride)
        if ours.type == "conv":
            assert ours.W.dtype == np.float32 and ours.W.shape == theirs.W.shape
            np.testing.assert_array_equal(ours.W, theirs.W)
            np.testing.assert_array_equal(ours.b, theirs.b)
        if ours.type == "pool":
            assert (ours.method, ours.size) == (theirs.method, theirs.size)
    np.testing.assert_allclose(model.mean, tiny_model.mean_rgb(), rtol=1e-5)
    assert (model.channel_order, model.scale) == ("RGB", 1.0)
    assert model.image_shape == (28, 28)
    assert model.descriptions == tiny_model.descriptions
    assert model.wnids == tiny_model.wnids
    assert model.source_file == src.name
    assert model.source_sha256 == sha256_of(src)
    # only the 2015 layout keeps an average *image*
    assert (model.average_image is not None) == (layout == "2015")


def test_old_filters_biases_fields(tmp_path, tiny_model):
    """Files from before vl_simplenn_tidy keep `filters` and `biases`."""
    src = _mat(tmp_path, tiny_model, "2015", "v5", old_fields=True)
    assert "filters" in read_mat(src)["layers"][0]
    model = convert_matconvnet(src)
    np.testing.assert_array_equal(model.layer("conv1_2").W, tiny_model.layer("conv1_2").W)


@pytest.mark.parametrize("write", [write_v5, write_v73], ids=["v5", "v73"])
def test_read_mat_plain_values(tmp_path, write):
    """Both readers give the same plain tree: dicts, lists, str, MATLAB-order arrays."""
    tree = {"s": StructArray([{"a": "x", "b": np.arange(6.0).reshape(2, 3)},
                              {"a": "", "b": np.zeros((1, 1))}]),
            "c": [[], "abc", {"k": np.arange(24, dtype=np.float32).reshape(2, 3, 4)}]}
    path = str(tmp_path / "plain.mat")
    write(path, tree)
    got = read_mat(path)
    assert [d["a"] for d in got["s"]] == ["x", ""]
    np.testing.assert_array_equal(got["s"][0]["b"], tree["s"][0]["b"])
    assert got["c"][:2] == [[], "abc"]
    np.testing.assert_array_equal(got["c"][2]["k"], tree["c"][2]["k"])


def test_convert_weights_command(tmp_path, tiny_model, capsys):
    src = _mat(tmp_path, tiny_model, "current", "v5")
    dst = tmp_path / "sub" / "tiny.h5"
    assert main(["convert-weights", str(src), str(dst), "--name", "tiny"]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    assert "13 layers" in line and "1000 classes" in line and sha256_of(src) in line
    assert load_model(dst).model_name == "tiny"


# ------------------------------------------------- independent numpy forward

def np_correlate(x, W, b, pad, stride):
    """x (in, H, W); W (kh, kw, in, out) as MatConvNet stores it; pad (t, b, l, r);
    stride (sy, sx) -> (out, H', W').  Correlation: no flip."""
    kh, kw = W.shape[:2]
    x = np.pad(x, ((0, 0), pad[:2], pad[2:]))
    rows = (x.shape[1] - kh) // stride[0] + 1
    cols = (x.shape[2] - kw) // stride[1] + 1
    out = np.zeros((W.shape[3], rows, cols))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride[0] * rows:stride[0], j:j + stride[1] * cols:stride[1]]
            out += np.tensordot(W[i, j], patch, axes=(0, 0))
    return out + b.reshape(-1, 1, 1)


def np_max_pool(x, size, stride, pad):
    x = np.pad(x, ((0, 0), pad[:2], pad[2:]), constant_values=-np.inf)
    rows = (x.shape[1] - size[0]) // stride[0] + 1
    cols = (x.shape[2] - size[1]) // stride[1] + 1
    return np.max([x[:, i:i + stride[0] * rows:stride[0], j:j + stride[1] * cols:stride[1]]
                   for i in range(size[0]) for j in range(size[1])], axis=0)


def numpy_logits(mat_path, image):
    """Logits averaged over the map, reading the v5 .mat with scipy directly.

    ``image`` is (H, W, 3) RGB 0..255; the mean is that of averageImage per channel.
    """
    mat = scipy.io.loadmat(str(mat_path), struct_as_record=False)  # MATLAB shapes kept
    top = mat["meta"][0, 0] if "meta" in mat else mat
    norm = top.normalization[0, 0] if "meta" in mat else top["normalization"][0, 0]
    mean = np.asarray(norm.averageImage, np.float64).reshape(-1, 3).mean(axis=0)
    x = (image - mean).transpose(2, 0, 1)
    for cell in mat["layers"][0]:
        layer = cell[0, 0]
        kind = str(layer.type[0])
        if kind == "conv":
            W, b = layer.weights[0]
            x = np_correlate(x, W.astype(np.float64), b.astype(np.float64).ravel(),
                             _ints(layer.pad, 4), _ints(layer.stride, 2))
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "pool":
            assert str(layer.method[0]) == "max"
            x = np_max_pool(x, _ints(layer.pool, 2), _ints(layer.stride, 2),
                            _ints(layer.pad, 4))
    return x.mean(axis=(1, 2))


def _ints(value, n):
    return tuple(int(v) for v in np.resize(np.asarray(value).ravel(), n))


@pytest.mark.parametrize("layout", ["2015", "current"])
def test_classify_json_matches_numpy(tmp_path, tiny_model, capsys, layout):
    src = _mat(tmp_path, tiny_model, layout, "v5")
    weights = tmp_path / "w.h5"
    assert main(["convert-weights", str(src), str(weights)]) == 0
    image = np.random.RandomState(3).randint(0, 256, (36, 40, 3)).astype(np.uint8)
    image_path = tmp_path / "image.png"
    Image.fromarray(image).save(image_path)
    capsys.readouterr()

    assert main(["classify", str(image_path), "--weights", str(weights), "--json",
                 "--size", "native"]) == 0  # the logit map at the image's own size
    result = json.loads(capsys.readouterr().out)

    expected = numpy_logits(src, image.astype(np.float64))
    logits = np.array(result["logits"])
    assert logits.shape == (1000,)
    np.testing.assert_allclose(logits, expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())
    best = int(np.argmax(expected))
    assert result["top"][0][:2] == [best, tiny_model.descriptions[best]]
    assert os.path.getsize(weights) > 0

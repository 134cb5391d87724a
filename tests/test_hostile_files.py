"""Our own HDF5 files, edited, damaged or crafted: each load ends in one
UserError line naming the file (and the layer), within seconds, before any
graph is built."""
import os
import shutil
import sys
import time

import h5py
import numpy as np
import pytest

from reproduce import h5read, reference
from reproduce.errors import UserError
from reproduce.nets.weights import load_model
from reproduce.prior.fit import load_prior


def _attr(group, name, value):
    def edit(f):
        f[group].attrs[name] = value
    return edit


def _del_attr(group, name):
    def edit(f):
        del f[group].attrs[name]
    return edit


def _replace(path, make):
    def edit(f):
        parent, _, leaf = path.rpartition("/")
        parent = parent or "/"
        del f[parent][leaf]
        make(f[parent], leaf)
    return edit


def _dataset(value):
    return lambda g, leaf: g.create_dataset(leaf, data=value)


def _scale_W(factor):
    def edit(f):
        W = f["layers/conv1_1/W"][...]
        f["layers/conv1_1/W"][...] = W * factor
    return edit


def _nan_W(f):
    W = f["layers/conv1_1/W"][...]
    W.flat[3] = np.nan
    f["layers/conv1_1/W"][...] = W


def _huge(g, leaf):
    g.create_dataset(leaf, shape=(100000, 100000, 3, 3), dtype="f4", chunks=(1, 1, 3, 3))


def _external_storage(tmp):
    def make(g, leaf):
        secret = os.path.join(tmp, "secret.bin")
        np.zeros(4 * 3 * 3 * 3, np.float32).tofile(secret)
        g.create_dataset(leaf, shape=(4, 3, 3, 3), dtype="f4",
                         external=[(secret, 0, h5py.h5f.UNLIMITED)])
    return make


def _more_classes(f):
    del f["classes/descriptions"], f["classes/wnids"]
    names = np.array([b"class %d" % i for i in range(1001)], dtype=h5py.string_dtype())
    f["classes/descriptions"], f["classes/wnids"] = names, names


# (case, edit, words the one line must hold)
WEIGHT_CASES = [
    ("no scale", _del_attr("normalization", "scale"), "scale"),
    ("no filters", _replace("layers/conv1_1/W", lambda g, leaf: None), "conv1_1"),
    ("3-D filters", _replace("layers/conv1_1/W", _dataset(np.ones((4, 3, 3), "f4"))),
     "conv1_1"),
    ("text filters", _replace("layers/conv1_1/W", _dataset(np.array([b"x"] * 4))),
     "conv1_1"),
    ("text stride", _attr("layers/conv1_1", "stride", "two"), "stride"),
    ("float groups", _attr("layers/conv1_1", "groups", 1.5), "groups"),
    ("NaN filter", _nan_W, "NaN"),
    ("infinite filters", _scale_W(np.inf), "NaN or infinite"),
    ("infinite scale", _attr("normalization", "scale", np.inf), "scale"),
    ("zero scale", _attr("normalization", "scale", 0.0), "scale"),
    ("stride 0", _attr("layers/conv1_1", "stride", np.array([0, 1])), "stride"),
    ("negative stride", _attr("layers/pool1", "stride", np.array([-2, 2])), "pool1"),
    ("groups 0", _attr("layers/conv1_1", "groups", 0), "groups"),
    ("groups mismatch", _attr("layers/conv1_2", "groups", 2), "conv1_2"),
    ("negative pad", _attr("layers/conv1_1", "pad", np.array([-1, 1, 1, 1])), "pad"),
    ("huge pad", _attr("layers/conv1_1", "pad", np.array([10 ** 9] * 4)), "pad"),
    ("pool pad", _attr("layers/pool1", "pad", np.array([2, 2, 2, 2])), "pool1"),
    ("three pads", _attr("layers/conv1_1", "pad", np.array([1, 1, 1])), "pad"),
    ("more classes than logits", _more_classes, "1001 class names"),
    ("channel order", _attr("normalization", "channel_order", "GBR"), "GBR"),
    ("image size text", _attr("normalization", "image_size", "big"), "image_size"),
    ("image size 0", _attr("normalization", "image_size", np.array([0, 224])),
     "image_size"),
    ("mean of 2", _attr("normalization", "mean", np.array([1.0, 2.0])), "mean"),
    ("NaN mean", _attr("normalization", "mean", np.array([1.0, np.nan, 2])), "mean"),
    ("unknown type", _attr("layers/relu1_1", "type", "lrn9"), "lrn9"),
    ("missing type", _del_attr("layers/relu1_1", "type"), "relu1_1"),
    ("order names a ghost", _attr("layers", "order", np.array(
        [b"conv1_1", b"ghost"], dtype=h5py.string_dtype())), "ghost"),
    ("reads a later layer", _attr("layers/conv1_1", "input", "fc8"), "fc8"),
    ("newer version", _attr("/", "version", 99), "newer"),
    ("version text", _attr("/", "version", "one"), "version"),
    ("huge declared filters", _replace("layers/conv1_1/W", _huge), "too large"),
    ("soft link loop", _replace("layers/conv1_1/W",
                                lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink(
                                    "/layers/conv1_1/W"))), "soft link"),
    ("external link", _replace("layers/conv1_1",
                               lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(
                                   "/etc/passwd", "/x"))), "external link"),
]


def assert_refused(load, path, words, seconds=60):
    start = time.monotonic()
    with pytest.raises(UserError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and words in message, message
    assert time.monotonic() - start < seconds
    return message


@pytest.mark.parametrize("case, edit, words", WEIGHT_CASES, ids=[c[0] for c in WEIGHT_CASES])
def test_damaged_weights(tmp_path, tiny_weights, case, edit, words):
    path = tmp_path / "w.h5"
    shutil.copy(tiny_weights, path)
    with h5py.File(path, "a") as f:
        edit(f)
    assert_refused(load_model, path, words)


def test_external_storage_refused(tmp_path, tiny_weights):
    path = tmp_path / "w.h5"
    shutil.copy(tiny_weights, path)
    with h5py.File(path, "a") as f:
        _replace("layers/conv1_1/W", _external_storage(str(tmp_path)))(f)
    assert_refused(load_model, path, "external file")


def test_bit_flips_never_escape(tmp_path, tiny_weights, monkeypatch):
    """Single-byte corruptions: the file loads (the byte was data) or is
    refused in one line; nothing else escapes, nothing hangs."""
    monkeypatch.setattr(h5read, "SILENCE_SECONDS", 1.0)
    data = open(tiny_weights, "rb").read()
    rng = np.random.RandomState(0)
    outcomes = {"loaded": 0, "refused": 0}
    for i, offset in enumerate(rng.randint(0, 4096, size=12)):
        mutant = bytearray(data)
        mutant[offset] ^= 1 << int(rng.randint(8))
        path = tmp_path / ("m%d.h5" % i)
        path.write_bytes(bytes(mutant))
        try:
            load_model(path)
            outcomes["loaded"] += 1
        except UserError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == 12


def test_prior_hang_ends_in_one_line(tmp_path, monkeypatch):
    """One byte of our prior set to zero at offset 2320 makes HDF5 loop in C."""
    from reproduce.paths import PRIOR as source
    if not os.path.exists(source):
        pytest.skip("no fitted prior at %s" % source)
    monkeypatch.setattr(h5read, "SILENCE_SECONDS", 1.0)
    data = bytearray(open(source, "rb").read())
    data[2320] = 0
    path = tmp_path / "prior.h5"
    path.write_bytes(bytes(data))
    assert "stalled" in assert_refused(load_prior, path, "prior", seconds=5)


@pytest.fixture
def prior_file(tmp_path):
    from reproduce.prior.fit import Prior, save_prior
    rng = np.random.RandomState(0)
    path = tmp_path / "prior.h5"
    save_prior(Prior("student", rng.randn(8, 8, 3, 6).astype(np.float32),
                     np.zeros(6, np.float32), nu=0.7), path)
    return path


PRIOR_CASES = [
    ("no filters", _replace("/filters", lambda g, leaf: None), "filters"),
    ("filters 7x8", _replace("/filters", _dataset(np.ones((7, 8, 3, 6), "f4"))), "filters"),
    ("mean of 5", _replace("/mean", _dataset(np.ones(5, "f4"))), "mean"),
    ("NaN nu", _attr("/", "nu", np.nan), "nu"),
    ("text nu", _attr("/", "nu", "seven"), "nu"),
    ("negative nu", _attr("/", "nu", -1.0), "nu"),
    ("unknown kind", _attr("/", "kind", "cauchy"), "cauchy"),
    ("photos not JSON", _attr("/", "photos", "[astronaut"), "photos"),
    ("inf filters", _replace("/filters", _dataset(np.full((8, 8, 3, 6), np.inf, "f4"))),
     "NaN"),
]


@pytest.mark.parametrize("case, edit, words", PRIOR_CASES, ids=[c[0] for c in PRIOR_CASES])
def test_damaged_prior(prior_file, case, edit, words):
    with h5py.File(prior_file, "a") as f:
        edit(f)
    assert_refused(load_prior, prior_file, words)


def _reference_arrays(width=8, height=6, steps=reference.STEPS):
    sizes = {"H": height, "W": width, "N": steps}
    return {name: np.zeros(tuple(sizes.get(s, 2 if s is None else s) for s in shape),
                           np.int64 if name in reference.INTEGERS else np.float32)
            for name, shape in reference.SCHEMA.items()}, sizes


def test_reference_schema(tmp_path):
    arrays, _ = _reference_arrays()
    attrs = {"format": reference.FORMAT, "version": reference.VERSION, "size": np.array([8, 6]),
             "steps": reference.STEPS, "seed": 0}
    path = tmp_path / "ref.h5"
    reference.write(path, arrays, attrs)
    loaded, loaded_attrs = reference.load(path)
    assert set(loaded) == set(arrays) and loaded_attrs["seed"] == 0
    with h5py.File(path, "a") as f:
        del f["trajectory/after"]
        f["trajectory/after"] = np.zeros((3, 6, 8, 3), np.float32)
    assert_refused(reference.load, path, "trajectory")
    with h5py.File(path, "a") as f:
        del f["step1"]
    assert_refused(reference.load, path, "step1")


def _nested(depth):
    value = [np.ones((1, 1))]
    for _ in range(depth):
        value = [value]
    return value


CONVERTER_CASES = [
    ("stride 0", lambda tree: tree["layers"][0].__setitem__("stride", np.array([[0.0, 1.0]])),
     "stride"),
    ("negative pad", lambda tree: tree["layers"][0].__setitem__("pad", np.array([[-1.0]])),
     "pad"),
    ("cell 900 deep", lambda tree: tree.__setitem__("extra", _nested(900)), "nested"),
]


@pytest.mark.parametrize("version", ["v5", "v73"])
@pytest.mark.parametrize("case, edit, words", CONVERTER_CASES,
                         ids=[c[0] for c in CONVERTER_CASES])
def test_converter_refuses(tmp_path, tiny_model, version, case, edit, words):
    from helpers.matfiles import matconvnet_tree, write_v5, write_v73
    from reproduce.convert.matconvnet import convert_matconvnet
    tree = matconvnet_tree(tiny_model, "2015")
    edit(tree)
    src = tmp_path / "net.mat"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)  # the test's writer recurses once per level
    try:
        (write_v5 if version == "v5" else write_v73)(str(src), tree)
    finally:
        sys.setrecursionlimit(limit)
    assert_refused(convert_matconvnet, src, words)

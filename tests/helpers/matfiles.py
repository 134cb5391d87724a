"""Write small MatConvNet SimpleNN .mat files, as MatConvNet itself lays them out.

A model of ``tests/helpers/models.py`` becomes the value tree MATLAB would hold:

    struct -> dict      cell -> list      char -> str      numeric -> ndarray
    struct array -> StructArray (a list of dicts with the same fields)

in one of two layouts (``"2015"``: top-level ``layers``, ``normalization``,
``classes``, as up to beta16; ``"current"``: ``layers`` and ``meta``, beta17+),
then is saved as v5 (``scipy.io.savemat``) or as v7.3 (HDF5 in MATLAB's
encoding, written here with h5py).
"""
import time

import h5py
import numpy as np
import scipy.io


class StructArray(list):
    """A 1xN MATLAB struct array (not a cell of structs)."""


# ---------------------------------------------------------------- value trees

def _row(*values, dtype=np.float64):
    return np.array([values], dtype=dtype)


def conv_layer(spec, layout, old_fields=False):
    """A conv LayerSpec -> MatConvNet struct.  W (out, in, h, w) -> (h, w, in, out)."""
    W = np.ascontiguousarray(spec.W.transpose(2, 3, 1, 0))
    b = spec.b.reshape(1, -1) if layout == "2015" else spec.b.reshape(-1, 1)
    layer = {"name": spec.name, "type": "conv"}
    if old_fields:  # before vl_simplenn_tidy: separate filters/biases fields
        layer.update(filters=W, biases=b)
    else:
        layer["weights"] = [W, b]
    layer.update(size=_row(*W.shape), pad=_row(*spec.pad), stride=_row(*spec.stride))
    if layout == "current":
        layer.update(precious=np.array([[False]]), dilate=_row(1.0), opts=[])
    return layer


def simple_layer(spec, layout):
    """relu / pool LayerSpec -> MatConvNet struct."""
    layer = {"name": spec.name, "type": spec.type}
    if spec.type == "pool":
        layer.update(method=spec.method, pool=_row(*spec.size),
                     stride=_row(*spec.stride), pad=_row(*spec.pad))
    if layout == "current":
        if spec.type == "relu":
            layer["leak"] = _row(0.0)
        layer["precious"] = np.array([[False]])
        if spec.type == "pool":
            layer["opts"] = []
    return layer


def average_image(model, size=None, seed=7):
    """(H, W, 3) single whose per-channel mean is exactly the model's RGB mean."""
    rows, cols = size or model.image_shape
    noise = np.random.RandomState(seed).randn(rows, cols, 3) * 20
    noise -= noise.mean(axis=(0, 1))
    return (model.mean_rgb() + noise).astype(np.float32)


def matconvnet_tree(model, layout="2015", old_fields=False, mean_shape=(1, 1, 3),
                    softmax=True):
    """Top-level variables of a SimpleNN file holding ``model``.

    The 2015 layout keeps an average *image*; the current one keeps the mean
    as 3 values of shape ``mean_shape`` ((1, 1, 3) or (3, 1) in real files).
    """
    layers = [conv_layer(s, layout, old_fields) if s.type == "conv"
              else simple_layer(s, layout) for s in model.layers]
    if softmax:
        layers.append({"name": "prob", "type": "softmax"})
        if layout == "current":
            layers[-1]["precious"] = np.array([[False]])
    classes = {"name": list(model.wnids), "description": list(model.descriptions)}
    rows, cols = model.image_shape
    normalization = {"imageSize": _row(rows, cols, 3),
                     "interpolation": "bilinear",
                     "keepAspect": np.array([[True]]),
                     "border": _row(32, 32)}
    if layout == "2015":
        normalization["averageImage"] = average_image(model)
        return {"layers": layers, "classes": classes, "normalization": normalization}
    normalization["averageImage"] = model.mean_rgb().astype(np.float32).reshape(mean_shape)
    normalization["cropSize"] = _row(0.875)
    return {"layers": layers, "meta": {"normalization": normalization,
                                       "classes": classes}}


# ---------------------------------------------------------------- v5

def _to_scipy(value):
    """Plain tree -> what ``scipy.io.savemat`` writes as the same MATLAB types."""
    if isinstance(value, StructArray):
        # savemat writes a record array as a struct array (an object array
        # of dicts would become a cell of structs)
        names = list(value[0])
        record = np.empty((1, len(value)), dtype=[(n, object) for n in names])
        for i, item in enumerate(value):
            for n in names:
                record[0, i][n] = _to_scipy(item[n])
        return record
    if isinstance(value, dict):
        return {k: _to_scipy(v) for k, v in value.items()}
    if isinstance(value, list):
        cell = np.empty((1 if value else 0, len(value)), dtype=object)
        for i, item in enumerate(value):
            cell[0, i] = _to_scipy(item)
        return cell
    return value


def write_v5(path, tree):
    """A MAT v5 file (compressed, as MATLAB's default -v7 writes)."""
    scipy.io.savemat(path, {k: _to_scipy(v) for k, v in tree.items()},
                     do_compression=True, oned_as="row")


# ---------------------------------------------------------------- v7.3

MATLAB_CLASSES = {np.dtype(np.float64): "double", np.dtype(np.float32): "single",
                  np.dtype(np.uint8): "uint8", np.dtype(np.int32): "int32",
                  np.dtype(np.uint16): "uint16", np.dtype(np.int64): "int64"}


def v73_header(when=0):
    """MATLAB's 128-byte text header at the start of the 512-byte userblock."""
    text = ("MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: %s HDF5 schema 1.00 ."
            % time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(when)))
    return text.encode("ascii").ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"


class _V73Writer:
    """MATLAB's v7.3 encoding: arrays stored with reversed axes, a MATLAB_class
    attribute on everything, cells as references into ``#refs#``."""

    def __init__(self, f):
        self.f = f
        self.refs = f.create_group("#refs#")
        self.count = 0

    def _ref_name(self):
        n, name = self.count, ""
        self.count += 1
        while True:  # a, b, ..., z, ba, bb, ... like MATLAB
            name = chr(ord("a") + n % 26) + name
            n //= 26
            if not n:
                return name

    def write(self, parent, name, value):
        if isinstance(value, StructArray):
            return self._struct_array(parent, name, value)
        if isinstance(value, dict):
            return self._struct(parent, name, value)
        if isinstance(value, list):
            return self._cell(parent, name, value)
        if isinstance(value, str):
            return self._char(parent, name, value)
        return self._numeric(parent, name, np.asarray(value))

    def _tag(self, node, cls, **extra):
        node.attrs.create("MATLAB_class", np.bytes_(cls))
        for key, v in extra.items():
            node.attrs.create(key, v)
        return node

    def _empty(self, parent, name, cls):
        node = parent.create_dataset(name, data=np.zeros(2, np.uint64))
        return self._tag(node, cls, MATLAB_empty=np.uint8(1))

    def _fields(self, group, names):
        dt = h5py.vlen_dtype(np.dtype("S1"))
        data = np.empty(len(names), dtype=object)
        for i, n in enumerate(names):
            data[i] = np.array(list(n), dtype="S1")
        group.attrs.create("MATLAB_fields", data, dtype=dt)

    def _struct(self, parent, name, value):
        group = self._tag(parent.create_group(name), "struct")
        self._fields(group, list(value))
        for key, v in value.items():
            self.write(group, key, v)
        return group

    def _struct_array(self, parent, name, items):
        group = self._tag(parent.create_group(name), "struct")
        names = list(items[0])
        self._fields(group, names)
        for key in names:  # one reference per element, no MATLAB_class of its own
            refs = [self._referenced(item[key]) for item in items]
            group.create_dataset(key, data=np.array(refs, dtype=h5py.ref_dtype)
                                 .reshape(len(items), 1))
        return group

    def _referenced(self, value):
        return self.write(self.refs, self._ref_name(), value).ref

    def _cell(self, parent, name, items):
        if not items:
            return self._empty(parent, name, "cell")
        refs = [self._referenced(item) for item in items]
        # a 1xN cell is stored as N x 1: MATLAB's axes reversed
        node = parent.create_dataset(name, data=np.array(refs, dtype=h5py.ref_dtype)
                                     .reshape(len(items), 1))
        return self._tag(node, "cell")

    def _char(self, parent, name, text):
        if not text:
            return self._empty(parent, name, "char")
        codes = np.array([ord(c) for c in text], np.uint16).reshape(len(text), 1)
        return self._tag(parent.create_dataset(name, data=codes), "char",
                         MATLAB_int_decode=np.int32(2))

    def _numeric(self, parent, name, array):
        if array.ndim < 2:
            array = array.reshape(1, -1)
        if array.dtype == bool:
            node = parent.create_dataset(name, data=np.ascontiguousarray(
                array.T.astype(np.uint8)))
            return self._tag(node, "logical", MATLAB_int_decode=np.int32(1))
        node = parent.create_dataset(name, data=np.ascontiguousarray(array.T))
        return self._tag(node, MATLAB_CLASSES[array.dtype])


def write_v73(path, tree):
    """A MAT v7.3 file: HDF5 after a 512-byte userblock holding MATLAB's header."""
    with h5py.File(path, "w", userblock_size=512) as f:
        writer = _V73Writer(f)
        for name, value in tree.items():
            writer.write(f, name, value)
    with open(path, "r+b") as f:
        f.write(v73_header())


def write_mat(path, model, layout="2015", version="v5", **options):
    """``model`` as a MatConvNet file at ``path``; returns the tree written."""
    tree = matconvnet_tree(model, layout, **options)
    (write_v5 if version == "v5" else write_v73)(str(path), tree)
    return tree

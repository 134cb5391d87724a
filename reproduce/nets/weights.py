"""Our HDF5 weights format: one file per model, written once by a converter.

Layout (format ``reproduce-weights``, version 2)::

    /                       attrs: format, version, model_name, source_file,
                                   source_sha256
    /normalization          attrs: channel_order ("RGB" | "BGR"),
                                   mean (3,) in that channel order, 0..255,
                                   scale (float: multiply after subtracting),
                                   image_size (H, W) the net was trained at
                                   (Model.image_shape)
        average_image       (H, W, 3) float32, optional (MatConvNet keeps one)
    /classes                (absent for feature-only models)
        wnids               (K,) utf-8 strings, WordNet ids
        descriptions        (K,) utf-8 strings, "tench, Tinca tinca" form
    /layers                 attrs: order = the layer names, input first
        <key>               attrs: type and the layer's settings, see LayerSpec;
                            key = the name with "%" -> "%25" and "/" -> "%2F"
                            (Caffe names such as ``inception_4c/output``;
                            version 1 files used the name itself)
            W               (out, in / groups, kh, kw) float32, a CORRELATION
                            filter (MatConvNet/Caffe/Keras convention: no flip)
            b               (out,) float32

Layer types: ``conv`` (pad = 4 ints top, bottom, left, right, or "same" for
TensorFlow's SAME; stride (2,); groups), ``relu``, ``relu6``, ``pool``
(method "max" | "avg", size (2,), stride (2,), pad 4 ints, rounding "floor" |
"ceil"), ``add`` (inputs: names of two earlier layers), ``lrn`` (local_size,
alpha, beta, k: Caffe's local response normalisation across channels) and
``concat`` (inputs: names of earlier layers, joined along the channels).
Each layer reads the previous one unless its ``input`` attr names another
(``"input"`` is the image), so a file holds a chain or, with
``input``/``inputs``, a DAG (GoogLeNet).

Version 2 added ``lrn``, ``concat``, the pool's ``rounding`` (absent in
version 1 files: "floor") and the escaped group keys; version 1 files load
unchanged.
"""
import dataclasses
import hashlib
import os
from typing import List, Optional, Tuple

import h5py
import numpy as np

from ..errors import UserError
from ..fileio import atomic_path, open_ours, text as _text

FORMAT = "reproduce-weights"
VERSION = 2
LAYER_TYPES = ("conv", "relu", "relu6", "pool", "add", "lrn", "concat")
# the make target that writes each downloaded model's file (paths.py)
MAKE_TARGETS = {"vgg16.h5": "make weights", "vgg19.h5": "make weights19",
                "bvlc_googlenet.h5": "make weights-googlenet",
                "places205_googlenet.h5": "make weights-places"}


def is_depthwise(filter_shape, groups):
    """One filter per input channel: shape (channels, 1, kh, kw), groups == channels."""
    return groups > 1 and filter_shape[0] == groups and filter_shape[1] == 1


@dataclasses.dataclass
class LayerSpec:
    """One layer of the list.  Arrays are float32; W is (out, in/groups, kh, kw)."""
    name: str
    type: str
    W: Optional[np.ndarray] = None
    b: Optional[np.ndarray] = None
    pad: object = (0, 0, 0, 0)         # (top, bottom, left, right) or "same"
    stride: Tuple[int, int] = (1, 1)
    groups: int = 1
    size: Tuple[int, int] = (2, 2)      # pool window
    method: str = "max"                 # pool
    rounding: str = "floor"             # pool: output size floor or ceil (Caffe)
    local_size: int = 5                 # lrn: channels in the window
    alpha: float = 1.0                  # lrn: scale = k + alpha/local_size * sum x^2
    beta: float = 0.75                  # lrn: y = x / scale^beta
    k: float = 1.0                      # lrn
    input: Optional[str] = None         # default: the previous layer
    inputs: Tuple[str, ...] = ()        # add, concat

    @property
    def depthwise(self):
        return self.type == "conv" and is_depthwise(self.W.shape, self.groups)

    def check(self, where):
        """Raise UserError if the layer is inconsistent; ``where`` names the file."""
        if self.type not in LAYER_TYPES:
            raise UserError("%s: layer %r has type %r, which we do not support "
                            "(supported: %s)" % (where, self.name, self.type,
                                                 ", ".join(LAYER_TYPES)))
        if self.type == "conv":
            if self.W is None or self.W.ndim != 4:
                raise UserError("%s: layer %r: filters must be 4-D, got shape %s"
                                % (where, self.name, None if self.W is None
                                   else self.W.shape))
            if self.b is not None and self.b.shape != (self.W.shape[0],):
                raise UserError(
                    "%s: layer %r has inconsistent shapes: %d filters but %d biases"
                    % (where, self.name, self.W.shape[0], self.b.size))
        if self.type == "add" and len(self.inputs) != 2:
            raise UserError("%s: layer %r: an add layer needs two inputs"
                            % (where, self.name))
        if self.type == "concat" and not self.inputs:
            raise UserError("%s: layer %r: a concat layer needs inputs"
                            % (where, self.name))
        if self.type == "pool" and self.rounding not in ("floor", "ceil"):
            raise UserError("%s: layer %r: pool rounding must be floor or ceil, not %r"
                            % (where, self.name, self.rounding))
        if self.type == "lrn" and self.local_size % 2 != 1:
            raise UserError("%s: layer %r: LRN local_size must be odd, not %d"
                            % (where, self.name, self.local_size))


@dataclasses.dataclass
class Model:
    """A whole converted model: the layer list plus what surrounds it."""
    layers: List[LayerSpec]
    model_name: str = "model"
    channel_order: str = "RGB"
    mean: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(3, np.float32))
    scale: float = 1.0
    image_shape: Tuple[int, int] = (224, 224)  # (rows, cols) it was trained at
    average_image: Optional[np.ndarray] = None
    wnids: Optional[List[str]] = None
    descriptions: Optional[List[str]] = None
    source_file: str = ""
    source_sha256: str = ""

    def layer(self, name) -> LayerSpec:
        for spec in self.layers:
            if spec.name == name:
                return spec
        raise UserError("no layer %r; valid names: %s"
                        % (name, ", ".join(self.layer_names())))

    def layer_names(self, type=None) -> List[str]:
        return [s.name for s in self.layers if type is None or s.type == type]

    @property
    def has_classes(self):
        return self.descriptions is not None

    def require_classes(self, what="class pictures", where=None):
        """UserError unless this is a classifier: ``what`` needs its class logits.
        ``where`` names the model in the message (default: its model name)."""
        if not self.has_classes:
            raise UserError("%s has no classes (a feature extractor); for %s, give a "
                            "classifier such as weights/vgg16.h5 or "
                            "weights/efficientnet_lite0.h5" % (where or self.model_name, what))

    def mean_rgb(self):
        """The per-channel mean in RGB order, 0..255."""
        m = np.asarray(self.mean, np.float32)
        return m[::-1] if self.channel_order == "BGR" else m

    def check(self, where):
        names = {"input"}  # the net's input, which a layer may read by name
        for spec in self.layers:
            spec.check(where)
            if spec.name in names:
                raise UserError("%s: layer name %r appears twice%s" % (
                    where, spec.name, " (it is the input's)" if spec.name == "input" else ""))
            for ref in ((spec.input,) if spec.input else ()) + tuple(spec.inputs):
                if ref not in names:
                    raise UserError("%s: layer %r reads %r, which does not come "
                                    "before it" % (where, spec.name, ref))
            names.add(spec.name)
        if not self.layers:
            raise UserError("%s: the model has no layers" % where)


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _strings(values):
    return np.array([v.encode("utf-8") for v in values], dtype=h5py.string_dtype())


def group_key(name):
    """The HDF5 group of layer ``name``: "/" would nest groups, so it is escaped."""
    return name.replace("%", "%25").replace("/", "%2F")


def save_model(model: Model, path):
    """Write ``model`` to ``path`` atomically: a failure leaves nothing behind."""
    model.check(path)
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(format=FORMAT, version=VERSION, model_name=model.model_name,
                           source_file=model.source_file,
                           source_sha256=model.source_sha256)
            norm = f.create_group("normalization")
            norm.attrs.update(channel_order=model.channel_order,
                              mean=np.asarray(model.mean, np.float32),
                              scale=float(model.scale),
                              image_size=np.asarray(model.image_shape, np.int64))
            if model.average_image is not None:
                norm["average_image"] = np.asarray(model.average_image, np.float32)
            if model.descriptions is not None:
                cls = f.create_group("classes")
                cls["descriptions"] = _strings(model.descriptions)
                cls["wnids"] = _strings(model.wnids or [""] * len(model.descriptions))
            layers = f.create_group("layers")
            layers.attrs["order"] = _strings([s.name for s in model.layers])
            for spec in model.layers:
                g = layers.create_group(group_key(spec.name))
                g.attrs["type"] = spec.type
                if spec.type == "conv":
                    g["W"] = np.asarray(spec.W, np.float32)
                    g["b"] = np.asarray(spec.b if spec.b is not None
                                        else np.zeros(spec.W.shape[0]), np.float32)
                    g.attrs.update(stride=spec.stride, groups=spec.groups,
                                   pad=spec.pad if isinstance(spec.pad, str)
                                   else np.asarray(spec.pad, np.int64))
                elif spec.type == "pool":
                    g.attrs.update(method=spec.method, size=spec.size,
                                   stride=spec.stride, rounding=spec.rounding,
                                   pad=np.asarray(spec.pad, np.int64))
                elif spec.type == "lrn":
                    g.attrs.update(local_size=spec.local_size, alpha=spec.alpha,
                                   beta=spec.beta, k=spec.k)
                if spec.type in ("add", "concat"):
                    g.attrs["inputs"] = _strings(spec.inputs)
                if spec.input:
                    g.attrs["input"] = spec.input



def _tuple(value):
    return tuple(int(v) for v in np.atleast_1d(value))


def load_model(path) -> Model:
    """Read one of our HDF5 files; anything else gets a one-line UserError."""
    path = os.fspath(path)
    target = MAKE_TARGETS.get(os.path.basename(path), "make weights")
    with open_ours(path, FORMAT, VERSION, "weights file", "a reproduce weights file",
                   "run `%s` or convert a model with "
                   "`python -m reproduce convert-weights`" % target, needs=("layers",)) as f:
        version = int(f.attrs.get("version", 0))
        layers = []
        for name in (_text(n) for n in f["layers"].attrs["order"]):
            g = f["layers"][group_key(name) if version >= 2 else name]
            a = g.attrs
            spec = LayerSpec(name=name, type=_text(a["type"]))
            if "input" in a:
                spec.input = _text(a["input"])
            if spec.type == "conv":
                spec.W, spec.b = g["W"][...], g["b"][...]
                pad = a["pad"]
                spec.pad = _text(pad) if isinstance(pad, (str, bytes)) else _tuple(pad)
                spec.stride, spec.groups = _tuple(a["stride"]), int(a["groups"])
            elif spec.type == "pool":
                spec.method, spec.size = _text(a["method"]), _tuple(a["size"])
                spec.stride, spec.pad = _tuple(a["stride"]), _tuple(a["pad"])
                spec.rounding = _text(a.get("rounding", "floor"))
            elif spec.type == "lrn":
                spec.local_size, spec.k = int(a["local_size"]), float(a["k"])
                spec.alpha, spec.beta = float(a["alpha"]), float(a["beta"])
            if spec.type in ("add", "concat"):
                spec.inputs = tuple(_text(n) for n in a["inputs"])
            layers.append(spec)
        norm = f["normalization"]
        model = Model(
            layers=layers, model_name=_text(f.attrs.get("model_name", "model")),
            channel_order=_text(norm.attrs["channel_order"]),
            mean=np.asarray(norm.attrs["mean"], np.float32),
            scale=float(norm.attrs["scale"]),
            image_shape=_tuple(norm.attrs["image_size"]),
            average_image=norm["average_image"][...] if "average_image" in norm else None,
            source_file=_text(f.attrs.get("source_file", "")),
            source_sha256=_text(f.attrs.get("source_sha256", "")))
        if "classes" in f:
            model.descriptions = [_text(s) for s in f["classes/descriptions"][...]]
            model.wnids = [_text(s) for s in f["classes/wnids"][...]]
    model.check(path)
    return model


def dense_to_conv(W_dense, input_shape, order="chw"):
    """Turn a dense layer's matrix into the equivalent correlation filter.

    ``W_dense`` is (n_in, n_out) as Keras stores it or (n_out, n_in) as Caffe
    does (we take whichever axis matches ``prod(input_shape)``).
    ``input_shape`` = (C, H, W) of the feature map the dense layer flattened;
    ``order`` says how it was flattened: "chw" (Caffe, Theano) or "hwc"
    (Keras/TensorFlow channels-last).  Returns (n_out, C, H, W): a valid
    HxW correlation, so fc6's 25088x4096 matrix becomes a 7x7 convolution.
    """
    c, h, w = input_shape
    n_in = c * h * w
    W_dense = np.asarray(W_dense)
    if W_dense.shape[0] == n_in:
        W_dense = W_dense.T
    elif W_dense.shape[1] != n_in:
        raise UserError("dense matrix of shape %s does not match an input of %s"
                        % (W_dense.shape, (c, h, w)))
    n_out = W_dense.shape[0]
    if order == "chw":
        return W_dense.reshape(n_out, c, h, w).astype(np.float32)
    if order == "hwc":
        return W_dense.reshape(n_out, h, w, c).transpose(0, 3, 1, 2).astype(np.float32)
    raise ValueError("order must be 'chw' or 'hwc'")

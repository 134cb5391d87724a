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
"ceil", ties "argmax" | "every": where a max-pool's gradient goes on ties,
see reproduce.ops.maxpool), ``add`` (inputs: names of two earlier layers), ``lrn`` (local_size,
alpha, beta, k: Caffe's local response normalisation across channels) and
``concat`` (inputs: names of earlier layers, joined along the channels).
Each layer reads the previous one unless its ``input`` attr names another
(``"input"`` is the image), so a file holds a chain or, with
``input``/``inputs``, a DAG (GoogLeNet).

Version 2 added ``lrn``, ``concat``, the pool's ``rounding`` (absent in
version 1 files: "floor") and the escaped group keys; version 1 files load
unchanged.  The pool's ``ties`` came later within version 2: where it is
absent, a "ceil" pool, which only the Caffe converter wrote, gets Caffe's
"argmax" and any other "every".
"""
import dataclasses
import hashlib
import os
from typing import List, Optional, Tuple

import h5py
import numpy as np

from .. import h5read, paths
from ..errors import UserError, unknown
from ..fileio import atomic_path, text as _text

FORMAT = "reproduce-weights"
VERSION = 2


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
    ties: str = "every"                 # max-pool gradient on ties: "argmax" (Caffe) | "every"
    local_size: int = 5                 # lrn: channels in the window
    alpha: float = 1.0                  # lrn: scale = k + alpha/local_size * sum x^2
    beta: float = 0.75                  # lrn: y = x / scale^beta
    k: float = 1.0                      # lrn
    input: Optional[str] = None         # default: the previous layer
    inputs: Tuple[str, ...] = ()        # add, concat

    @property
    def depthwise(self):
        return self.type == "conv" and is_depthwise(self.W.shape, self.groups)

    def check(self, where, channels=None):
        """Raise UserError if the layer is inconsistent; ``where`` names the file.

        ``channels``: the channel counts of the layer's inputs, when known.
        Returns the layer's output channels (None when unknown).
        """
        kind = LAYER_KINDS.get(self.type)
        if kind is None:
            raise UserError("%s: layer %r has type %r, which we do not support "
                            "(supported: %s)" % (where, self.name, self.type,
                                                 ", ".join(LAYER_KINDS)))
        try:
            return kind.check(self, channels)
        except ValueError as exc:
            raise UserError("%s: layer %r: %s" % (where, self.name, exc))


# Limits no real model comes near; past them a file is damaged or crafted,
# and reading on would allocate without end or fail deep inside Theano.
MAX_KERNEL = 512          # conv/pool window per axis (fc6 of VGG-16 is 7)
MAX_STRIDE = 512
MAX_CHANNELS = 1 << 16
MAX_IMAGE_SIDE = 16384
MAX_LAYERS = 10000


def _pairs(values, what, low, high):
    values = tuple(values)
    if len(values) != 2 or not all(low <= int(v) <= high for v in values):
        raise ValueError("%s must be two integers in %d..%d, got %s"
                         % (what, low, high, values))


def _pad4(pad, what, limits):
    """4 paddings (top, bottom, left, right), each in 0..limit of its axis."""
    pad = tuple(pad)
    if len(pad) != 4:
        raise ValueError("%s must be 4 integers (top, bottom, left, right), got %s"
                         % (what, pad))
    for value, limit in zip(pad, (limits[0], limits[0], limits[1], limits[1])):
        if not 0 <= int(value) <= limit:
            raise ValueError("%s %s out of range: each must be in 0..%d (the window)"
                             % (what, pad, limit))


def _check_conv(spec, channels):
    W, b = spec.W, spec.b
    if W is None or np.ndim(W) != 4:
        raise ValueError("filters must be 4-D, got shape %s"
                         % (None if W is None else np.shape(W),))
    out, per_group, kh, kw = W.shape
    if min(W.shape) < 1 or max(kh, kw) > MAX_KERNEL or out > MAX_CHANNELS:
        raise ValueError("filter shape %s is out of range" % (W.shape,))
    if b is not None and np.shape(b) != (out,):
        raise ValueError("inconsistent shapes: %d filters but %d biases"
                         % (out, np.size(b)))
    _pairs(spec.stride, "stride", 1, MAX_STRIDE)
    if not isinstance(spec.pad, str):
        _pad4(spec.pad, "pad", (kh, kw))
    elif spec.pad != "same":
        raise ValueError("pad %r: expected 4 integers or \"same\"" % spec.pad)
    groups = int(spec.groups)
    if groups < 1 or out % groups:
        raise ValueError("groups=%d must be >= 1 and divide the %d filters"
                         % (groups, out))
    if channels and channels[0] is not None and channels[0] != per_group * groups:
        raise ValueError("inconsistent shapes: filters for %d input channels "
                         "(%d per group x %d groups) but the input has %d"
                         % (per_group * groups, per_group, groups, channels[0]))
    for name, array in (("W", W), ("b", b)):
        if array is not None and not np.all(np.isfinite(array)):
            raise ValueError("%s holds NaN or infinite values" % name)
    return out


def _check_pool(spec, channels):
    if spec.method not in POOL_METHODS:
        raise ValueError("pool method %r; expected one of %s"
                         % (spec.method, ", ".join(POOL_METHODS)))
    _pairs(spec.size, "pool size", 1, MAX_KERNEL)
    _pairs(spec.stride, "stride", 1, MAX_STRIDE)
    # Theano's pooling needs each pad smaller than the window
    _pad4(spec.pad, "pad", tuple(int(s) - 1 for s in spec.size))
    if spec.pad[0] != spec.pad[1] or spec.pad[2] != spec.pad[3]:
        raise ValueError("asymmetric pool padding %s is not supported" % (tuple(spec.pad),))
    if spec.rounding not in ("floor", "ceil"):
        raise ValueError("pool rounding must be floor or ceil, not %r" % (spec.rounding,))
    if spec.ties not in POOL_TIES:
        raise ValueError("pool ties must be one of %s, not %r"
                         % (", ".join(POOL_TIES), spec.ties))
    return channels[0] if channels else None


def _check_lrn(spec, channels):
    if not (isinstance(spec.local_size, int) and 1 <= spec.local_size <= 1023
            and spec.local_size % 2 == 1):
        raise ValueError("LRN local_size must be odd, 1..1023, not %r" % (spec.local_size,))
    for name in ("alpha", "beta", "k"):
        if not np.isfinite(getattr(spec, name)):
            raise ValueError("LRN %s must be finite, not %r" % (name, getattr(spec, name)))
    return channels[0] if channels else None


def _check_concat(spec, channels):
    if not spec.inputs:
        raise ValueError("a concat layer needs inputs")
    return None if not channels or None in channels else sum(channels)


def _check_add(spec, channels):
    if len(spec.inputs) != 2:
        raise ValueError("an add layer needs two inputs, got %d" % len(spec.inputs))
    if channels and None not in channels and channels[0] != channels[1]:
        raise ValueError("adds %s (%d channels) to %s (%d channels)"
                         % (spec.inputs[0], channels[0], spec.inputs[1], channels[1]))
    return channels[0] if channels else None


def _same_channels(spec, channels):
    return channels[0] if channels else None


@dataclasses.dataclass(frozen=True)
class LayerKind:
    """How a layer type is stored and checked; a new type adds a row to LAYER_KINDS.

    ``attrs``: HDF5 attribute -> (LayerSpec field, schema for h5read.read_attr);
    ``arrays``: (dataset = LayerSpec field, axes); ``check(spec, channels)``
    raises ValueError naming the problem and returns the output channels.
    """
    check: object
    attrs: dict = dataclasses.field(default_factory=dict)
    arrays: tuple = ()


POOL_METHODS = ("max", "avg")
POOL_TIES = ("argmax", "every")   # max-pool gradient on ties: Caffe's rule, Theano's (ops.maxpool)
TIE_CHOICES = ("model",) + POOL_TIES  # a run's choice (nets.build.build_net's pool_ties)
LAYER_KINDS = {
    "conv": LayerKind(_check_conv, {"pad": ("pad", "int[4]|str"), "stride": ("stride", "int[2]"),
                                    "groups": ("groups", "int")}, (("W", 4), ("b", 1))),
    "relu": LayerKind(_same_channels),
    "relu6": LayerKind(_same_channels),
    "pool": LayerKind(_check_pool, {"method": ("method", "str"), "size": ("size", "int[2]"),
                                    "stride": ("stride", "int[2]"), "pad": ("pad", "int[4]"),
                                    "rounding": ("rounding", "str"),
                                    "ties": ("ties", "str")}),
    "add": LayerKind(_check_add, {"inputs": ("inputs", "str[]")}),
    "lrn": LayerKind(_check_lrn, {"local_size": ("local_size", "int"), "alpha": ("alpha", "float"),
                                  "beta": ("beta", "float"), "k": ("k", "float")}),
    "concat": LayerKind(_check_concat, {"inputs": ("inputs", "str[]")}),
}
# attributes a version 1 file may lack, and their value there
OPTIONAL_ATTRS = {("pool", "rounding"): "floor", ("pool", "ties"): None}
LAYER_TYPES = tuple(LAYER_KINDS)


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
        raise unknown("layer", name, self.layer_names())

    def layer_names(self, type=None) -> List[str]:
        return [s.name for s in self.layers if type is None or s.type == type]

    @property
    def has_classes(self):
        return self.descriptions is not None

    def description(self, index):
        """The description of logit ``index``.  A net may have more logits
        than names (Google's Inception: 1008 logits, 1000 names; ``check``
        allows it), so a logit past the names gets a placeholder rather
        than an IndexError."""
        names = self.descriptions or []
        return names[index] if 0 <= index < len(names) else "(logit %d: no class name)" % index

    def require_classes(self, what="class pictures", where=None):
        """UserError unless this is a classifier: ``what`` needs its class logits.
        ``where`` names the model in the message (default: its model name)."""
        if not self.has_classes:
            raise UserError("%s has no class names; for %s, give a classifier such as "
                            "weights/vgg16.h5, or name this net's outputs: convert it "
                            "again with `python -m reproduce convert-weights ... --labels "
                            "FILE` (one class name a line)" % (where or self.model_name, what))

    def mean_rgb(self):
        """The per-channel mean in RGB order, 0..255."""
        m = np.asarray(self.mean, np.float32)
        return m[::-1] if self.channel_order == "BGR" else m

    def check(self, where):
        """Raise one UserError naming ``where``, the layer and the problem, for
        anything that would fail later (in the graph, the compile, a run)."""
        if not self.layers:
            raise UserError("%s: the model has no layers" % where)
        if len(self.layers) > MAX_LAYERS:
            raise UserError("%s: %d layers; at most %d" % (where, len(self.layers), MAX_LAYERS))
        if self.channel_order not in CHANNEL_ORDERS:
            raise UserError("%s: channel order %r; expected one of %s"
                            % (where, self.channel_order, ", ".join(CHANNEL_ORDERS)))
        mean = np.asarray(self.mean, np.float64)
        if mean.shape != (3,) or not np.all(np.isfinite(mean)):
            raise UserError("%s: the normalization mean must be 3 finite numbers, got %s"
                            % (where, mean.tolist()))
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise UserError("%s: the normalization scale must be a finite number > 0, "
                            "got %r" % (where, self.scale))
        if len(self.image_shape) != 2 or not all(
                1 <= int(s) <= MAX_IMAGE_SIDE for s in self.image_shape):
            raise UserError("%s: image_size %s: expected two sides in 1..%d"
                            % (where, tuple(self.image_shape), MAX_IMAGE_SIDE))
        if self.average_image is not None:
            shape = np.shape(self.average_image)
            if len(shape) != 3 or shape[2] != 3 or not np.all(np.isfinite(self.average_image)):
                raise UserError("%s: the average image must be finite (H, W, 3), got "
                                "shape %s" % (where, shape))
        channels = {"input": 3}
        previous = "input"
        for spec in self.layers:
            if spec.name in channels:  # "input" is the net's input, which a layer may read
                raise UserError("%s: layer name %r appears twice%s" % (
                    where, spec.name, " (it is the input's)" if spec.name == "input" else ""))
            refs = tuple(spec.inputs) if spec.inputs else (spec.input or previous,)
            for ref in refs:
                if ref not in channels:
                    raise UserError("%s: layer %r reads %r, which does not come "
                                    "before it" % (where, spec.name, ref))
            channels[spec.name] = spec.check(where, [channels[r] for r in refs])
            previous = spec.name
        if self.descriptions is not None:
            logits = channels[previous]
            if not self.descriptions:
                raise UserError("%s: an empty class list" % where)
            if logits is not None and len(self.descriptions) > logits:
                raise UserError("%s: %d class names but the last layer %r has %d "
                                "outputs" % (where, len(self.descriptions), previous, logits))
            if self.wnids is not None and len(self.wnids) != len(self.descriptions):
                raise UserError("%s: %d class names but %d WordNet ids"
                                % (where, len(self.descriptions), len(self.wnids)))


CHANNEL_ORDERS = ("RGB", "BGR")


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
                                   ties=spec.ties,
                                   pad=np.asarray(spec.pad, np.int64))
                elif spec.type == "lrn":
                    g.attrs.update(local_size=spec.local_size, alpha=spec.alpha,
                                   beta=spec.beta, k=spec.k)
                if spec.type in ("add", "concat"):
                    g.attrs["inputs"] = _strings(spec.inputs)
                if spec.input:
                    g.attrs["input"] = spec.input



def offline_alternative(path):
    """For a downloaded model's file: the embedded weights that need no
    download, as the end of a hint; '' for any other file."""
    name = os.path.basename(os.fspath(path))
    if name in ("vgg16.h5", "vgg19.h5"):
        return ("; without a download, class pictures run on the embedded "
                "classifier: --weights %s --recipe fourier"
                % paths.shown(paths.EMBEDDED_CLASSIFIER))
    if name in ("bvlc_googlenet.h5", "places205_googlenet.h5"):
        return ("; without a download, deepdream runs on the embedded VGG-16 conv "
                "stack: leave out --weights")
    return ""


HINT_DEFAULT = ("convert the model again with `reproduce convert-weights` "
        "(or %s)" % paths.how_to_make("embedded"))


def load_model(path) -> Model:
    """Read one of our HDF5 files, whole schema checked before any graph is
    built; anything else (missing, damaged, crafted) is a one-line UserError."""
    made_by = paths.how_to_make(path)
    hint = ("%sconvert a model with `reproduce convert-weights`"
            % ("run %s or " % made_by if made_by else "")) + offline_alternative(path)
    return h5read.load_isolated(path, lambda f, where: _read_model(f, where, hint),
                                "weights", hint)


def _read_model(f, path, hint=None) -> Model:
    """The reader :func:`load_model` runs in its child process."""
    hint = hint or HINT_DEFAULT
    h5read.check_format(f, path, FORMAT, VERSION, hint, "a reproduce weights file")
    version = h5read.read_attr(f, "version", path, "int")
    h5read.check_tree(f, path)
    for group in ("layers", "normalization"):
        if not isinstance(f.get(group), h5py.Group):
            raise UserError("%s: the group /%s is missing; %s" % (path, group, hint))
    attr = h5read.read_attr
    order = attr(f["layers"], "order", path + ": /layers", "str[]")
    if len(order) > MAX_LAYERS:
        raise UserError("%s: %d layers; at most %d" % (path, len(order), MAX_LAYERS))
    layers = []
    for name in order:
        where = "%s: layer %r" % (path, name)
        g = f["layers"].get(group_key(name) if version >= 2 else name)
        if not isinstance(g, h5py.Group):
            raise UserError("%s: listed in /layers order but missing from the file"
                            % where)
        spec = LayerSpec(name=name, type=attr(g, "type", where, "str"))
        kind = LAYER_KINDS.get(spec.type)
        if kind is None:
            spec.check(path)  # names the supported types
        spec.input = attr(g, "input", where, "str", default=None)
        for key, (field, schema) in kind.attrs.items():
            value = attr(g, key, where, schema,
                         default=OPTIONAL_ATTRS.get((spec.type, key), KeyError))
            setattr(spec, field, tuple(value) if isinstance(value, list) else value)
        if spec.type == "pool" and spec.ties is None:   # written before ties was stored
            spec.ties = "argmax" if spec.rounding == "ceil" else "every"
        for field, ndim in kind.arrays:
            setattr(spec, field, h5read.read_array(g, field, where, ndim))
        layers.append(spec)
    norm, nwhere = f["normalization"], path + ": /normalization"
    model = Model(
        layers=layers, model_name=attr(f, "model_name", path, "str", default="model"),
        channel_order=attr(norm, "channel_order", nwhere, "str"),
        mean=attr(norm, "mean", nwhere, "float[3]"),
        scale=attr(norm, "scale", nwhere, "float"),
        image_shape=attr(norm, "image_size", nwhere, "int[2]"),
        average_image=(h5read.read_array(norm, "average_image", nwhere, 3)
                       if "average_image" in norm else None),
        source_file=attr(f, "source_file", path, "str", default=""),
        source_sha256=attr(f, "source_sha256", path, "str", default=""))
    if "classes" in f:
        cwhere = path + ": /classes"
        model.descriptions = h5read.read_array(f["classes"], "descriptions", cwhere, 1, "S")
        model.wnids = h5read.read_array(f["classes"], "wnids", cwhere, 1, "S")
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

"""MatConvNet SimpleNN ``.mat`` (e.g. imagenet-vgg-verydeep-16.mat) -> our Model.

Two layouts exist, and both are read:

* up to beta16 (what the 2015 code loaded): top-level ``layers``,
  ``normalization`` and ``classes``;
* beta17 and later: ``layers`` and ``meta.normalization``, ``meta.classes``.

``layers`` is a 1xN cell of structs.  A conv layer keeps its filters in
``weights`` = {W (h, w, in, out), b}, or in ``filters``/``biases`` in files
written before ``vl_simplenn_tidy`` existed; ``pad`` is [top bottom left
right] or a scalar, ``stride`` [sy sx] or a scalar.  A pool layer has
``method`` (max | avg), ``pool`` (its window), ``stride`` and ``pad``.  The fc
layers are already stored as convolutions (fc6 of VGG is 7x7x512x4096).
MatConvNet's filters are correlations, so W is only transposed to
(out, in, h, w), never flipped.  The final softmax goes (we optimise
logits), as do dropout layers (identity at test time).

Files saved with ``-v7.3`` are HDF5; the rest (v5, v7) go through scipy.
Both readers first turn the file into plain values, so the model is built
by one piece of code:

    struct -> dict (field order kept)     struct array -> list of dicts
    cell   -> list (MATLAB's column-major order)
    char   -> str                         numeric -> ndarray in MATLAB's axis order
"""
import os

import h5py
import numpy as np
import scipy.io

from .. import paths
from ..errors import UserError
from ..nets.weights import FORMAT, LayerSpec, Model, sha256_of

DROPPED_TYPES = ("dropout",)
FINAL_TYPES = ("softmax", "softmaxloss")  # dropped, but only at the end
SUPPORTED_TYPES = ("conv", "relu", "pool") + DROPPED_TYPES + FINAL_TYPES
REDOWNLOAD = "download it again (%s)" % paths.how_to_make("vgg16")


# ---------------------------------------------------------------- reading

def read_mat(path):
    """Top-level variables of a .mat file as plain values (see module doc).

    Anything that is not a readable MAT file raises one-line UserError.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError("%s: no such file; check the path, or fetch the model with "
                        "%s" % (path, paths.how_to_make("vgg16")))
    if h5py.is_hdf5(path):
        from .. import h5read
        return h5read.load_isolated(path, _read_v73, "MATLAB v7.3", REDOWNLOAD)
    try:
        raw = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=False,
                               chars_as_strings=True)
    except Exception as exc:  # scipy raises many types for a bad or cut file
        raise UserError("%s: cannot read it as a MATLAB .mat file (%s); it may be "
                        "truncated or not a .mat file: %s"
                        % (path, _one_line(exc), REDOWNLOAD))
    try:
        return {k: _plain_v5(v) for k, v in raw.items() if not k.startswith("__")}
    except _TooDeep as exc:
        raise UserError("%s: %s; not a MatConvNet model" % (path, exc))


def _one_line(exc):
    text = " ".join(str(exc).split()) or "no detail"
    return "%s: %s" % (exc.__class__.__name__, text[:200])


# A SimpleNN model nests 4 deep (net.layers{i}.weights{j}); a deeper cell or
# struct is not a model, and recursing through 900 levels ends in a
# RecursionError (a v7.3 cell may even hold a reference to itself).
MAX_NESTING = 32


class _TooDeep(ValueError):
    def __init__(self):
        super().__init__("cells or structs nested more than %d deep" % MAX_NESTING)


def _plain_v5(value, depth=0):
    """scipy.io.loadmat's value (struct_as_record=False, no squeezing) -> plain."""
    if depth > MAX_NESTING:
        raise _TooDeep()
    if isinstance(value, scipy.io.matlab.mat_struct):
        return {name: _plain_v5(getattr(value, name), depth + 1)
                for name in value._fieldnames}
    if not isinstance(value, np.ndarray):
        return value
    if value.dtype.kind == "U":  # chars_as_strings: one str per row
        rows = [str(s) for s in value.ravel()]
        return "" if not rows else rows[0] if len(rows) == 1 else rows
    if value.dtype == object:
        items = [_plain_v5(v, depth + 1) for v in value.ravel(order="F")]
        # a struct array holds mat_struct elements; a cell holds arrays
        if value.size == 1 and isinstance(value.ravel()[0], scipy.io.matlab.mat_struct):
            return items[0]
        return items
    return value


def _read_v73(f, path):
    """A -v7.3 (HDF5) MAT file -> plain values (run by h5read in a child process)."""
    from .. import h5read
    if f.attrs.get("format") is not None and _attr_text(f.attrs["format"]) == FORMAT:
        raise UserError("%s: already one of our weights files; pass it "
                        "with --weights, no conversion needed" % path)
    h5read.check_tree(f, path)
    try:
        return {name: _plain_h5(f[name], f) for name in f if not name.startswith("#")}
    except _NotMatlab as exc:
        raise UserError("%s: an HDF5 file, but not one MATLAB wrote (%s); give a "
                        "MatConvNet .mat file" % (path, exc))
    except _TooDeep as exc:
        raise UserError("%s: %s; not a MatConvNet model" % (path, exc))
    except UserError:
        raise
    except Exception as exc:  # h5py: OSError for a cut file, KeyError for a bad ref
        raise UserError("%s: cannot read it as a MATLAB v7.3 (HDF5) .mat file (%s); "
                        "it may be truncated: %s" % (path, _one_line(exc), REDOWNLOAD))


class _NotMatlab(ValueError):
    """An HDF5 object without MATLAB's attributes."""


def _attr_text(value):
    if isinstance(value, np.ndarray):
        value = value.tobytes() if value.dtype.kind == "S" else value.item()
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _plain_h5(node, f, depth=0):
    """One object of a v7.3 file -> plain.  MATLAB writes arrays with their axes
    reversed (column-major), so ``.T`` restores MATLAB's order; cells and
    struct-array fields are arrays of references into ``#refs#``."""
    if depth > MAX_NESTING:
        raise _TooDeep()
    if "MATLAB_class" not in node.attrs:
        raise _NotMatlab("%s has no MATLAB_class attribute" % node.name)
    cls = _attr_text(node.attrs["MATLAB_class"])
    if isinstance(node, h5py.Group):
        if cls != "struct":
            raise ValueError("%s: MATLAB class %r is not supported" % (node.name, cls))
        return _struct_h5(node, f, depth)
    if node.attrs.get("MATLAB_empty", 0):
        return {"char": "", "cell": [], "struct": {}}.get(cls, np.zeros((0, 0)))
    from .. import h5read
    h5read.check_dataset(node, "v7.3 file")
    data = node[()]
    if cls == "char":
        rows = ["".join(map(chr, row)) for row in np.atleast_2d(data.T)]
        return rows[0] if len(rows) == 1 else rows
    if cls == "cell":
        # C order of the stored (reversed) array = MATLAB's column-major order
        return [_plain_h5(f[ref], f, depth + 1) for ref in data.ravel()]
    if cls == "logical":
        return data.T.astype(bool)
    if data.dtype.kind in "iuf":
        return data.T
    raise ValueError("%s: MATLAB class %r is not supported" % (node.name, cls))


def _struct_h5(group, f, depth):
    """A struct group.  Fields of a struct *array* are reference arrays without a
    MATLAB_class of their own: element i of each field belongs to struct i."""
    fields = [b"".join(name).decode("ascii")
              for name in group.attrs.get("MATLAB_fields", [])] or list(group)
    fields = [name for name in fields if name in group]
    nodes = {name: group[name] for name in fields}
    is_array = any(isinstance(n, h5py.Dataset) and "MATLAB_class" not in n.attrs
                   and h5py.check_ref_dtype(n.dtype) is not None
                   for n in nodes.values())
    if not is_array:
        return {name: _plain_h5(node, f, depth + 1) for name, node in nodes.items()}
    refs = {name: node[()].ravel() for name, node in nodes.items()}
    count = min(len(r) for r in refs.values())
    items = [{name: _plain_h5(f[refs[name][i]], f, depth + 1) for name in fields}
             for i in range(count)]
    return items[0] if count == 1 else items


# ---------------------------------------------------------------- building

def convert_matconvnet(path, source_name=None, model_name=None) -> Model:
    """Read a MatConvNet SimpleNN file into a checked Model (nothing is written).

    ``source_name`` is recorded as the source file (default: the file's name);
    ``model_name`` defaults to the file name without ``.mat``.
    """
    path = os.fspath(path)
    tree = read_mat(path)
    net = _simplenn(tree, path)
    meta = net.get("meta") if isinstance(net.get("meta"), dict) else net
    layers = build_layers(net["layers"], path)
    model = Model(layers=layers,
                  model_name=model_name or os.path.splitext(os.path.basename(path))[0],
                  channel_order="RGB", scale=1.0,
                  source_file=source_name or os.path.basename(path),
                  source_sha256=sha256_of(path))
    _set_normalization(model, meta.get("normalization"), path)
    _set_classes(model, meta.get("classes"), path)
    model.check(path)
    return model


def _simplenn(tree, where):
    """The dict holding ``layers``: the file itself, or a saved ``net`` variable."""
    if "layers" not in tree and isinstance(tree.get("net"), dict):
        tree = tree["net"]
    if "vars" in tree and "params" in tree:  # DagNN has a `layers` struct array too
        raise UserError("%s: a MatConvNet DagNN model; only SimpleNN models (with a "
                        "`layers` cell, e.g. imagenet-vgg-verydeep-16.mat) are "
                        "supported" % where)
    if "layers" in tree:
        if not isinstance(tree["layers"], list):
            raise UserError("%s: `layers` is not a cell array of layer structs: not "
                            "a MatConvNet SimpleNN model" % where)
        return tree
    raise UserError("%s: a MAT file without `layers` (it holds: %s): not a "
                    "MatConvNet SimpleNN model; give e.g. imagenet-vgg-verydeep-16.mat"
                    % (where, ", ".join(sorted(tree)) or "nothing"))


def build_layers(mat_layers, where):
    """MatConvNet layer structs -> our LayerSpecs, checking channels on the way.

    The input has 3 channels (RGB); every conv's W must take as many input
    channels as the layer before it gives.
    """
    specs, channels = [], 3
    for index, layer in enumerate(mat_layers, 1):
        if not isinstance(layer, dict) or "type" not in layer:
            raise UserError("%s: layer %d is not a layer struct with a `type` field"
                            % (where, index))
        kind = _text(layer["type"], "%s: layer %d" % (where, index), "type")
        name = _text(layer.get("name"), "%s: layer %d" % (where, index), "name") \
            or "%s%d" % (kind, index)
        label = "%s: layer %d (%s)" % (where, index, name)
        if kind in DROPPED_TYPES:
            continue
        if kind in FINAL_TYPES:
            if any(l.get("type") not in FINAL_TYPES + DROPPED_TYPES
                   for l in mat_layers[index:]):
                raise UserError("%s: a %s before the last layer is not supported"
                                % (label, kind))
            continue
        if kind == "conv":
            spec = _conv(layer, name, label, channels)
            channels = spec.W.shape[0]
        elif kind == "relu":
            if np.any(_numbers(layer.get("leak", 0), label, "leak")):
                raise UserError("%s: leaky ReLU is not supported" % label)
            spec = LayerSpec(name, "relu")
        elif kind == "pool":
            spec = _pool(layer, name, label)
        else:
            raise UserError("%s: type %r is not supported (supported: %s)"
                            % (label, kind, ", ".join(SUPPORTED_TYPES)))
        specs.append(spec)
    return specs


def _conv(layer, name, label, channels):
    if "weights" in layer:
        weights = layer["weights"]
        if not isinstance(weights, list) or len(weights) not in (1, 2):
            raise UserError("%s: `weights` should be a cell {W, b}" % label)
        W, b = weights[0], weights[1] if len(weights) == 2 else None
    elif "filters" in layer:
        W, b = layer["filters"], layer.get("biases")
    else:
        raise UserError("%s: a conv layer without `weights` or `filters`" % label)
    W = _numbers(W, label, "W")
    if W.ndim > 4 or W.size == 0:
        raise UserError("%s: W has shape %s; expected (h, w, in, out)"
                        % (label, W.shape))
    W = W.reshape(W.shape + (1,) * (4 - W.ndim))  # MATLAB drops trailing 1s
    if W.shape[2] != channels:
        raise UserError("%s: inconsistent shapes: W %s takes %d input channels but "
                        "the layer before gives %d; the file is damaged or not a "
                        "plain SimpleNN chain" % (label, "x".join(map(str, W.shape)),
                                                 W.shape[2], channels))
    b = _numbers(b, label, "b").ravel() if b is not None else np.zeros(0)
    if b.size == 0:  # MatConvNet allows an empty bias
        b = np.zeros(W.shape[3])
    if b.size != W.shape[3]:
        raise UserError("%s: inconsistent shapes: %d filters but %d biases; the file "
                        "is damaged: %s" % (label, W.shape[3], b.size, REDOWNLOAD))
    _check_dilation(layer, label)
    # (h, w, in, out) -> (out, in, h, w); a correlation stays a correlation
    return LayerSpec(name, "conv",
                     W=np.ascontiguousarray(W.transpose(3, 2, 0, 1), np.float32),
                     b=b.astype(np.float32),
                     pad=_pad(layer.get("pad", 0), label),
                     stride=_pair(layer.get("stride", 1), label, "stride"))


def _check_dilation(layer, label):
    if np.any(_numbers(layer.get("dilate", 1), label, "dilate") != 1):
        raise UserError("%s: dilated convolution is not supported" % label)


def _pool(layer, name, label):
    method = layer.get("method", "max")
    if method not in ("max", "avg"):
        raise UserError("%s: pool method %r is not supported (max, avg)"
                        % (label, method))
    return LayerSpec(name, "pool", method=method,
                     size=_pair(layer.get("pool"), label, "pool"),
                     stride=_pair(layer.get("stride", 1), label, "stride"),
                     pad=_pad(layer.get("pad", 0), label))


def _numbers(value, label, field):
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise UserError("%s: `%s` should be numeric, got %r"
                        % (label, field, type(value).__name__))
    return array


def _whole(value, label, field):
    """Sizes, pads and strides: finite whole numbers of at least 0 (a NaN
    pad failed in int(); stride 0 and the like are Model.check's)."""
    array = _numbers(value, label, field)
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)) or \
            np.any(array < 0):
        raise UserError("%s: %s %s should be whole numbers of at least 0; the file is "
                        "damaged: %s" % (label, field, np.ravel(array)[:4].tolist(),
                                          REDOWNLOAD))
    return array


def _text(value, label, field):
    """A char field (a layer's type or name) as str; "" when absent or empty."""
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        return ""
    if not isinstance(value, str):
        raise UserError("%s: `%s` should be text, got %s; the file is damaged: %s"
                        % (label, field, type(value).__name__, REDOWNLOAD))
    return value


def _pad(value, label):
    """MatConvNet pad: scalar or [top bottom left right] -> 4 ints."""
    p = _whole(value, label, "pad").ravel()
    if p.size not in (1, 4):
        raise UserError("%s: pad %s should be a scalar or [top bottom left right]"
                        % (label, p.tolist()))
    return tuple(int(v) for v in np.resize(p, 4))


def _pair(value, label, field):
    """Scalar or [y x] -> 2 ints."""
    if value is None:
        raise UserError("%s: missing `%s`" % (label, field))
    p = _whole(value, label, field).ravel()
    if p.size not in (1, 2):
        raise UserError("%s: %s %s should be a scalar or [y x]"
                        % (label, field, p.tolist()))
    return tuple(int(v) for v in np.resize(p, 2))


def _set_normalization(model, norm, where):
    """mean = per-channel mean of averageImage (an image or 3 values, RGB);
    image_shape from imageSize [H W 3]."""
    if not isinstance(norm, dict) or "averageImage" not in norm:
        raise UserError("%s: no normalization.averageImage: cannot tell what mean "
                        "the net was trained with; not a MatConvNet ImageNet model"
                        % where)
    average = _numbers(norm["averageImage"], where, "normalization.averageImage")
    average = average.astype(np.float32)
    if not np.all(np.isfinite(average)):
        raise UserError("%s: normalization.averageImage holds NaN or infinite values; "
                        "the file is damaged: %s" % (where, REDOWNLOAD))
    if average.size == 3:
        model.mean = average.ravel()
    elif average.ndim == 3 and average.shape[2] == 3:
        model.mean = average.mean(axis=(0, 1))
        model.average_image = average
    elif average.size == 0:  # no mean was subtracted in training
        model.mean = np.zeros(3, np.float32)
    else:
        raise UserError("%s: normalization.averageImage has shape %s; expected an "
                        "(H, W, 3) image or 3 values" % (where, average.shape))
    size = norm.get("imageSize")
    if size is None and model.average_image is not None:
        size = model.average_image.shape
    if size is not None:
        size = np.ravel(_whole(size, where, "normalization.imageSize"))[:2]
        if size.size != 2 or np.any(size < 1):
            raise UserError("%s: normalization.imageSize %s should be [H W 3]; the file "
                            "is damaged: %s" % (where, size.tolist(), REDOWNLOAD))
        model.image_shape = tuple(int(v) for v in size)


def _set_classes(model, classes, where):
    """wnids from classes.name, descriptions from classes.description; their
    count must match the last layer's filters."""
    if not isinstance(classes, dict) or not classes:
        return
    wnids = _string_list(classes.get("name"), where, "classes.name")
    descriptions = _string_list(classes.get("description"), where,
                                "classes.description") or wnids
    if not descriptions:
        raise UserError("%s: `classes` is there but names no class; the file is "
                        "damaged: %s" % (where, REDOWNLOAD))
    n_out = model.layers[-1].W.shape[0] if model.layers[-1].type == "conv" else None
    if wnids and len(wnids) != len(descriptions) or len(descriptions) != n_out:
        raise UserError("%s: inconsistent shapes: %d class names, %d descriptions, "
                        "but the last layer gives %s outputs"
                        % (where, len(wnids), len(descriptions), n_out))
    model.wnids = wnids or None
    model.descriptions = descriptions


def _string_list(value, where, field):
    """A cell of strings (or one string) -> list of str; anything else refused."""
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise UserError("%s: %s should be a cell of text; the file is damaged: %s"
                        % (where, field, REDOWNLOAD))
    return items

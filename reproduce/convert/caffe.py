"""Caffe ``deploy.prototxt`` + ``.caffemodel`` -> our :class:`Model`.

The architecture comes from the prototxt (text format), the blobs from the
caffemodel (binary), matched by layer name; both layer formats are read
(``caffe_schema``).  Shapes are propagated from the prototxt's input, so
every blob is checked against what its layer needs before anything is
written, and InnerProduct layers become convolutions over the map they
flatten (GoogLeNet's ``loss3/classifier`` over the 1x1 ``pool5/7x7_s1``;
a larger input gives a map of logits).

Names: a layer is called by the blob it leaves behind after its in-place
ops, as Caffe and DeepDream users name it: ``inception_4c/1x1`` is that
convolution *after* its in-place ReLU; the convolution itself is
``inception_4c/1x1/pre_relu``.  Dropout and Softmax are dropped (identity
at test time, and we push logits, not probabilities).

Layers supported: Input, Convolution (pad, stride, group), ReLU, Pooling
(MAX, AVE; Caffe's rounded-up output size), LRN (across channels), Concat
(channels), InnerProduct, Dropout, Softmax.  Anything else is a UserError
naming the layer and its type.
"""
import os

import numpy as np

from ..errors import UserError
from ..nets.weights import LayerSpec, Model, dense_to_conv, sha256_of
from . import caffe_schema

# google/deepdream dream.ipynb: ``mean = np.float32([104.0, 116.0, 122.0])``,
# ``channel_swap = (2, 1, 0)``: BGR on 0..255 minus this BGR mean.
DEEPDREAM_MEAN_BGR = (104.0, 116.0, 122.0)

DROPPED = ("Dropout", "Softmax")
SUPPORTED = ("Input", "Convolution", "ReLU", "Pooling", "LRN", "Concat",
             "InnerProduct") + DROPPED
# V1 enum names -> the string types of the current format
V1_NAMES = {"CONVOLUTION": "Convolution", "RELU": "ReLU", "POOLING": "Pooling",
            "LRN": "LRN", "CONCAT": "Concat", "INNER_PRODUCT": "InnerProduct",
            "DROPOUT": "Dropout", "SOFTMAX": "Softmax"}
TEST_PHASE = 1
MAX_NESTING = 32                 # of a prototxt's messages (a deploy net: 3)
CAFFEMODEL_LIMIT = (2 << 30) - 1  # protobuf's own ceiling for one message


# --------------------------------------------------------------- reading

def read_prototxt(path):
    """Parse a text-format prototxt into a NetParameter; UserError if it does not."""
    from google.protobuf import text_format
    from ..fileio import json_depth, read_text
    text = read_text(path, "prototxt")
    # a deploy net nests 3 deep (layer { convolution_param { ... } }); skipping
    # unknown fields recurses once a level, so a crafted file would end in a
    # RecursionError after the parse had taken all the time it could
    if json_depth(text) > MAX_NESTING:
        raise UserError("%s: messages nested more than %d deep; not a deploy "
                        "prototxt" % (path, MAX_NESTING))
    net = caffe_schema.net_parameter()
    try:
        # fields our schema leaves out (fillers, lr_mult, data-layer settings)
        # change nothing a deploy net computes, so they are skipped
        text_format.Parse(text, net, allow_unknown_field=True)
    except (text_format.ParseError, RecursionError) as exc:
        raise UserError("%s: not a Caffe prototxt: %s; give the deploy.prototxt "
                        "that came with the model" % (path, (str(exc).splitlines() or
                                                             [exc.__class__.__name__])[0]))
    return net


def read_caffemodel(path):
    """Parse a binary .caffemodel into a NetParameter; UserError if it does not."""
    from google.protobuf.message import DecodeError
    from ..fileio import read_bytes
    data = read_bytes(path, "caffemodel", CAFFEMODEL_LIMIT)
    net = caffe_schema.net_parameter()
    try:
        net.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError, RecursionError) as exc:
        raise UserError("%s: not a valid caffemodel (%s); the file may be truncated: "
                        "download it again" % (path, str(exc).splitlines()[0] or
                                               exc.__class__.__name__))
    if not (net.layer or net.layers):
        raise UserError("%s: the caffemodel holds no layers; is it truncated or "
                        "another kind of file?" % path)
    _check_nesting(net, path)
    return net


def _check_nesting(message, path, depth=1):
    """UserError when fields nest more than MAX_NESTING deep.  Fields our
    schema leaves out are kept by protobuf as bytes, unread, at any depth:
    a crafted file was accepted without a word.  Each unknown field that
    parses as a message is followed (a real caffemodel's, e.g. a layer's
    ``param { lr_mult: 1 }``, nest one or two deep)."""
    from google.protobuf import empty_pb2, unknown_fields
    from google.protobuf.message import DecodeError
    if depth > MAX_NESTING:
        raise UserError("%s: messages nested more than %d deep; not a caffemodel "
                        "(a real one nests 4)" % (path, MAX_NESTING))
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in (value if field.label == field.LABEL_REPEATED else [value]):
                _check_nesting(item, path, depth + 1)
    for field in unknown_fields.UnknownFieldSet(message):
        if field.wire_type == 2 and field.data:  # length-delimited: perhaps a message
            inner = empty_pb2.Empty()
            try:
                inner.ParseFromString(field.data)
            except DecodeError:
                continue  # a string or packed numbers
            _check_nesting(inner, path, depth + 1)


def layer_type(layer):
    """The string type of a LayerParameter or V1LayerParameter."""
    if isinstance(layer.type, str):
        return layer.type
    name = caffe_schema.messages()["V1LayerParameter"].LayerType.Name(layer.type)
    return V1_NAMES.get(name, name)


def all_layers(net):
    return list(net.layer) + list(net.layers)


def in_test_phase(layer):
    """Caffe's NetStateRule for the TEST phase: included unless a rule excludes it."""
    if any(r.HasField("phase") and r.phase != TEST_PHASE for r in layer.include):
        return False
    return not any(r.HasField("phase") and r.phase == TEST_PHASE for r in layer.exclude)


def blob_array(blob, where):
    """A BlobProto as a float32 array, shaped by ``shape`` or num/channels/height/width."""
    import math
    if blob.HasField("shape"):
        shape = tuple(int(d) for d in blob.shape.dim)
    else:
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = blob.data if len(blob.data) else blob.double_data
    if min(shape, default=0) < 0:
        raise UserError("%s: a blob of shape %s (negative); the caffemodel is damaged"
                        % (where, shape))
    if len(values) != math.prod(shape):  # Python's integers: a product cannot wrap
        raise UserError("%s: a blob of shape %s holds %d values; the caffemodel is "
                        "damaged or truncated" % (where, shape, len(values)))
    return np.asarray(values, np.float32).reshape(shape)


def model_blobs(net, path):
    """{layer name: [arrays]} of every layer of the caffemodel that has blobs."""
    with_blobs = [layer for layer in all_layers(net) if len(layer.blobs)]
    _refuse_duplicates([layer.name for layer in with_blobs], path)
    for layer in net.layers:  # protobuf keeps an enum number out of range aside, unset
        if not layer.HasField("type"):
            raise UserError("%s: layer %r has no type Caffe defines (a number out of "
                            "range?); the caffemodel is damaged" % (path, layer.name))
    return {layer.name: [blob_array(b, "%s: layer %r" % (path, layer.name))
                         for b in layer.blobs] for layer in with_blobs}


def _refuse_duplicates(names, path):
    """Blobs and layers are matched by name: two layers of one name are
    ambiguous (the second's values would silently replace the first's)."""
    seen = set()
    for name in names:
        if name and name in seen:
            raise UserError("%s: two layers are named %r; layer names must be unique "
                            "(blobs are matched to layers by name)" % (path, name))
        seen.add(name)


def input_shape(net, path):
    """(channels, rows, cols) of the net's input blob and its name."""
    if len(net.input):
        if len(net.input_shape):
            dims = list(net.input_shape[0].dim)
        else:
            dims = list(net.input_dim[:4])
        name = net.input[0]
    else:
        inputs = [l for l in all_layers(net) if layer_type(l) == "Input"]
        if not inputs or not inputs[0].input_param.shape:
            raise UserError("%s: no input shape (neither input_dim/input_shape nor an "
                            "Input layer); give the deploy.prototxt" % path)
        dims, name = list(inputs[0].input_param.shape[0].dim), inputs[0].top[0]
    if len(dims) != 4 or dims[1] != 3:
        raise UserError("%s: the input %r has shape %s; we read nets of 3-channel "
                        "images, (N, 3, H, W)" % (path, name, dims))
    return name, tuple(int(d) for d in dims[1:])


# --------------------------------------------------------------- layers

def _pair(repeated, h, w, default, param):
    """Caffe's kernel/pad/stride: ``field_h``/``field_w``, else one or two repeated values."""
    if param.HasField(h) or param.HasField(w):
        return int(getattr(param, h)), int(getattr(param, w))
    values = list(repeated)
    if not values:
        return default, default
    return (int(values[0]), int(values[-1]))


def conv_settings(layer, where):
    p = layer.convolution_param
    if any(d != 1 for d in p.dilation):
        raise UserError("%s: dilation %s is not supported" % (where, list(p.dilation)))
    if p.axis != 1:
        raise UserError("%s: convolution over axis %d is not supported" % (where, p.axis))
    kernel = _pair(p.kernel_size, "kernel_h", "kernel_w", None, p)
    if None in kernel:
        raise UserError("%s: no kernel_size" % where)
    stride = _pair(p.stride, "stride_h", "stride_w", 1, p)
    _at_least_one(where, kernel=kernel, stride=stride, group=(int(p.group),),
                  num_output=(int(p.num_output),))
    return dict(kernel=kernel, pad=_pair(p.pad, "pad_h", "pad_w", 0, p),
                stride=stride, groups=int(p.group), n_out=int(p.num_output),
                bias=p.bias_term)


def _at_least_one(where, **values):
    """Caffe's CHECK_GT(..., 0) on kernels, strides, groups and outputs."""
    for name, pair in values.items():
        if min(pair) < 1:
            raise UserError("%s: %s %s; it must be at least 1 (the prototxt is damaged)"
                            % (where, name, "x".join(map(str, pair))))


def pool_settings(layer, shape, where):
    p = layer.pooling_param
    method = {0: "max", 1: "avg"}.get(p.pool)
    if method is None:
        raise UserError("%s: stochastic pooling is not supported" % where)
    if p.global_pooling:  # Caffe: the whole map, no pad, stride 1
        return dict(method=method, size=shape[1:], pad=(0, 0), stride=(1, 1),
                    rounding="ceil")
    size = _pair([p.kernel_size] if p.HasField("kernel_size") else [],
                 "kernel_h", "kernel_w", None, p)
    if None in size:
        raise UserError("%s: no kernel_size" % where)
    pad = _pair([p.pad], "pad_h", "pad_w", 0, p)
    stride = _pair([p.stride], "stride_h", "stride_w", 1, p)
    _at_least_one(where, kernel_size=size, stride=stride)
    return dict(method=method, size=size, pad=pad, stride=stride,
                rounding="ceil" if p.round_mode == 0 else "floor")


def conv_out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def pool_out(n, k, s, p, rounding, any_pad):
    """pooling_layer.cpp's pooled length; ``any_pad``: the layer pads either axis."""
    from ..ops.maxpool import pooled_length
    return int(pooled_length(n, k, s, p, ceil=rounding == "ceil", any_pad=any_pad))


def expect_blob(blobs, i, shape, where, what):
    """blobs[i] reshaped to ``shape``; Caffe's legacy 4-D blobs carry leading 1s."""
    if i >= len(blobs):
        raise UserError("%s: the caffemodel has no %s for it; is it the caffemodel "
                        "of this prototxt?" % (where, what))
    blob = blobs[i]

    def core(s):
        s = tuple(s)
        while len(s) > 1 and s[0] == 1:
            s = s[1:]
        return s
    if core(blob.shape) != core(shape):
        raise UserError("%s: the caffemodel's %s has shape %s, the prototxt needs %s; "
                        "the two files do not belong together"
                        % (where, what, blob.shape, tuple(shape)))
    return blob.reshape(shape)


class Node:
    """One of our layers while the graph is read: its spec and its blob."""

    def __init__(self, spec, blob, caffe_type):
        self.spec, self.blob, self.caffe_type = spec, blob, caffe_type


def convert_layer(layer, kind, bottoms, shapes, blobs, where):
    """One Caffe layer -> (LayerSpec without name/inputs, output shape (C, H, W))."""
    c, h, w = shapes[0]
    if kind == "Convolution":
        s = conv_settings(layer, where)
        (kh, kw), (ph, pw), (sh, sw), g = s["kernel"], s["pad"], s["stride"], s["groups"]
        if c % g or s["n_out"] % g:
            raise UserError("%s: group %d does not divide %d inputs and %d outputs"
                            % (where, g, c, s["n_out"]))
        W = expect_blob(blobs, 0, (s["n_out"], c // g, kh, kw), where, "filters")
        b = (expect_blob(blobs, 1, (s["n_out"],), where, "biases") if s["bias"]
             else np.zeros(s["n_out"], np.float32))
        spec = LayerSpec("", "conv", W=W, b=b, pad=(ph, ph, pw, pw), stride=(sh, sw),
                         groups=g)
        return spec, (s["n_out"], conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw))
    if kind == "InnerProduct":
        p = layer.inner_product_param
        if p.axis != 1:
            raise UserError("%s: InnerProduct over axis %d is not supported"
                            % (where, p.axis))
        n_out = int(p.num_output)
        shape = (c * h * w, n_out) if p.transpose else (n_out, c * h * w)
        W = expect_blob(blobs, 0, shape, where, "weights")
        W = dense_to_conv(W.T if p.transpose else W, (c, h, w), "chw")
        b = (expect_blob(blobs, 1, (n_out,), where, "biases") if p.bias_term
             else np.zeros(n_out, np.float32))
        return LayerSpec("", "conv", W=W, b=b), (n_out, 1, 1)
    if kind == "ReLU":
        if layer.relu_param.negative_slope:
            raise UserError("%s: leaky ReLU (negative_slope %g) is not supported"
                            % (where, layer.relu_param.negative_slope))
        return LayerSpec("", "relu"), (c, h, w)
    if kind == "Pooling":
        s = pool_settings(layer, (c, h, w), where)
        (kh, kw), (ph, pw), (sh, sw) = s["size"], s["pad"], s["stride"]
        out = (c, pool_out(h, kh, sh, ph, s["rounding"], bool(ph or pw)),
               pool_out(w, kw, sw, pw, s["rounding"], bool(ph or pw)))
        # Caffe's max-pool gradient goes whole to one argmax a window
        return LayerSpec("", "pool", size=(kh, kw), stride=(sh, sw),
                         pad=(ph, ph, pw, pw), method=s["method"],
                         rounding=s["rounding"], ties="argmax"), out
    if kind == "LRN":
        p = layer.lrn_param
        if p.norm_region != 0:
            raise UserError("%s: LRN within channels is not supported (only across "
                            "channels)" % where)
        return LayerSpec("", "lrn", local_size=int(p.local_size), alpha=float(p.alpha),
                         beta=float(p.beta), k=float(p.k)), (c, h, w)
    if kind == "Concat":
        p = layer.concat_param
        axis = p.axis if p.HasField("axis") else p.concat_dim
        if axis != 1:
            raise UserError("%s: concat along axis %d is not supported (only "
                            "channels, axis 1)" % (where, axis))
        if any(s[1:] != (h, w) for s in shapes):
            raise UserError("%s: the inputs' maps differ in size: %s"
                            % (where, [s[1:] for s in shapes]))
        return LayerSpec("", "concat"), (sum(s[0] for s in shapes), h, w)
    raise AssertionError(kind)


def assign_names(nodes):
    """Name each node by Caffe's blob: the last op of an in-place chain gets the
    blob's name, the ones before it ``<blob>/pre_<next type>``."""
    by_blob = {}
    for node in nodes:
        by_blob.setdefault(node.blob, []).append(node)
    for blob, chain in by_blob.items():
        chain[-1].spec.name = blob
        for node, after in zip(chain, chain[1:]):
            node.spec.name = "%s/pre_%s" % (blob, after.caffe_type.lower())


def read_labels(path):
    """Class names, one a line, in output order -> (descriptions, ids).

    Reads Caffe's ``synset_words.txt`` ("n01440764 tench, Tinca tinca"),
    Places' ``categoryIndex_places205.csv`` ("/a/abbey 0": the description
    is "abbey", the id the path) and plain lists (one name a line).
    """
    from ..fileio import read_text
    lines = [line.strip() for line in read_text(path, "label file").splitlines()
             if line.strip()]
    descriptions, ids = [], []
    for line in lines:
        first, _, rest = line.partition(" ")
        if first.startswith("/"):              # Places: "/a/abbey 0"
            descriptions.append(first.split("/", 2)[-1].replace("/", ", ")
                                .replace("_", " "))
            ids.append(first)
        elif first[:1] == "n" and first[1:].isdigit() and rest:  # WordNet id
            descriptions.append(rest.strip())
            ids.append(first)
        else:
            descriptions.append(line)
            ids.append("")
    return descriptions, ids


def convert_caffe(caffemodel, prototxt, model_name=None, labels=None,
                  mean_bgr=DEEPDREAM_MEAN_BGR):
    """Read a Caffe model into a checked :class:`Model`; writes nothing.

    ``labels``: a file of class names (:func:`read_labels`), as many as the
    last layer's outputs; without one a 1000-way net gets the ImageNet
    classes (Caffe's ilsvrc12 order is the standard one) and any other net
    none (a feature extractor).
    """
    proto = read_prototxt(prototxt)
    weights = model_blobs(read_caffemodel(caffemodel), caffemodel)
    data, in_shape = input_shape(proto, prototxt)
    holder = {data: None}           # blob name -> the node holding its value now
    shapes = {data: in_shape}
    nodes = []
    _refuse_duplicates([l.name for l in all_layers(proto) if in_test_phase(l)], prototxt)
    for layer in all_layers(proto):
        kind = layer_type(layer)
        where = "%s: layer %r (%s)" % (prototxt, layer.name, kind)
        if not in_test_phase(layer) or kind == "Input":
            continue
        if kind not in SUPPORTED:
            raise UserError("%s: layer %r has type %s, which we do not support (we "
                            "read %s)" % (prototxt, layer.name, kind, ", ".join(SUPPORTED)))
        missing = [b for b in layer.bottom if b not in holder]
        if missing or not layer.bottom or len(layer.top) != 1:
            raise UserError("%s: reads %s, which no earlier layer makes, or has not "
                            "one top" % (where, missing or "nothing"))
        bottoms = list(layer.bottom)
        top = layer.top[0]
        if kind in DROPPED:  # the top is the bottom's value, unchanged
            holder[top], shapes[top] = holder[bottoms[0]], shapes[bottoms[0]]
            continue
        spec, shape = convert_layer(layer, kind, bottoms, [shapes[b] for b in bottoms],
                                    weights.get(layer.name, []), where)
        if min(shape[1:]) < 1:
            raise UserError("%s: its output would be empty at the prototxt's input "
                            "size %s" % (where, in_shape))
        node = Node(spec, top, kind)
        node.inputs = [holder[b] for b in bottoms]
        nodes.append(node)
        holder[top], shapes[top] = node, shape
    if not nodes:
        raise UserError("%s: no layers we can convert" % prototxt)
    assign_names(nodes)
    for i, node in enumerate(nodes):
        names = [n.spec.name if n is not None else None for n in node.inputs]
        if node.spec.type == "concat":
            node.spec.inputs = tuple(n or "input" for n in names)
        elif names[0] != (nodes[i - 1].spec.name if i else None):
            node.spec.input = names[0] or "input"
    layers = [n.spec for n in nodes]
    n_out = layers[-1].W.shape[0] if layers[-1].type == "conv" else None
    descriptions = wnids = None
    if labels:
        descriptions, wnids = read_labels(labels)
        if len(descriptions) != n_out:
            raise UserError("%s: %d class names for a net with %s outputs; give the "
                            "label file of this model" % (labels, len(descriptions), n_out))
    elif n_out == 1000:
        from ..nets.classes import imagenet_descriptions
        descriptions, wnids = imagenet_descriptions()
    model = Model(layers=layers, model_name=model_name or os.path.splitext(
                      os.path.basename(caffemodel))[0],
                  channel_order="BGR", mean=np.asarray(mean_bgr, np.float32), scale=1.0,
                  image_shape=in_shape[1:], descriptions=descriptions, wnids=wnids,
                  source_file=os.path.basename(caffemodel),
                  source_sha256=sha256_of(caffemodel))
    model.check(caffemodel)
    return model

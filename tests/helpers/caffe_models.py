"""Synthetic Caffe models the tests write, and a numpy forward pass of them.

A net is a list of layer dicts (name, type, bottom, top and the layer's
settings).  :func:`write_caffe` writes it as deploy.prototxt + .caffemodel
with random blobs, in the current ``layer`` format (string types, BlobShape,
an Input layer) or the V1 ``layers`` format (enum types, num/channels/
height/width blobs, input_dim).  :func:`caffe_forward` runs it in numpy
following Caffe's C++ layers (conv_layer, pooling_layer.cpp: ceil output
size, window clipped to the padded input for the average; lrn_layer.cpp;
concat_layer; inner_product_layer), independent of the code under test.
"""
import math
import os

import numpy as np
from google.protobuf import text_format

from reproduce.convert.caffe_schema import messages

V1_TYPES = {"Convolution": "CONVOLUTION", "ReLU": "RELU", "Pooling": "POOLING",
            "LRN": "LRN", "Concat": "CONCAT", "InnerProduct": "INNER_PRODUCT",
            "Dropout": "DROPOUT", "Softmax": "SOFTMAX", "Eltwise": "ELTWISE"}


def L(name, type, bottom, top=None, **params):
    return dict(name=name, type=type, bottom=list(bottom) if isinstance(bottom, (list, tuple))
                else [bottom], top=[top or name], **params)


def conv(name, bottom, n, k, stride=1, pad=0, group=1, relu=None):
    """A convolution and its in-place ReLU (``a/b`` -> ``a/relu_b``, as GoogLeNet)."""
    head, tail = name.rsplit("/", 1)
    return [L(name, "Convolution", bottom, num_output=n, kernel=k, stride=stride, pad=pad,
              group=group),
            L(relu or head + "/relu_" + tail, "ReLU", name, name)]


def pool(name, bottom, method, k, stride, pad=0):
    return L(name, "Pooling", bottom, pool=method, kernel=k, stride=stride, pad=pad)


def lrn(name, bottom):
    return L(name, "LRN", bottom, local_size=5, alpha=1e-4, beta=0.75)


def inception(name, bottom, n1, n3r, n3, n5r, n5, proj):
    """One inception module as deploy.prototxt lays it out: four branches, concat."""
    p = name + "/"
    return (conv(p + "1x1", bottom, n1, 1)
            + conv(p + "3x3_reduce", bottom, n3r, 1) + conv(p + "3x3", p + "3x3_reduce", n3, 3, pad=1)
            + conv(p + "5x5_reduce", bottom, n5r, 1) + conv(p + "5x5", p + "5x5_reduce", n5, 5, pad=2)
            + [pool(p + "pool", bottom, "MAX", 3, 1, 1)]
            + conv(p + "pool_proj", p + "pool", proj, 1)
            + [L(p + "output", "Concat", [p + "1x1", p + "3x3", p + "5x5", p + "pool_proj"])])


# bvlc_googlenet deploy.prototxt: (module, 1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj)
INCEPTIONS = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
              ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64),
              ("4c", 128, 128, 256, 24, 64, 64), ("4d", 112, 144, 288, 32, 64, 64),
              ("4e", 256, 160, 320, 32, 128, 128), ("5a", 256, 160, 320, 32, 128, 128),
              ("5b", 384, 192, 384, 48, 128, 128)]


def googlenet(divisor=1, pool5=7, n_classes=1000):
    """The layer list of bvlc_googlenet's deploy.prototxt: the real names and
    topology, channel counts divided by ``divisor`` (at least 1), the last
    average pool ``pool5`` wide (7 at 224x224; smaller for a small input)."""
    def d(n):
        return max(1, n // divisor)
    net = (conv("conv1/7x7_s2", "data", d(64), 7, 2, 3, relu="conv1/relu_7x7")
           + [pool("pool1/3x3_s2", "conv1/7x7_s2", "MAX", 3, 2),
              lrn("pool1/norm1", "pool1/3x3_s2")]
           + conv("conv2/3x3_reduce", "pool1/norm1", d(64), 1)
           + conv("conv2/3x3", "conv2/3x3_reduce", d(192), 3, pad=1)
           + [lrn("conv2/norm2", "conv2/3x3"),
              pool("pool2/3x3_s2", "conv2/norm2", "MAX", 3, 2)])
    bottom = "pool2/3x3_s2"
    for module, *sizes in INCEPTIONS:
        net += inception("inception_" + module, bottom, *(d(n) for n in sizes))
        bottom = "inception_%s/output" % module
        if module in ("3b", "4e"):
            name = "pool%d/3x3_s2" % (3 if module == "3b" else 4)
            net.append(pool(name, bottom, "MAX", 3, 2))
            bottom = name
    net += [pool("pool5/7x7_s1", bottom, "AVE", pool5, 1),
            L("pool5/drop_7x7_s1", "Dropout", "pool5/7x7_s1", "pool5/7x7_s1"),
            L("loss3/classifier", "InnerProduct", "pool5/7x7_s1", num_output=n_classes),
            L("prob", "Softmax", "loss3/classifier")]
    return net


def small_net(n_classes=7):
    """Every supported layer on an odd-sized input: grouped conv, ceil max and
    average pooling with padding and overhang, LRN, a two-way concat, InnerProduct."""
    return (conv("c1/3x3", "data", 6, 3, stride=2, pad=1)
            + [pool("p1/max", "c1/3x3", "MAX", 3, 2),          # ceil: overhangs
               lrn("p1/norm", "p1/max")]
            + conv("c2/grouped", "p1/norm", 6, 3, pad=1, group=3)
            + [pool("c2/avg", "c2/grouped", "AVE", 3, 2, pad=1),  # pad + overhang
               pool("c2/max", "c2/grouped", "MAX", 2, 2, pad=1),
               L("cat/output", "Concat", ["c2/avg", "c2/max"]),
               L("fc/drop", "Dropout", "cat/output", "cat/output"),
               L("fc/out", "InnerProduct", "cat/output", num_output=n_classes),
               L("prob", "Softmax", "fc/out")])


# --------------------------------------------------------------- shapes

def caffe_pool_size(n, k, s, p, any_pad=None):
    """pooling_layer.cpp Reshape (ceil): the last window dropped when it would
    start in the padding, checked on both axes when either is padded."""
    out = int(math.ceil((n + 2 * p - k) / float(s))) + 1
    if (p if any_pad is None else any_pad) and (out - 1) * s >= n + p:
        out -= 1
    return out


def blob_shapes(net, input_shape):
    """{layer name: [blob shapes]} for random weights, and each blob's shape."""
    shapes, params = {"data": tuple(input_shape)}, {}
    for layer in net:
        c, h, w = shapes[layer["bottom"][0]]
        t = layer["type"]
        if t == "Convolution":
            k, s, p, n = layer["kernel"], layer["stride"], layer["pad"], layer["num_output"]
            params[layer["name"]] = [(n, c // layer["group"], k, k), (n,)]
            out = (n, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif t == "Pooling":
            out = (c,) + pooled_shape((h, w), layer["kernel"], layer["stride"], layer["pad"])
        elif t == "Concat":
            out = (sum(shapes[b][0] for b in layer["bottom"]), h, w)
        elif t == "InnerProduct":
            params[layer["name"]] = [(layer["num_output"], c * h * w), (layer["num_output"],)]
            out = (layer["num_output"], 1, 1)
        else:
            out = (c, h, w)
        shapes[layer["top"][0]] = out
    return params, shapes


# --------------------------------------------------------------- writing

def _fill_blob(message, array, legacy):
    if legacy:  # V1 era: always 4-D, leading 1s
        dims = (1,) * (4 - array.ndim) + array.shape
        message.num, message.channels, message.height, message.width = dims
    else:
        message.shape.dim.extend(array.shape)
    message.data.extend(array.ravel().tolist())


def _layer_message(net_message, layer, fmt):
    legacy = fmt == "V1"
    m = (net_message.layers if legacy else net_message.layer).add()
    m.name = layer["name"]
    if legacy:
        m.type = messages()["V1LayerParameter"].LayerType.Value(V1_TYPES[layer["type"]])
    else:
        m.type = layer["type"]
    m.bottom.extend(layer["bottom"])
    m.top.extend(layer["top"])
    t = layer["type"]
    if t == "Convolution":
        p = m.convolution_param
        p.num_output, p.group = layer["num_output"], layer["group"]
        p.kernel_size.append(layer["kernel"])
        if layer["stride"] != 1:
            p.stride.append(layer["stride"])
        if layer["pad"]:
            p.pad.append(layer["pad"])
    elif t == "Pooling":
        p = m.pooling_param
        p.pool = {"MAX": 0, "AVE": 1}[layer["pool"]]
        p.kernel_size, p.stride = layer["kernel"], layer["stride"]
        if isinstance(layer["pad"], tuple):   # pooling_param takes pad_h with pad_w
            p.pad_h, p.pad_w = layer["pad"]
        elif layer["pad"]:
            p.pad = layer["pad"]
    elif t == "LRN":
        p = m.lrn_param
        p.local_size, p.alpha, p.beta = layer["local_size"], layer["alpha"], layer["beta"]
    elif t == "InnerProduct":
        m.inner_product_param.num_output = layer["num_output"]
    return m


def prototxt_text(net, input_shape, fmt="layer", name="synthetic"):
    """deploy.prototxt text: an Input layer (current format) or input_dim (V1)."""
    message = messages()["NetParameter"](name=name)
    if fmt == "V1":
        message.input.append("data")
        message.input_dim.extend((1,) + tuple(input_shape))
    else:
        data = message.layer.add(name="data", type="Input", top=["data"])
        data.input_param.shape.add().dim.extend((1,) + tuple(input_shape))
    for layer in net:
        _layer_message(message, layer, fmt)
    return text_format.MessageToString(message)


def random_blobs(net, input_shape, seed=0):
    """{layer name: [W, b]} float32, He-scaled so activations stay O(1)."""
    rng = np.random.RandomState(seed)
    params, _ = blob_shapes(net, input_shape)
    blobs = {}
    for name, (w_shape, b_shape) in params.items():
        fan_in = int(np.prod(w_shape[1:]))
        blobs[name] = [(rng.randn(*w_shape) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                       (rng.randn(*b_shape) * 0.1).astype(np.float32)]
    return blobs


def caffemodel_bytes(net, blobs, fmt="layer", extra=True):
    """A .caffemodel: every layer of ``net`` with its blobs, plus (``extra``)
    a training-only layer with blobs that the prototxt does not have."""
    message = messages()["NetParameter"](name="synthetic")
    for layer in net:
        m = _layer_message(message, layer, fmt)
        for array in blobs.get(layer["name"], []):
            _fill_blob(m.blobs.add(), array, fmt == "V1")
    if extra:
        aux = L("loss1/classifier", "InnerProduct", "data", num_output=2)
        m = _layer_message(message, aux, fmt)
        _fill_blob(m.blobs.add(), np.ones((2, 3), np.float32), fmt == "V1")
    return message.SerializeToString()


def write_caffe(folder, net, input_shape, fmt="layer", seed=0, model_fmt=None,
                name="model"):
    """Write NAME.prototxt and NAME.caffemodel to ``folder``; returns (caffemodel,
    prototxt, blobs).  ``model_fmt`` writes the caffemodel in another format."""
    os.makedirs(folder, exist_ok=True)
    blobs = random_blobs(net, input_shape, seed)
    prototxt = os.path.join(str(folder), name + ".prototxt")
    caffemodel = os.path.join(str(folder), name + ".caffemodel")
    with open(prototxt, "w") as f:
        f.write(prototxt_text(net, input_shape, fmt))
    with open(caffemodel, "wb") as f:
        f.write(caffemodel_bytes(net, blobs, model_fmt or fmt))
    return caffemodel, prototxt, blobs


# --------------------------------------------------------------- numpy forward

def np_conv(x, W, b, stride, pad, group):
    """(C, H, W) -> (N, H', W'): Caffe's grouped cross-correlation."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    n, cg, k, _ = W.shape
    rows, cols = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((n, rows, cols), np.float64)
    per = n // group
    for g in range(group):
        xs = x[g * cg:(g + 1) * cg]
        for i in range(k):
            for j in range(k):
                patch = xs[:, i:i + stride * rows:stride, j:j + stride * cols:stride]
                out[g * per:(g + 1) * per] += np.einsum(
                    "oc,chw->ohw", W[g * per:(g + 1) * per, :, i, j], patch)
    return out + b[:, None, None]


def pooled_shape(size, k, s, p):
    """(rows, cols) of a Caffe pool of a (rows, cols) map; k, s and p an int or a pair."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(k), _pair(s), _pair(p)
    any_pad = bool(ph or pw)
    return (caffe_pool_size(size[0], kh, sh, ph, any_pad),
            caffe_pool_size(size[1], kw, sw, pw, any_pad))


def average_windows(size, k, s, p):
    """pooling_layer.cpp's AVE windows of a (rows, cols) map: (i, j, the
    window's rows and cols slices clipped to the image, pool_size: the
    window clipped to the *padded* input)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = size, _pair(k), _pair(s), _pair(p)
    rows, cols = pooled_shape(size, k, s, p)
    for i in range(rows):
        for j in range(cols):
            hs, ws = i * sh - ph, j * sw - pw
            he, we = min(hs + kh, h + ph), min(ws + kw, w + pw)
            pool_size = (he - hs) * (we - ws)
            yield (i, j, slice(max(hs, 0), min(he, h)), slice(max(ws, 0), min(we, w)),
                   pool_size)


def np_pool(x, method, k, s, p):
    """pooling_layer.cpp Forward_cpu, MAX and AVE, window by window; the
    padding an int or (rows, cols)."""
    if method == "MAX":
        return np_max_pool(x, k, s, p)
    out = np.zeros((x.shape[0],) + pooled_shape(x.shape[1:], k, s, p), np.float64)
    for i, j, rows, cols, size in average_windows(x.shape[1:], k, s, p):
        out[:, i, j] = x[:, rows, cols].sum(axis=(1, 2)) / size
    return out


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def np_max_pool(x, k, s, p, gz=None, ties="argmax"):
    """pooling_layer.cpp's MAX, Forward_cpu and Backward_cpu, window by
    window, on x (C, H, W); k, s, p an int or (rows, cols).  Returns the
    pooled (C, H', W') and, given gz (C, H', W'), the gradient to x: whole to
    the first pixel that raised the max from -FLT_MAX by a strict '>'
    (Caffe's max_idx_), or with ties="every" to each pixel equal to it."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(k), _pair(s), _pair(p)
    c, h, w = x.shape
    oh, ow = pooled_shape((h, w), k, s, p)
    top = np.full((c, oh, ow), -np.finfo(np.float32).max, x.dtype)
    gx = np.zeros(x.shape, np.float64)
    for ch in range(c):
        for i in range(oh):
            for j in range(ow):
                hs, ws = i * sh - ph, j * sw - pw
                he, we = min(hs + kh, h), min(ws + kw, w)
                hs, ws = max(hs, 0), max(ws, 0)
                best = None
                for r in range(hs, he):
                    for q in range(ws, we):
                        if x[ch, r, q] > top[ch, i, j]:
                            top[ch, i, j], best = x[ch, r, q], (r, q)
                if gz is None:
                    continue
                if ties == "argmax":
                    if best is not None:
                        gx[ch][best] += gz[ch, i, j]
                else:
                    window = x[ch, hs:he, ws:we]
                    gx[ch, hs:he, ws:we] += (window == top[ch, i, j]) * gz[ch, i, j]
    return top if gz is None else (top, gx)


def _lrn_windows(c, local_size):
    """Each channel's window of channels (lo, hi), clipped at the ends."""
    half = (local_size - 1) // 2
    return [(max(0, i - half), min(c, i + half + 1)) for i in range(c)]


def _lrn_scale(x, local_size, alpha, k):
    """k + alpha / n * the sum of squares over each channel's window."""
    scale = np.full(x.shape, k, np.float64)
    for i, (lo, hi) in enumerate(_lrn_windows(x.shape[0], local_size)):
        scale[i] += alpha / local_size * (x[lo:hi] ** 2).sum(axis=0)
    return scale


def np_lrn(x, local_size, alpha, beta, k=1.0):
    """lrn_layer.cpp CrossChannelForward_cpu."""
    return x * _lrn_scale(x, local_size, alpha, k) ** -beta


def up_to(net, blob):
    """The layers up to the last one that writes ``blob``."""
    return net[:max(i for i, layer in enumerate(net) if blob in layer["top"]) + 1]


def caffe_forward(net, blobs, image):
    """image (3, H, W) preprocessed -> {blob name: final value (C, H, W)}, float64."""
    values = {"data": np.asarray(image, np.float64)}
    for layer in net:
        x = values[layer["bottom"][0]]
        t = layer["type"]
        if t == "Convolution":
            W, b = blobs[layer["name"]]
            y = np_conv(x, W.astype(np.float64), b, layer["stride"], layer["pad"],
                        layer["group"])
        elif t == "ReLU":
            y = np.maximum(x, 0)
        elif t == "Pooling":
            y = np_pool(x, layer["pool"], layer["kernel"], layer["stride"], layer["pad"])
        elif t == "LRN":
            y = np_lrn(x, layer["local_size"], layer["alpha"], layer["beta"])
        elif t == "Concat":
            y = np.concatenate([values[b] for b in layer["bottom"]], axis=0)
        elif t == "InnerProduct":
            W, b = blobs[layer["name"]]
            y = (W.astype(np.float64) @ x.ravel() + b)[:, None, None]
        elif t == "Dropout":
            y = x
        elif t == "Softmax":
            e = np.exp(x - x.max())
            y = e / e.sum()
        values[layer["top"][0]] = y
    return values


# --------------------------------------------------------------- numpy backward

def np_conv_backward(gy, W, stride, pad, group, in_shape):
    """d/dx of :func:`np_conv`: gy (N, H', W') -> (C, H, W), float64."""
    c, h, w = in_shape
    n, cg, k, _ = W.shape
    rows, cols = gy.shape[1:]
    gx = np.zeros((c, h + 2 * pad, w + 2 * pad), np.float64)
    per = n // group
    for g in range(group):
        for i in range(k):
            for j in range(k):
                gx[g * cg:(g + 1) * cg, i:i + stride * rows:stride, j:j + stride * cols:stride] += \
                    np.einsum("oc,ohw->chw", W[g * per:(g + 1) * per, :, i, j],
                              gy[g * per:(g + 1) * per])
    return gx[:, pad:pad + h, pad:pad + w]


def np_avg_pool_backward(gz, k, s, p, in_shape):
    """pooling_layer.cpp Backward_cpu, AVE: each window's gradient spread
    over its pixels, divided by the window clipped to the padded input."""
    gx = np.zeros(in_shape, np.float64)
    for i, j, rows, cols, size in average_windows(in_shape[1:], k, s, p):
        gx[:, rows, cols] += gz[:, i:i + 1, j:j + 1] / size
    return gx


def np_lrn_backward(x, gy, local_size, alpha, beta, k=1.0):
    """lrn_layer.cpp CrossChannelBackward_cpu, d/dx of :func:`np_lrn`."""
    scale = _lrn_scale(x, local_size, alpha, k)
    ratio = gy * x * scale ** (-beta - 1)
    gx = gy * scale ** -beta
    for i, (lo, hi) in enumerate(_lrn_windows(x.shape[0], local_size)):
        gx[i] -= 2.0 * alpha * beta / local_size * x[i] * ratio[lo:hi].sum(axis=0)
    return gx


def caffe_backward(net, blobs, image, top, top_grad, ties="argmax"):
    """d/d data of sum(top_grad * blob ``top``), as Caffe's Backward_cpu of
    each layer computes it, in numpy: image (3, H, W) preprocessed, the
    layers up to the one that writes ``top``.  ``ties``: the max-pools'
    rule (Caffe's "argmax", or "every").  In-place layers (ReLU, Dropout)
    work on the blob's gradient; their mask is the final value > 0."""
    net = up_to(net, top)
    values = caffe_forward(net, blobs, image)
    inputs, value = {}, {"data": np.asarray(image, np.float64)}
    for layer in net:   # each layer's input as it read it
        inputs[layer["name"]] = [value[b] for b in layer["bottom"]]
        value[layer["top"][0]] = values[layer["top"][0]]
    grads = {top: np.asarray(top_grad, np.float64)}
    for layer in reversed(net):
        t, name = layer["type"], layer["name"]
        g = grads.pop(layer["top"][0], None)
        if g is None:
            continue
        x = inputs[name][0]
        if t == "ReLU":
            out = [g * (values[layer["top"][0]] > 0)]
        elif t == "Dropout":
            out = [g]
        elif t == "Convolution":
            W, _ = blobs[name]
            out = [np_conv_backward(g, W.astype(np.float64), layer["stride"], layer["pad"],
                                    layer["group"], x.shape)]
        elif t == "Pooling" and layer["pool"] == "MAX":
            out = [np_max_pool(x, layer["kernel"], layer["stride"], layer["pad"], g, ties)[1]]
        elif t == "Pooling":
            out = [np_avg_pool_backward(g, layer["kernel"], layer["stride"], layer["pad"],
                                        x.shape)]
        elif t == "LRN":
            out = [np_lrn_backward(x, g, layer["local_size"], layer["alpha"], layer["beta"])]
        elif t == "Concat":
            edges = np.cumsum([0] + [v.shape[0] for v in inputs[name]])
            out = [g[a:b] for a, b in zip(edges, edges[1:])]
        else:
            raise AssertionError(t)
        for bottom, gb in zip(layer["bottom"], out):
            grads[bottom] = grads[bottom] + gb if bottom in grads else gb
    return grads["data"]

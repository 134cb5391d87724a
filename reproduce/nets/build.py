"""Build a fully convolutional Lasagne network from a model's layer list.

Dense layers arrive as convolutions (fc6 of VGG is a 7x7 one), so an input
of any size >= the training size gives a *map* of logits, shape
(batch, classes, rows, cols).
"""
import collections
import os

import numpy as np

from ..backend import T, lasagne
from ..ops.depthwise import depthwise_corr
from ..ops import maxpool2
from ..ops.maxpool import max_pool, pooled_length
from ..ops.relu6 import relu6
from ..ops.winograd import winograd_corr
from ..errors import UserError, unknown
from .weights import TIE_CHOICES, Model, is_depthwise

L = lasagne.layers


def same_padding(size, kernel, stride):
    """TensorFlow SAME padding (before, after) for one axis; ``size`` may be symbolic."""
    out = (size + stride - 1) // stride
    total = T.maximum((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class CorrelationConv2DLayer(L.Layer):
    """2-D convolution with stored *correlation* filters (no flip).

    Lasagne 0.1's ``Conv2DLayer`` calls ``T.nnet.conv2d`` with its default
    ``filter_flip=True``: a true convolution.  MatConvNet, Caffe and Keras
    store correlation filters, so this layer passes ``filter_flip=False``:
    the one place where that difference is accounted for.  Symmetric
    padding goes to ``conv2d`` itself (``border_mode=(ph, pw)``, which runs
    CorrMM without a padded copy); asymmetric or SAME padding is explicit.

    Input (batch, in, rows, cols); W (out, in / groups, kh, kw); b (out,);
    output (batch, out, rows', cols').
    """

    def __init__(self, incoming, W, b, pad=(0, 0, 0, 0), stride=(1, 1), groups=1,
                 winograd_tile=None, **kwargs):
        super().__init__(incoming, **kwargs)
        self.W = self.add_param(W.astype(np.float32), W.shape, name="W")
        self.b = self.add_param(b.astype(np.float32), b.shape, name="b",
                                regularizable=False)
        self.kernel = W.shape[2:]
        self.num_filters = W.shape[0]
        self.pad, self.stride, self.groups = pad, tuple(stride), groups
        # one filter per channel: our own Op (reproduce.ops.depthwise), not a
        # grouped CorrMM, which is mostly im2col copying
        self.depthwise = is_depthwise(W.shape, groups)
        # 2 or 4: this 3x3 layer runs as Winograd F(tile x tile, 3x3) (reproduce.ops.winograd)
        self.winograd_tile = winograd_tile

    def get_output_shape_for(self, input_shape):
        rows, cols = input_shape[2:]
        return (input_shape[0], self.num_filters,
                self._out_len(rows, 0), self._out_len(cols, 1))

    def _out_len(self, n, axis):
        if n is None:
            return None
        k, s = self.kernel[axis], self.stride[axis]
        if self.pad == "same":
            return (n + s - 1) // s
        n = n + self.pad[2 * axis] + self.pad[2 * axis + 1]
        return (n - k) // s + 1

    def get_output_for(self, input, **kwargs):
        if self.depthwise:
            out = depthwise_corr(input, self.W, self.stride, self.pad)
            return out + self.b.dimshuffle("x", 0, "x", "x")
        if self.winograd_tile:
            return winograd_corr(input, self.W, self.winograd_tile, self.b)
        border = "valid"
        if self.pad == "same":
            pads = [same_padding(input.shape[2 + a], self.kernel[a], self.stride[a])
                    for a in (0, 1)]
            input = pad_2d(input, pads)
        elif self.pad[0] == self.pad[1] and self.pad[2] == self.pad[3]:
            border = (int(self.pad[0]), int(self.pad[2]))
        else:
            input = pad_2d(input, [self.pad[0:2], self.pad[2:4]])
        out = T.nnet.conv2d(input, self.W, border_mode=border, subsample=self.stride,
                            filter_flip=False, num_groups=self.groups)
        return out + self.b.dimshuffle("x", 0, "x", "x")


def pad_2d(x, pads):
    """Zero-pad the two spatial axes of a 4-D tensor by ((top, bottom), (left, right))."""
    (t, b), (l, r) = pads
    rows, cols = x.shape[2], x.shape[3]
    out = T.alloc(np.float32(0), x.shape[0], x.shape[1], rows + t + b, cols + l + r)
    return T.set_subtensor(out[:, :, t:t + rows, l:l + cols], x)


class CaffePool2DLayer(L.Layer):
    """Max or average pooling with Caffe's output size (rounded up).

    Max: :mod:`reproduce.ops.maxpool`, Caffe's windows clipped to the image,
    the gradient by ``ties`` (Caffe's own rule: "argmax").  Average: Caffe's
    last window may run past the padded input, and Theano's pooling has no
    such mode, so the input is placed in a zero canvas that covers every
    window exactly (cut where a stride longer than the window leaves its end
    unread) and pooled without a border; the sum over the window is divided
    by the window clipped to the *padded* input, as pooling_layer.cpp's
    ``pool_size`` (padding counts, the overhang past it does not).

    Input (batch, channels, rows, cols) -> (batch, channels, rows', cols').
    """

    def __init__(self, incoming, size, stride, pad, method, ties="argmax", **kwargs):
        super().__init__(incoming, **kwargs)
        self.size, self.stride, self.pad = tuple(size), tuple(stride), tuple(pad)
        self.method, self.ties = method, ties

    def _length(self, n, axis):
        return pooled_length(n, self.size[axis], self.stride[axis], self.pad[axis],
                             ceil=True, any_pad=any(self.pad))

    def get_output_shape_for(self, input_shape):
        lengths = [None if n is None else self._length(n, a)
                   for a, n in enumerate(input_shape[2:])]
        return tuple(input_shape[:2]) + tuple(lengths)

    def get_output_for(self, input, **kwargs):
        from theano.tensor.signal.pool import pool_2d
        if self.method == "max":
            return max_pool(input, self.size, self.stride, self.pad, ceil=True, ties=self.ties)
        covered = [(self._length(input.shape[2 + a], a) - 1) * self.stride[a] + self.size[a]
                   for a in (0, 1)]
        (pt, pl), kept = self.pad, input[:, :, :covered[0] - self.pad[0],
                                        :covered[1] - self.pad[1]]
        canvas = T.zeros((input.shape[0], input.shape[1], covered[0], covered[1]),
                         input.dtype)
        padded = T.set_subtensor(canvas[:, :, pt:pt + kept.shape[2], pl:pl + kept.shape[3]],
                                 kept)
        out = pool_2d(padded, self.size, ignore_border=True, stride=self.stride,
                      pad=(0, 0), mode="average_inc_pad")
        # the share of each window inside the padded input, (1, 1, rows', cols')
        inside = [T.lt(T.arange(covered[a]), input.shape[2 + a] + 2 * self.pad[a])
                  for a in (0, 1)]
        mask = T.outer(inside[0], inside[1]).astype(input.dtype).dimshuffle("x", "x", 0, 1)
        share = pool_2d(mask, self.size, ignore_border=True, stride=self.stride,
                        pad=(0, 0), mode="average_inc_pad")
        return out / share


class Pool2DLayer(L.Pool2DLayer):
    """Lasagne's pooling, with 2x2, stride-2, unpadded max-pooling (VGG-16's
    five pools) on :mod:`reproduce.ops.maxpool2`, whose gradient is Theano's
    bit for bit but takes a pass instead of Theano's generic loop.  With
    ``ties="argmax"``, max-pooling runs on :mod:`reproduce.ops.maxpool`
    instead (the same values; the gradient whole to each window's first
    maximum)."""

    def __init__(self, *args, ties="every", **kwargs):
        super().__init__(*args, **kwargs)
        self.ties = ties

    def get_output_for(self, input, **kwargs):
        if self.ties == "argmax" and self.mode == "max" and self.ignore_border:
            return max_pool(input, self.pool_size, self.stride, self.pad, ceil=False,
                            ties="argmax")
        if maxpool2.applies(self.pool_size, self.stride, self.pad, self.ignore_border,
                            self.mode, input.dtype):
            return maxpool2.max_pool2(input)
        return super().get_output_for(input, **kwargs)


class LRNLayer(L.Layer):
    """Caffe's local response normalisation across channels (lrn_layer.cpp):
    y = x / (k + alpha / n * sum of x^2 over the n channels centred on x)^beta,
    the window zero-padded at the first and last channels.  Shape unchanged."""

    def __init__(self, incoming, local_size, alpha, beta, k, **kwargs):
        super().__init__(incoming, **kwargs)
        self.local_size, self.alpha, self.beta, self.k = local_size, alpha, beta, k

    def get_output_for(self, input, **kwargs):
        half = (self.local_size - 1) // 2
        channels = input.shape[1]
        squares = T.sqr(input)
        padded = T.alloc(np.float32(0), input.shape[0], channels + 2 * half,
                         input.shape[2], input.shape[3])
        padded = T.set_subtensor(padded[:, half:half + channels], squares)
        total = sum(padded[:, i:i + channels] for i in range(self.local_size))
        scale = np.float32(self.k) + np.float32(self.alpha / self.local_size) * total
        return input * scale ** np.float32(-self.beta)



class Net:
    """A built network.  ``layers`` maps layer names to Lasagne layers in order.

    ``input_var`` is the (batch, 3, rows, cols) preprocessed image tensor.
    """
    backend = "theano"  # reproduce_torch.nets.TorchNet says "torch"

    def __init__(self, model: Model, layers, input_var):
        self.model = model
        self.layers = layers
        self.input_var = input_var
        self.input_layer = layers["input"]

    @property
    def output_name(self):
        return next(reversed(self.layers))

    def layer(self, name):
        if name not in self.layers or name == "input":  # the image, not a layer to aim at
            raise unknown("layer", name, self.addressable_names())
        return self.layers[name]

    def addressable_names(self):
        """Layers worth optimising: every conv output and its nonlinearity."""
        return [n for n in self.layers if n != "input"]

    def conv_names(self):
        return self.model.layer_names("conv")

    def output_shape(self, rows, cols, name=None):
        """Shape of a layer's output for a (1, 3, rows, cols) input."""
        return L.get_output_shape(self.layer(name or self.output_name),
                                  {self.input_layer: (1, 3, rows, cols)})

    def check_input_size(self, size, name=None, what=""):
        """Raise UserError when an input of ``size`` = (rows, cols) is too small."""
        shape = self.output_shape(*size, name=name)
        if min(shape[2:]) < 1:
            raise UserError("an input of %dx%d pixels%s is too small for %s: its "
                            "output would be empty; the net needs at least %dx%d"
                            % (size[1], size[0], " (%s)" % what if what else "",
                               self.model.model_name, *self.model.image_shape[::-1]))

    def outputs(self, names, input=None):
        """Symbolic outputs of the named layers, for ``input`` (default: input_var)."""
        layers = [self.layer(n) for n in names]
        inputs = None if input is None else {self.input_layer: input}
        return L.get_output(layers, inputs, deterministic=True)

    def activations(self, x):
        """acts(name) -> symbolic output of layer ``name`` for the preprocessed
        input ``x``, (1, 3, H, W).  Each layer's graph is built once, however
        often an objective asks for it."""
        cache = {}

        def acts(name):
            if name not in cache:
                cache[name] = self.output(name, input=x)
            return cache[name]
        return acts

    def output(self, name=None, input=None):
        return self.outputs([name or self.output_name], input)[0]


def build_net(model: Model, input_var=None, input_shape=(None, 3, None, None), conv="auto",
              pool_ties="model"):
    """Build ``model`` in Lasagne.  Each layer keeps its model name; the
    nonlinearity after a conv is its own layer (``relu1_1`` after ``conv1_1``).

    ``conv`` (one of CONV_CHOICES) says how stride-1, pad-1 3x3 layers run:
    "auto" as :func:`reproduce.ops.winograd_choice.tile_for` measured,
    "winograd" all as Winograd, "corrmm" all as CorrMM.  ``pool_ties`` (one
    of TIE_CHOICES) says where a max-pool's gradient goes when its window holds
    the max more than once: "model" as each pool layer says (Caffe's rule,
    "argmax", for models converted from Caffe; "every" for the others),
    else that rule for every max-pool (:mod:`reproduce.ops.maxpool`)."""
    input_var = input_var if input_var is not None else T.tensor4("image")
    conv = _conv_choice(conv)
    if pool_ties not in TIE_CHOICES:
        raise UserError("pool_ties=%s: choose one of %s" % (pool_ties, ", ".join(TIE_CHOICES)))
    layers = collections.OrderedDict()
    layers["input"] = previous = L.InputLayer(input_shape, input_var, name="input")
    for spec in model.layers:
        incoming = layers[spec.input] if spec.input else previous
        if spec.type == "conv":
            layer = CorrelationConv2DLayer(incoming, spec.W, spec.b, spec.pad,
                                           spec.stride, spec.groups, name=spec.name,
                                           winograd_tile=winograd_tile(spec, conv, incoming))
        elif spec.type == "relu":
            layer = L.NonlinearityLayer(incoming, lasagne.nonlinearities.rectify,
                                        name=spec.name)
        elif spec.type == "relu6":
            layer = L.NonlinearityLayer(incoming, relu6, name=spec.name)
        elif spec.type == "pool" and spec.rounding == "ceil":
            layer = CaffePool2DLayer(incoming, spec.size, spec.stride,
                                     (spec.pad[0], spec.pad[2]), spec.method,
                                     ties=_ties(spec, pool_ties), name=spec.name)
        elif spec.type == "pool":
            if spec.pad[0] != spec.pad[1] or spec.pad[2] != spec.pad[3]:
                raise UserError("layer %r: asymmetric pool padding %s is not "
                                "supported" % (spec.name, spec.pad))
            layer = Pool2DLayer(incoming, spec.size, spec.stride,
                                  (spec.pad[0], spec.pad[2]), ignore_border=True,
                                  mode="max" if spec.method == "max"
                                  else "average_inc_pad", ties=_ties(spec, pool_ties),
                                  name=spec.name)
        elif spec.type == "add":
            layer = L.ElemwiseSumLayer([layers[n] for n in spec.inputs], name=spec.name)
        elif spec.type == "lrn":
            layer = LRNLayer(incoming, spec.local_size, spec.alpha, spec.beta, spec.k,
                             name=spec.name)
        elif spec.type == "concat":
            layer = L.ConcatLayer([layers[n] for n in spec.inputs], axis=1,
                                  name=spec.name)
        layers[spec.name] = previous = layer
    return Net(model, layers, input_var)


CONV_CHOICES = ("auto", "winograd", "corrmm")


def _ties(spec, pool_ties):
    return spec.ties if pool_ties == "model" else pool_ties


def _conv_choice(conv):
    # REPRODUCE_CONV forces one implementation under "auto" (to run a test suite with it)
    if conv == "auto":
        conv = os.environ.get("REPRODUCE_CONV", "auto")
    if conv not in CONV_CHOICES:
        raise UserError("conv=%s: choose one of %s" % (conv, ", ".join(CONV_CHOICES)))
    return conv


def winograd_tile(spec, conv, incoming):
    """The Winograd tile (2 or 4) for a conv layer spec fed by ``incoming``, or None for CorrMM."""
    from ..ops.winograd_choice import PROBE, eligible, tile_for
    if conv == "corrmm" or not eligible(spec.W.shape, spec.pad, spec.stride, spec.groups):
        return None
    # how far the net has shrunk the image by here: the choice depends on the layer's size
    shape = L.get_output_shape(incoming, {layer: (1, layer.shape[1] or 3, PROBE, PROBE)
                                          for layer in L.get_all_layers(incoming)
                                          if isinstance(layer, L.InputLayer)})
    return tile_for(spec.W.shape[1], spec.W.shape[0], PROBE / max(shape[2], 1),
                    forced=conv == "winograd")


def to_batch(image):
    """(H, W, 3) image -> contiguous (1, 3, H, W) float32."""
    return np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)[None])


def from_batch(batch):
    """(1, 3, H, W) -> (H, W, 3)."""
    return np.asarray(batch)[0].transpose(1, 2, 0)


def preprocess(batch, model: Model, mean="channel"):
    """RGB 0..255 (N, 3, H, W) -> network input; numpy array or Theano tensor.

    ``mean``: "channel" subtracts the model's per-channel mean; "scalar"
    subtracts one number, the mean of the average image, as the 2015 code did.
    Then the channels are reordered (BGR models) and scaled.
    """
    m = model.mean_rgb().astype(np.float32)
    if mean == "scalar":
        m = np.full(3, m.mean(), np.float32)
    x = batch - m.reshape(1, 3, 1, 1)
    if model.channel_order == "BGR":
        x = x[:, ::-1]
    return x * np.float32(model.scale)


def deprocess(x, model: Model):
    """The inverse of ``preprocess(batch, model)`` (mean="channel"): network
    input (N, 3, H, W) -> RGB 0..255, numpy array or Theano tensor."""
    x = x / np.float32(model.scale)
    if model.channel_order == "BGR":
        x = x[:, ::-1]
    return x + model.mean_rgb().astype(np.float32).reshape(1, 3, 1, 1)

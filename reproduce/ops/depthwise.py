"""Depthwise correlation as Theano C Ops: forward, gradient to the input, to the filters.

A depthwise convolution filters each channel with its own kh x kw kernel
(groups == channels; EfficientNet's and MobileNet's middle layer).  Theano
1.0 runs it as a grouped ``CorrMM``: per channel an im2col copy and a GEMM
with one output row, which is mostly copying.  These Ops walk each channel's
plane directly, one kernel tap at a time, so the inner loop is a contiguous
``out[ox] += w * in[ox + dx]`` that the compiler vectorises; channels are
shared out over threads.  On EfficientNet-Lite0 at 224x224 they make
the whole Fourier step ~1.5x faster (bench/bench_fourier.py, docs/recipes.md).

Shapes: input (batch, channels, rows, cols); filters (channels, 1, kh, kw),
*correlation* filters as stored (no flip); output (batch, channels, rows',
cols').  ``pad`` is "same" (TensorFlow's SAME, worked out from the input
size at run time, so no padded copy is made) or (top, bottom, left, right).
float32 only, as the rest of the project.  The C is c_code/depthwise.c.
"""
import numpy as np

from ..backend import T, thread_budget, theano
from theano.gof import ParamsType
from theano.scalar import int64

from .cop import FileCOp, float4


def _pad_props(pad):
    if pad == "same":
        return "same"
    pad = tuple(int(v) for v in pad)
    if len(pad) != 4 or min(pad) < 0:
        raise ValueError("pad must be 'same' or (top, bottom, left, right) >= 0; got %r"
                         % (pad,))
    return pad


def _float4(v, what):
    return float4(v, "depthwise correlation", what)


class _Depthwise(FileCOp):
    """What the three Ops share: stride and padding, and the C entry point
    ``depthwise`` in c_code/depthwise.c, told the direction.

    Stride, padding and direction reach the C code as run-time parameters,
    so one compiled module serves every layer (compiling is the slow part).
    """
    __props__ = ("stride", "pad")
    params_type = ParamsType(**{k: int64 for k in ("direction", "sy", "sx", "same", "pt", "pb",
                                                   "pl", "pr", "threads")})
    threaded = True
    c_file, c_function = "depthwise.c", "depthwise"
    _cop_num_inputs = 3   # the forward Op passes no sizes: NULL
    direction = None

    def __init__(self, stride=(1, 1), pad="same"):
        super().__init__()
        self.stride = tuple(int(s) for s in stride)
        if len(self.stride) != 2 or min(self.stride) < 1:
            raise ValueError("stride must be two integers >= 1; got %r" % (stride,))
        self.pad = _pad_props(pad)
        self.sy, self.sx = self.stride
        self.same = int(self.pad == "same")
        self.pt, self.pb, self.pl, self.pr = (0, 0, 0, 0) if self.same else self.pad
        self.threads = thread_budget()

    def out_length(self, n, k, axis):
        """Output length along ``axis`` (0 rows, 1 cols) for input length n, kernel k."""
        s = self.stride[axis]
        if self.pad == "same":
            return (n + s - 1) // s
        return T.maximum((n + self.pad[2 * axis] + self.pad[2 * axis + 1] - k) // s + 1, 0)


def _output_type(leading):
    """float32 4-D with the given (batch, channels) broadcastable flags; the
    spatial sizes change, so they are never marked broadcastable."""
    return T.TensorType("float32", tuple(leading) + (False, False))()


class DepthwiseCorr(_Depthwise):
    """(x (batch, C, rows, cols), w (C, 1, kh, kw)) -> (batch, C, rows', cols')."""
    direction = 0

    def make_node(self, x, w):
        x, w = _float4(x, "the input"), _float4(w, "the filters")
        return theano.Apply(self, [x, w], [_output_type(x.broadcastable[:2])])

    def infer_shape(self, node, shapes):
        (b, c, rows, cols), (_, _, kh, kw) = shapes
        return [(b, c, self.out_length(rows, kh, 0), self.out_length(cols, kw, 1))]

    def grad(self, inputs, output_grads):
        x, w = inputs
        (gz,) = output_grads
        return [DepthwiseCorrGradInputs(self.stride, self.pad)(w, gz, x.shape[2:]),
                DepthwiseCorrGradWeights(self.stride, self.pad)(x, gz, w.shape[2:])]


class _DepthwiseGrad(_Depthwise):
    """A gradient Op: (a 4-D tensor, the output gradient gz, a 2-vector of
    sizes) -> a 4-D tensor; the C code checks that they fit."""
    first = None      # what the first input is, for errors

    def make_node(self, first, gz, sizes):
        first, gz = _float4(first, self.first), _float4(gz, "the output gradient")
        sizes = T.as_tensor_variable(sizes).astype("int64")
        if sizes.ndim != 1:
            raise TypeError("depthwise correlation: sizes must be a vector (rows, cols)")
        # d/dx keeps gz's (batch, channels) flags; d/dw is (channels, 1, kh, kw), as the filters
        leading = gz.broadcastable[:2] if self.direction == 1 else (False, False)
        return theano.Apply(self, [first, gz, sizes], [_output_type(leading)])

    def grad(self, inputs, output_grads):
        from theano.gradient import grad_not_implemented
        return [grad_not_implemented(self, i, inputs[i]) for i in range(3)]


class DepthwiseCorrGradInputs(_DepthwiseGrad):
    """(w (C, 1, kh, kw), gz (batch, C, rows', cols'), input (rows, cols)) -> d/dx."""
    direction = 1
    first = "the filters"

    def infer_shape(self, node, shapes):
        b, c = shapes[1][:2]
        size = node.inputs[2]
        return [(b, c, size[0], size[1])]


class DepthwiseCorrGradWeights(_DepthwiseGrad):
    """(x (batch, C, rows, cols), gz (batch, C, rows', cols'), (kh, kw)) -> d/dw (C, 1, kh, kw)."""
    direction = 2
    first = "the input"

    def infer_shape(self, node, shapes):
        kernel = node.inputs[2]
        return [(shapes[0][1], 1, kernel[0], kernel[1])]


def depthwise_corr(x, w, stride=(1, 1), pad="same"):
    """Symbolic depthwise correlation of x (batch, C, rows, cols) with w (C, 1, kh, kw)."""
    return DepthwiseCorr(stride, pad)(x, w)


def reference(x, w, stride=(1, 1), pad="same"):
    """numpy depthwise correlation, for the tests: same arguments, arrays in and out."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    kh, kw = w.shape[2:]
    pads = []
    for axis, (n, k) in enumerate(zip(x.shape[2:], (kh, kw))):
        s = stride[axis]
        if pad == "same":
            total = max(((n + s - 1) // s - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append(tuple(pad[2 * axis:2 * axis + 2]))
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    rows = (xp.shape[2] - kh) // stride[0] + 1
    cols = (xp.shape[3] - kw) // stride[1] + 1
    out = np.zeros(x.shape[:2] + (rows, cols))
    for dy in range(kh):
        for dx in range(kw):
            window = xp[:, :, dy:dy + stride[0] * (rows - 1) + 1:stride[0],
                        dx:dx + stride[1] * (cols - 1) + 1:stride[1]]
            out += window * w[None, :, 0, dy, dx, None, None]
    return out.astype(np.float32)

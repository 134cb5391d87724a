"""Max-pooling with Caffe's windows, and its gradient by either tie rule, as Theano C Ops.

Where a window holds its maximum more than once, the gradient can go

* ``"argmax"``: whole to one pixel, the first in row-major order to raise
  the running max from -FLT_MAX by a strict ``>``.  Caffe's ``PoolingLayer``
  (src/caffe/layers/pooling_layer.cpp: Forward_cpu keeps that index in
  ``max_idx_``, Backward_cpu adds the top gradient there), so the rule of
  every model converted from Caffe, whose DeepDream pictures pycaffe made;
* ``"every"``: to every pixel equal to the max, as Theano's ``MaxPoolGrad``
  (theano/tensor/signal/pool.py) and so Lasagne on a CPU.

GoogLeNet ties by construction: each ``inception_*/pool`` is a 3x3 stride-1
pool over an overlapping 3x3 stride-2 pool's output, in which one value is
often the max of two neighbouring windows.  There, at ``inception_4c/output``
of BVLC's GoogLeNet with random weights at 224x224, DeepDream's gradient
under "every" differs from Caffe's by a relative L2 of 0.40.

Windows and output size are Caffe's (pooling_layer.cpp, Reshape and
Forward_cpu): ceil or floor rounding, a last window starting in the padding
dropped when the layer pads either axis, each window clipped to the image.
With floor rounding and no padding this is Lasagne's ``ignore_border=True``
pooling too.  The C is c_code/maxpool.c.

Shapes: x (batch, C, rows, cols) float32 -> (batch, C, rows', cols').
"""
from theano.gof import ParamsType
from theano.gradient import grad_not_implemented
from theano.scalar import int64

from ..backend import T, thread_budget, theano
from ..nets.weights import POOL_TIES
from .cop import FileCOp, float4


def pooled_length(n, kernel, stride, pad, ceil=True, any_pad=None):
    """Caffe's pooled length of an axis of ``n`` (an int or symbolic):
    (n + 2 pad - kernel) / stride rounded up (``ceil``) or down, plus one,
    less one where the last window would start in the bottom/right padding,
    a check Caffe makes on both axes when the layer pads either
    (``any_pad``; default: this axis's ``pad``)."""
    span = n + 2 * pad - kernel
    out = (span + stride - 1 if ceil else span) // stride + 1
    if pad if any_pad is None else any_pad:
        out = out - ((out - 1) * stride >= n + pad)
    return out


class _MaxPool(FileCOp):
    """The pool and its gradient: one C entry point, told which by ``backward``."""
    __props__ = ("kernel", "stride", "pad", "ceil")
    params_type = ParamsType(**{k: int64 for k in ("backward", "kh", "kw", "sh", "sw", "ph",
                                                   "pw", "ceil", "argmax", "threads")})
    c_file, c_function = "maxpool.c", "maxpool"
    threaded = True
    c_helpers = ("pool_arrays.c",)
    _cop_num_inputs = 3   # the pool has no z and gz: NULL
    backward = None
    argmax = 0

    def __init__(self, kernel, stride, pad=(0, 0), ceil=True):
        super().__init__()
        self.kernel, self.stride, self.pad = (tuple(int(v) for v in a)
                                              for a in (kernel, stride, pad))
        if (len(self.kernel) != 2 or len(self.stride) != 2 or len(self.pad) != 2
                or min(self.kernel + self.stride) < 1 or min(self.pad) < 0):
            raise ValueError("max-pool: kernel and stride must be two integers >= 1 and "
                             "pad two integers >= 0; got %r, %r, %r" % (kernel, stride, pad))
        self.ceil = int(bool(ceil))
        (self.kh, self.kw), (self.sh, self.sw), (self.ph, self.pw) = (
            self.kernel, self.stride, self.pad)
        self.threads = thread_budget()

    def c_headers(self):
        return super().c_headers() + ["<float.h>"]

    def out_shape(self, shape):
        b, c, rows, cols = shape
        any_pad = bool(self.ph or self.pw)
        return (b, c) + tuple(T.maximum(pooled_length(n, k, s, p, self.ceil, any_pad), 0)
                              for n, k, s, p in zip((rows, cols), self.kernel, self.stride,
                                                    self.pad))


class MaxPool(_MaxPool):
    """x (batch, C, rows, cols) -> the max of each window, (batch, C, rows', cols').

    ``ties`` names the gradient's rule (one of POOL_TIES); the values do not
    depend on it."""
    __props__ = _MaxPool.__props__ + ("ties",)
    backward = 0

    def __init__(self, kernel, stride, pad=(0, 0), ceil=True, ties="argmax"):
        super().__init__(kernel, stride, pad, ceil)
        if ties not in POOL_TIES:
            raise ValueError("max-pool ties must be one of %s, not %r"
                             % (", ".join(POOL_TIES), ties))
        self.ties = ties

    def make_node(self, x):
        x = float4(x, "max-pool", "the input")
        out = T.TensorType("float32", x.broadcastable[:2] + (False, False))()
        return theano.Apply(self, [x], [out])

    def infer_shape(self, node, shapes):
        return [self.out_shape(shapes[0])]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        grad = MaxPoolGrad(self.kernel, self.stride, self.pad, self.ceil,
                           self.ties == "argmax")
        return [grad(x, self(x), gz)]


class MaxPoolGrad(_MaxPool):
    """(x, z = the pool of x, gz = d/dz) -> d/dx, shaped as x; ``argmax``
    true: Caffe's rule, false: every tied maximum (z is read only then)."""
    __props__ = _MaxPool.__props__ + ("argmax",)
    backward = 1

    def __init__(self, kernel, stride, pad=(0, 0), ceil=True, argmax=True):
        super().__init__(kernel, stride, pad, ceil)
        self.argmax = int(bool(argmax))

    def make_node(self, x, z, gz):
        x = float4(x, "max-pool gradient", "the input")
        z = float4(z, "max-pool gradient", "the pooled values")
        gz = float4(gz, "max-pool gradient", "their gradient")
        return theano.Apply(self, [x, z, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        # DeepDream and the 2015 recipe take first derivatives only
        return [grad_not_implemented(self, i, v) for i, v in enumerate(inputs)]


def max_pool(x, kernel, stride, pad=(0, 0), ceil=True, ties="argmax"):
    """Symbolic max-pool of x (batch, C, rows, cols) with Caffe's windows; the
    gradient by ``ties`` (one of POOL_TIES)."""
    return MaxPool(kernel, stride, pad, ceil, ties)(x)

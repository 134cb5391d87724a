"""2x2 max-pooling with stride 2 and its gradient as Theano C Ops.

VGG-16's five pools are all 2x2, stride 2, no padding, the border remainder
dropped (Lasagne's ``Pool2DLayer(ignore_border=True)``).  Theano's
``MaxPoolGrad`` handles any window with a generic loop that looks every
pixel up through ``PyArray_GETPTR4``: 0.49 s of a 9.2 s VGG-16 step at
840x472, 0.33 s of it in the first pool alone (Theano's profiler).  These
Ops do the one case in a pass each and give bit for bit Theano's results,
ties included (the gradient goes to every pixel equal to the max).  The C
is c_code/maxpool2.c.

Shapes: x (batch, C, rows, cols) float32 -> (batch, C, rows // 2, cols // 2).
"""
from theano.gof import ParamsType
from theano.scalar import int64
from theano.tensor.signal import pool

from ..backend import T, thread_budget, theano
from .cop import FileCOp, float4

_WINDOW = ((2, 2), (2, 2), (0, 0))   # ws, stride, pad, as Theano's pool Ops take them


class _MaxPool2(FileCOp):
    """The pool and its gradient: one C entry point, told which by ``backward``."""
    __props__ = ()
    params_type = ParamsType(backward=int64, threads=int64)
    c_file, c_function = "maxpool2.c", "maxpool2"
    threaded = True
    c_helpers = ("pool_arrays.c",)
    _cop_num_inputs = 3   # the pool has no z and gz: NULL
    backward = None

    def __init__(self):
        super().__init__()
        self.threads = thread_budget()


class MaxPool2(_MaxPool2):
    """x (batch, C, rows, cols) -> (batch, C, rows // 2, cols // 2), max of each 2x2 block."""
    backward = 0

    def make_node(self, x):
        x = float4(x, "2x2 max-pool", "the input")
        return theano.Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        (b, c, rows, cols), = shapes
        return [(b, c, rows // 2, cols // 2)]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [MaxPool2Grad()(x, self(x), gz)]


class MaxPool2Grad(_MaxPool2):
    """(x, z = the pool of x, gz = d/dz) -> d/dx, shaped as x."""
    backward = 1

    def make_node(self, x, z, gz):
        x = float4(x, "2x2 max-pool gradient", "the input")
        z = float4(z, "2x2 max-pool gradient", "the pooled values")
        gz = float4(gz, "2x2 max-pool gradient", "their gradient")
        return theano.Apply(self, [x, z, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        # as Theano's MaxPoolGrad: linear in gz, piecewise constant in x and z
        x, z, gz = inputs
        (gg,) = output_grads
        ggz = pool.DownsampleFactorMaxGradGrad(ignore_border=True, ndim=2)(
            x, z, gg, *[T.as_tensor_variable(v) for v in _WINDOW])
        return [T.zeros_like(x), T.zeros_like(z), ggz]


def applies(size, stride, pad, ignore_border, mode, dtype="float32"):
    """Whether a pool layer's settings are the one case these Ops do (float32 only)."""
    return (tuple(size) == (2, 2) and tuple(stride) == (2, 2) and tuple(pad) == (0, 0)
            and ignore_border and mode == "max" and dtype == "float32")


def max_pool2(x):
    """Symbolic 2x2, stride-2 max-pool of x (batch, C, rows, cols)."""
    return MaxPool2()(x)

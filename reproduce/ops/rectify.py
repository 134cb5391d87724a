"""The ReLU of the 2015 nets as Theano C Ops: Theano's arithmetic on several cores.

Lasagne 0.1's ``rectify`` is Theano 1.0's ``T.nnet.relu``, ``0.5 * (x +
abs(x))``, whose gradient Theano fuses into one Elemwise, ``(0.5 gz) +
(0.5 gz sgn(x))``.  Theano runs Elemwise on one core (our backend leaves
its OpenMP off, which would put CorrMM on one core at batch size 1): the
ReLUs and their gradients were 0.27 s of a 4.5 s VGG-16 step at 840x472
(Theano's profiler).  These Ops evaluate the same float32 expressions,
so they give bit for bit Theano's values (``tests/ops/test_rectify.py``,
NaN, infinities, -0 and subnormals included: note the gradient at
exactly 0 is 0.5 gz, and a huge x overflows to inf), with the elements
shared out over threads.  The C is c_code/rectify.c.

Shapes: any float32 tensor -> the same shape.
"""
from theano.gof import ParamsType
from theano.scalar import int64

from ..backend import T, thread_budget, theano
from .cop import FileCOp


def _float32(v, what):
    v = T.as_tensor_variable(v)
    if v.dtype != "float32":
        raise TypeError("rectify: %s must be float32, got %s" % (what, v.type))
    return v


class _Rectify(FileCOp):
    """ReLU and its gradient: one C entry point, told which by whether gz is there."""
    __props__ = ()
    params_type = ParamsType(threads=int64)
    c_file, c_function = "rectify.c", "rectify"
    threaded = True
    _cop_num_inputs = 2   # the forward Op has no gz: NULL

    def __init__(self):
        super().__init__()
        self.threads = thread_budget()

    def c_headers(self):
        return super().c_headers() + ["<math.h>"]


class Rectify(_Rectify):
    """x -> 0.5 * (x + |x|), shaped as x."""

    def make_node(self, x):
        x = _float32(x, "the input")
        return theano.Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [RectifyGrad()(x, gz)]


class RectifyGrad(_Rectify):
    """(x, gz = d/d relu(x)) -> d/dx, shaped as x."""

    def make_node(self, x, gz):
        x, gz = _float32(x, "the input"), _float32(gz, "its gradient")
        if x.ndim != gz.ndim:
            raise TypeError("rectify gradient: the input is %d-D, its gradient %d-D"
                            % (x.ndim, gz.ndim))
        return theano.Apply(self, [x, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        # linear in gz; piecewise constant in x (Theano's sgn has zero gradient)
        x, gz = inputs
        (gg,) = output_grads
        return [T.zeros_like(x), RectifyGrad()(x, gg)]


def rectify(x):
    """Symbolic ReLU, as Lasagne 0.1's ``rectify``: our Op for float32, Theano's otherwise."""
    x = T.as_tensor_variable(x)
    return Rectify()(x) if x.dtype == "float32" else T.nnet.relu(x)

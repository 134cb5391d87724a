"""ReLU6, min(max(x, 0), 6), as a Theano scalar Op (EfficientNet's and MobileNet's nonlinearity).

Its C is one expression that Theano's Elemwise inlines into its loop, as
for Theano's own scalar Ops, so it stays here rather than in c_code/.
"""
import numpy as np

from ..backend import T, theano


class _ScalarReLU6(theano.scalar.UnaryScalarOp):
    """min(max(x, 0), 6) without branches.

    ``T.clip`` compiles to nested ``?:`` that the compiler left as
    branches: it was the largest single op of the Fourier step on
    EfficientNet-Lite0, 0.56 ms a call over 33 calls; written as two
    one-sided comparisons it takes 0.03 ms (Theano's profiler, same step).
    ``fminf``/``fmaxf`` were slower still: calls into libm.  The gradient is
    clip's: gz where 0 <= x <= 6.
    """

    def impl(self, x):
        return np.clip(x, 0, 6).astype(np.asarray(x).dtype)

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [((x >= 0) & (x <= 6)) * gz]

    def c_code(self, node, name, inputs, outputs, sub):
        (x,), (z,) = inputs, outputs
        if node.inputs[0].type.dtype not in ("float32", "float64"):
            raise NotImplementedError("relu6 is for float32 and float64")
        # one comparison each way; a NaN fails both and stays NaN, as with clip
        return "{ %(t)s lo = %(x)s < 0 ? 0 : %(x)s; %(z)s = lo > 6 ? 6 : lo; }" % dict(
            t=node.inputs[0].type.dtype_specs()[1], x=x, z=z)

    def c_code_cache_version(self):
        return (3,) + super().c_code_cache_version()


relu6 = T.elemwise.Elemwise(_ScalarReLU6(theano.scalar.upgrade_to_float, name="relu6"),
                            name="relu6")

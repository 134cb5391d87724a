"""Weighted gather, the sampling step of a resampling transform, as Theano C Ops.

A bilinear rotation (``transforms.Rotate``) reads each output pixel as a
weighted sum of 4 source pixels.  Written with Theano's advanced indexing
its gradient is an ``AdvancedIncSubtensor1``: 8.6 ms a step on the Fourier
recipe at 224x224, 10% of the step (Theano's profiler).  These two Ops do
the gather and its transpose, the scatter-add, in one pass each: forward +
gradient of a 244x244 rotation 9.4 -> 2.4 ms.

Shapes: x (channels, n) float32, the flattened planes; index (k, m) int64
into 0..n-1 and weight (k, m) float32, the k taps of each of m outputs;
y (channels, m) = sum over taps of weight * x[:, index].  The C is
c_code/gather.c.
"""
from theano.gof import ParamsType
from theano.scalar import int64

from ..backend import T, theano
from .cop import FileCOp


class _WeightedOp(FileCOp):
    """The gather and the scatter: one C entry point, told which by ``scatter``."""
    __props__ = ()
    params_type = ParamsType(scatter=int64)
    c_file, c_function = "gather.c", "weighted_gather"
    _cop_num_inputs = 4   # the gather has no count: NULL
    scatter = None

    def _checked(self, values, index, weight):
        values = T.as_tensor_variable(values)
        index, weight = T.as_tensor_variable(index), T.as_tensor_variable(weight)
        if values.type != T.fmatrix or weight.type != T.fmatrix or index.type != T.lmatrix:
            raise TypeError("weighted gather: want float32 values and weights and int64 "
                            "indices, all 2-D; got %s, %s, %s"
                            % (values.type, index.type, weight.type))
        return values, index, weight


class WeightedGather(_WeightedOp):
    """(x (channels, n), index (k, m), weight (k, m)) -> y (channels, m)."""
    scatter = 0

    def make_node(self, x, index, weight):
        x, index, weight = self._checked(x, index, weight)
        return theano.Apply(self, [x, index, weight], [T.fmatrix()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], shapes[1][1])]

    def grad(self, inputs, output_grads):
        from theano.gradient import grad_not_implemented, grad_undefined
        x, index, weight = inputs
        return [WeightedScatter()(output_grads[0], index, weight, x.shape[1]),
                grad_undefined(self, 1, index),
                grad_not_implemented(self, 2, weight, "the weights are data")]


class WeightedScatter(_WeightedOp):
    """The transpose of WeightedGather: (g (channels, m), index, weight, n) ->
    (channels, n), g's values added at their taps' sources."""
    scatter = 1

    def make_node(self, g, index, weight, n):
        g, index, weight = self._checked(g, index, weight)
        n = T.as_tensor_variable(n).astype("int64")
        return theano.Apply(self, [g, index, weight, n], [T.fmatrix()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], node.inputs[3])]

    def grad(self, inputs, output_grads):
        from theano.gradient import grad_not_implemented
        return [grad_not_implemented(self, i, inputs[i]) for i in range(4)]


def weighted_gather(x, index, weight):
    """Symbolic y (channels, m) = sum over taps t of weight[t] * x[:, index[t]]."""
    return WeightedGather()(x, index, weight)

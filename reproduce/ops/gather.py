"""Weighted gather, the sampling step of a resampling transform, as Theano C Ops.

A bilinear rotation (``transforms.Rotate``) reads each output pixel as a
weighted sum of 4 source pixels.  Written with Theano's advanced indexing
its gradient is an ``AdvancedIncSubtensor1``: 8.6 ms a step on the Fourier
recipe at 224x224, 10% of the step (Theano's profiler).  These two Ops do
the gather and its transpose, the scatter-add, in one pass each: forward +
gradient of a 244x244 rotation 9.4 -> 2.4 ms.

Shapes: x (channels, n) float32, the flattened planes; index (k, m) int64
into 0..n-1 and weight (k, m) float32, the k taps of each of m outputs;
y (channels, m) = sum over taps of weight * x[:, index].
"""
from ..backend import T, theano

_C_SUPPORT = r"""
/* 0 if every index lies in [0, n), else the first bad one's position + 1 */
static npy_intp wg_bad_index(const npy_int64 *index, npy_intp count, npy_intp n)
{
    for (npy_intp i = 0; i < count; ++i)
        if (index[i] < 0 || index[i] >= n) return i + 1;
    return 0;
}
"""

# x, index, weight and out are C-contiguous; %(loop)s does the work with
# channels, n, k, m in scope.
_C_CODE = r"""
{
    PyArrayObject *values = PyArray_GETCONTIGUOUS(%(values)s);
    PyArrayObject *index = PyArray_GETCONTIGUOUS(%(index)s);
    PyArrayObject *weight = PyArray_GETCONTIGUOUS(%(weight)s);
    npy_intp k = 0, m = 0, channels = 0, n = 0, bad = 0;
    npy_intp dims[2];
    int failed = values == NULL || index == NULL || weight == NULL;  /* numpy set the error */
    if (!failed) {
        k = PyArray_DIMS(index)[0]; m = PyArray_DIMS(index)[1];
        channels = PyArray_DIMS(values)[0]; n = %(n)s;
        dims[0] = channels; dims[1] = %(out_cols)s;
    }
    if (failed) {
    } else if (PyArray_DIMS(weight)[0] != k || PyArray_DIMS(weight)[1] != m
            || PyArray_DIMS(values)[1] != %(values_cols)s) {
        PyErr_Format(PyExc_ValueError, "weighted gather: index (%%ld, %%ld), weight "
                     "(%%ld, %%ld) and values (%%ld, %%ld) do not fit", (long)k, (long)m,
                     (long)PyArray_DIMS(weight)[0], (long)PyArray_DIMS(weight)[1],
                     (long)channels, (long)PyArray_DIMS(values)[1]);
        failed = 1;
    } else if ((bad = wg_bad_index((npy_int64 *)PyArray_DATA(index), k * m, n))) {
        PyErr_Format(PyExc_IndexError, "weighted gather: index %%ld out of 0..%%ld",
                     (long)((npy_int64 *)PyArray_DATA(index))[bad - 1], (long)n - 1);
        failed = 1;
    } else if (!(%(out)s && PyArray_IS_C_CONTIGUOUS(%(out)s)
                 && PyArray_DIMS(%(out)s)[0] == dims[0]
                 && PyArray_DIMS(%(out)s)[1] == dims[1])) {
        Py_XDECREF(%(out)s);
        %(out)s = (PyArrayObject *)PyArray_EMPTY(2, dims, NPY_FLOAT32, 0);
        failed = %(out)s == NULL;
    }
    if (!failed) {
        const float *v = (const float *)PyArray_DATA(values);
        const npy_int64 *ix = (const npy_int64 *)PyArray_DATA(index);
        const float *w = (const float *)PyArray_DATA(weight);
        float *o = (float *)PyArray_DATA(%(out)s);
        %(loop)s
    }
    Py_XDECREF(values);
    Py_XDECREF(index);
    Py_XDECREF(weight);
    if (failed) %(fail)s
}
"""

# Per channel: clear the output row, then add every tap.  ``accumulate``
# is the gather's oc[j] += w * vc[source] or the scatter's oc[source] += w * vc[j].
_LOOP = r"""
        for (npy_intp c = 0; c < channels; ++c) {
            const float *vc = v + c * %(in_len)s;
            float *oc = o + c * %(out_len)s;
            for (npy_intp i = 0; i < %(out_len)s; ++i) oc[i] = 0.f;
            for (npy_intp t = 0; t < k; ++t)
                for (npy_intp j = 0; j < m; ++j) %(accumulate)s;
        }
"""
_GATHER_LOOP = _LOOP % dict(in_len="n", out_len="m",
                            accumulate="oc[j] += w[t * m + j] * vc[ix[t * m + j]]")
_SCATTER_LOOP = _LOOP % dict(in_len="m", out_len="n",
                             accumulate="oc[ix[t * m + j]] += w[t * m + j] * vc[j]")


class _WeightedOp(theano.Op):
    __props__ = ()

    def c_support_code(self):
        return _C_SUPPORT

    def c_code_cache_version(self):
        return (3,)

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

    def c_code(self, node, name, inputs, outputs, sub):
        x, index, weight = inputs
        return _C_CODE % dict(values=x, index=index, weight=weight, out=outputs[0],
                              n="PyArray_DIMS(values)[1]", out_cols="m",
                              values_cols="n", loop=_GATHER_LOOP, fail=sub["fail"])


class WeightedScatter(_WeightedOp):
    """The transpose of WeightedGather: (g (channels, m), index, weight, n) ->
    (channels, n), g's values added at their taps' sources."""

    def make_node(self, g, index, weight, n):
        g, index, weight = self._checked(g, index, weight)
        n = T.as_tensor_variable(n).astype("int64")
        return theano.Apply(self, [g, index, weight, n], [T.fmatrix()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], node.inputs[3])]

    def grad(self, inputs, output_grads):
        from theano.gradient import grad_not_implemented
        return [grad_not_implemented(self, i, inputs[i]) for i in range(4)]

    def c_code(self, node, name, inputs, outputs, sub):
        g, index, weight, n = inputs
        return _C_CODE % dict(values=g, index=index, weight=weight, out=outputs[0],
                              n="((npy_int64 *)PyArray_DATA(%s))[0]" % n, out_cols="n",
                              values_cols="m", loop=_SCATTER_LOOP, fail=sub["fail"])


def weighted_gather(x, index, weight):
    """Symbolic y (channels, m) = sum over taps t of weight[t] * x[:, index[t]]."""
    return WeightedGather()(x, index, weight)

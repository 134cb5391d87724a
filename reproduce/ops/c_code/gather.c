#section support_code

/* Weighted gather and its transpose, the scatter-add.  The Ops are
   reproduce/ops/gather.py; Theano's COp reads this file.
   Entry point: APPLY_SPECIFIC(weighted_gather) at the end. */

/* 0 if every index lies in [0, n), else the first bad one's position + 1 */
static npy_intp wg_bad_index(const npy_int64 *index, npy_intp count, npy_intp n)
{
    for (npy_intp i = 0; i < count; ++i)
        if (index[i] < 0 || index[i] >= n) return i + 1;
    return 0;
}

/* Per channel: clear the output row, then add every tap: the gather's
   oc[j] += w * vc[source] (values (channels, n) -> (channels, m)) or the
   scatter's oc[source] += w * vc[j] ((channels, m) -> (channels, n)).  The
   compiler takes the branch out of the loops. */
static void wg_weighted(int scatter, const float *v, const npy_int64 *ix, const float *w,
                        float *o, npy_intp channels, npy_intp n, npy_intp k, npy_intp m)
{
    npy_intp in_len = scatter ? m : n, out_len = scatter ? n : m;
    for (npy_intp c = 0; c < channels; ++c) {
        const float *vc = v + c * in_len;
        float *oc = o + c * out_len;
        for (npy_intp i = 0; i < out_len; ++i) oc[i] = 0.f;
        for (npy_intp t = 0; t < k; ++t)
            for (npy_intp j = 0; j < m; ++j) {
                npy_intp at = t * m + j;
                if (scatter) oc[ix[at]] += w[at] * vc[j];
                else oc[j] += w[at] * vc[ix[at]];
            }
    }
}

#section support_code_apply

/* params->scatter 0: out (channels, m) = the gather of values (channels, n);
   1: out (channels, n) = the scatter of values (channels, m), with n the
   one-element int64 array ``count`` (NULL for the gather). */
int APPLY_SPECIFIC(weighted_gather)(PyArrayObject *values_in, PyArrayObject *index_in,
                                    PyArrayObject *weight_in, PyArrayObject *count,
                                    PyArrayObject **out, PARAMS_TYPE *params)
{
    int scatter = params->scatter != 0;
    PyArrayObject *values = PyArray_GETCONTIGUOUS(values_in);
    PyArrayObject *index = PyArray_GETCONTIGUOUS(index_in);
    PyArrayObject *weight = PyArray_GETCONTIGUOUS(weight_in);
    npy_intp k = 0, m = 0, channels = 0, n = 0, bad = 0;
    npy_intp dims[2];
    int failed = values == NULL || index == NULL || weight == NULL;  /* numpy set the error */
    if (!failed) {
        k = PyArray_DIMS(index)[0]; m = PyArray_DIMS(index)[1];
        channels = PyArray_DIMS(values)[0];
        n = scatter ? ((npy_int64 *)PyArray_DATA(count))[0] : PyArray_DIMS(values)[1];
        dims[0] = channels; dims[1] = scatter ? n : m;
    }
    if (failed) {
    } else if (PyArray_DIMS(weight)[0] != k || PyArray_DIMS(weight)[1] != m
            || PyArray_DIMS(values)[1] != (scatter ? m : n)) {
        PyErr_Format(PyExc_ValueError, "weighted gather: index (%ld, %ld), weight "
                     "(%ld, %ld) and values (%ld, %ld) do not fit", (long)k, (long)m,
                     (long)PyArray_DIMS(weight)[0], (long)PyArray_DIMS(weight)[1],
                     (long)channels, (long)PyArray_DIMS(values)[1]);
        failed = 1;
    } else if ((bad = wg_bad_index((npy_int64 *)PyArray_DATA(index), k * m, n))) {
        PyErr_Format(PyExc_IndexError, "weighted gather: index %ld out of 0..%ld",
                     (long)((npy_int64 *)PyArray_DATA(index))[bad - 1], (long)n - 1);
        failed = 1;
    } else if (!(*out && PyArray_IS_C_CONTIGUOUS(*out)
                 && PyArray_DIMS(*out)[0] == dims[0] && PyArray_DIMS(*out)[1] == dims[1])) {
        Py_XDECREF(*out);
        *out = (PyArrayObject *)PyArray_EMPTY(2, dims, NPY_FLOAT32, 0);
        failed = *out == NULL;
    }
    if (!failed) {
        const float *v = (const float *)PyArray_DATA(values);
        const npy_int64 *ix = (const npy_int64 *)PyArray_DATA(index);
        const float *w = (const float *)PyArray_DATA(weight);
        float *o = (float *)PyArray_DATA(*out);
        wg_weighted(scatter, v, ix, w, o, channels, n, k, m);
    }
    Py_XDECREF(values);
    Py_XDECREF(index);
    Py_XDECREF(weight);
    return failed;
}

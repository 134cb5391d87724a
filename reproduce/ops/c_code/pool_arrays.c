#section support_code

/* What the max-pool Ops share (c_code/maxpool.c, maxpool2.c; listed in
   their files by reproduce/ops/cop.py).  Guarded: a graph with both
   compiles it once. */
#ifndef REPRODUCE_POOL_ARRAYS
#define REPRODUCE_POOL_ARRAYS

/* The arrays of a pool (backward 0) or of its gradient (1): *out shaped as
   ``pooled`` or as x; *x, and for the gradient *z and *gz, C-contiguous new
   references (the caller drops them).  The gradient's z and gz must have
   the pooled shape.  1 with a Python error set (``op`` names the Op). */
static int reproduce_pool_arrays(const char *op, PyArrayObject *x_in, PyArrayObject *z_in,
                                 PyArrayObject *gz_in, const npy_intp *pooled, int backward,
                                 PyArrayObject **out, PyArrayObject **x, PyArrayObject **z,
                                 PyArrayObject **gz)
{
    const npy_intp *d = PyArray_DIMS(x_in);
    if (backward)
        for (int k = 0; k < 4; ++k)
            if (PyArray_DIMS(z_in)[k] != pooled[k] || PyArray_DIMS(gz_in)[k] != pooled[k]) {
                PyErr_Format(PyExc_ValueError, "%s gradient: input (%ld, %ld, %ld, %ld) "
                             "pools to (%ld, %ld, %ld, %ld), but the pooled values and "
                             "their gradient have other shapes", op, (long)d[0], (long)d[1],
                             (long)d[2], (long)d[3], (long)pooled[0], (long)pooled[1],
                             (long)pooled[2], (long)pooled[3]);
                return 1;
            }
    if (reproduce_output4(out, backward ? d : pooled)) return 1;
    *x = PyArray_GETCONTIGUOUS(x_in);
    if (backward) {
        *z = PyArray_GETCONTIGUOUS(z_in);
        *gz = PyArray_GETCONTIGUOUS(gz_in);
    }
    return *x == NULL || (backward && (*z == NULL || *gz == NULL));
}

#endif

#section support_code

/* What several of our Ops share (reproduce/ops/cop.py lists it first in
   their files).  Guarded: a graph with two such Ops compiles it once. */
#ifndef REPRODUCE_OUTPUT4
#define REPRODUCE_OUTPUT4

/* A C-contiguous float32 array of this 4-D shape in *slot, reusing the old
   one; 1 with a Python error set if it cannot be made. */
static int reproduce_output4(PyArrayObject **slot, const npy_intp *dims)
{
    if (*slot && PyArray_NDIM(*slot) == 4 && PyArray_IS_C_CONTIGUOUS(*slot)
            && PyArray_TYPE(*slot) == NPY_FLOAT32
            && PyArray_DIMS(*slot)[0] == dims[0] && PyArray_DIMS(*slot)[1] == dims[1]
            && PyArray_DIMS(*slot)[2] == dims[2] && PyArray_DIMS(*slot)[3] == dims[3])
        return 0;
    Py_XDECREF(*slot);
    *slot = (PyArrayObject *)PyArray_EMPTY(4, (npy_intp *)dims, NPY_FLOAT32, 0);
    return *slot == NULL;
}

#endif

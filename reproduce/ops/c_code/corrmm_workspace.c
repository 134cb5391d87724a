/* One im2col buffer for every CorrMM in the process; the patch is
   reproduce/ops/corrmm_workspace.py, which puts this function before
   Theano's corr_gemm.c and calls it where CorrMM allocated its own buffer:
       PyArrayObject* col = reproduce_workspace(3, ...)
   Every CorrMM runs with the GIL held, one at a time, so they can share
   it; it is grown to the largest size asked for and never zeroed (im2col
   writes all of it, and the GEMM that fills it for the input gradient has
   beta = 0). */
static PyArrayObject* reproduce_workspace(int nd, npy_intp* dims, int typenum, int fortran)
{
    /* a new reference to an array of at least prod(dims) elements */
    npy_intp need = PyArray_MultiplyList(dims, nd);
    /* borrowed; NULL (nothing kept) if the module is not loaded */
    PyObject* module = PyDict_GetItemString(PyImport_GetModuleDict(),
                                            "reproduce.ops.corrmm_workspace");
    PyObject* held = module ? PyObject_GetAttrString(module, "buffer") : NULL;
    if (held && PyArray_Check(held) && PyArray_TYPE((PyArrayObject*)held) == typenum
            && PyArray_SIZE((PyArrayObject*)held) >= need)
        return (PyArrayObject*)held;
    Py_XDECREF(held);
    PyErr_Clear();
    PyArrayObject* fresh = (PyArrayObject*)PyArray_EMPTY(1, &need, typenum, 0);
    if (fresh && module
            && PyObject_SetAttrString(module, "buffer", (PyObject*)fresh) < 0)
        PyErr_Clear();  /* not kept: this call still has its buffer */
    return fresh;
}

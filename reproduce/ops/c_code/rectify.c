#section support_code

/* The 2015 nets' ReLU, as Theano 1.0 computes it (T.nnet.relu, which
   Lasagne 0.1's rectify calls): 0.5 * (x + |x|), and its gradient as
   Theano derives and fuses it, (0.5 gz) + (0.5 gz sgn(x)) with Theano's
   sgn (scalar/basic.py: 1, -1, NaN for NaN, else 0).  Each value is the
   same float32 expression Theano's Elemwise evaluates, so the results are
   bit for bit Theano's (0.5 gz sgn(x) is exact, so whether the compiler
   fuses the last multiply-add does not matter); the difference is that
   the elements are shared out over threads (threads.c).  The Ops are
   reproduce/ops/rectify.py; entry point APPLY_SPECIFIC(rectify) at the end. */

typedef struct {
    const float *x, *gz;   /* gz: the gradient only */
    float *out;
} rf_job;

static void rf_forward(void *ctx, long first, long last)
{
    const rf_job *j = (const rf_job *)ctx;
    for (long k = first; k < last; ++k) {
        float x = j->x[k], a = fabsf(x), s = x + a;
        j->out[k] = 0.5f * s;
    }
}

static void rf_backward(void *ctx, long first, long last)
{
    const rf_job *j = (const rf_job *)ctx;
    for (long k = first; k < last; ++k) {
        float x = j->x[k], g = j->gz[k];
        float sgn = x > 0 ? 1.f : (x < 0 ? -1.f : (isnan(x) ? NAN : 0.f));
        float a = 0.5f * g, b = 0.5f * g * sgn;
        j->out[k] = a + b;
    }
}

/* *slot: a C-contiguous float32 array shaped like `like`, the old one if it is. */
static int rf_output(PyArrayObject **slot, PyArrayObject *like)
{
    if (*slot && PyArray_IS_C_CONTIGUOUS(*slot) && PyArray_TYPE(*slot) == NPY_FLOAT32
            && PyArray_SAMESHAPE(*slot, like))
        return 0;
    Py_XDECREF(*slot);
    *slot = (PyArrayObject *)PyArray_EMPTY(PyArray_NDIM(like), PyArray_DIMS(like),
                                           NPY_FLOAT32, 0);
    return *slot == NULL;
}

#section support_code_apply

/* gz NULL: out = relu(x); else out = the gradient to x from gz (x's shape). */
int APPLY_SPECIFIC(rectify)(PyArrayObject *x_in, PyArrayObject *gz_in, PyArrayObject **out,
                            PARAMS_TYPE *params)
{
    PyArrayObject *x = NULL, *gz = NULL;
    int bad;
    if (gz_in && !PyArray_SAMESHAPE(x_in, gz_in)) {
        PyErr_Format(PyExc_ValueError, "rectify gradient: the input has %d dimensions and "
                     "%ld elements, its gradient %d and %ld; want the same shape",
                     PyArray_NDIM(x_in), (long)PyArray_SIZE(x_in), PyArray_NDIM(gz_in),
                     (long)PyArray_SIZE(gz_in));
        return 1;
    }
    if (rf_output(out, x_in)) return 1;
    x = PyArray_GETCONTIGUOUS(x_in);
    gz = gz_in ? PyArray_GETCONTIGUOUS(gz_in) : NULL;
    bad = x == NULL || (gz_in && gz == NULL);
    if (!bad) {
        long n = (long)PyArray_SIZE(x);
        rf_job job = {(const float *)PyArray_DATA(x), gz ? (const float *)PyArray_DATA(gz) : NULL,
                      (float *)PyArray_DATA(*out)};
        reproduce_parallel(reproduce_threads_for(params->threads, n), n,
                           gz ? rf_backward : rf_forward, &job);
    }
    Py_XDECREF(x);
    Py_XDECREF(gz);
    return bad;
}

#section support_code

/* 2x2 max-pooling with stride 2, no padding, the border remainder dropped
   (Theano's ignore_border=True), and its gradient.  The Ops are
   reproduce/ops/maxpool2.py; Theano's COp reads this file.  Entry point:
   APPLY_SPECIFIC(maxpool2) at the end.

   Both give bit for bit what Theano's Pool and MaxPoolGrad give
   (theano/tensor/signal/pool.py): the max starts from the window's first
   pixel and takes a later one only if it is greater (so a NaN first pixel
   stays, a later NaN is skipped), and the gradient goes to *every* pixel
   equal to its window's max, as 0 + gz (so a -0 gradient arrives as +0).
   Pixels of the dropped last row or column get 0.  Planes are shared out
   over threads (threads.c). */

typedef struct {
    const float *x, *z, *gz;   /* z and gz: the backward pass only */
    float *out;
    long rows, cols;
} mp2_job;

/* z (planes, rows / 2, cols / 2) = the max of each 2x2 block of x
   (planes, rows, cols), planes first..last-1. */
static void mp2_forward(const float *x, float *z, long first, long last, long rows, long cols)
{
    long zr = rows / 2, zc = cols / 2;
    for (long p = first; p < last; ++p)
        for (long i = 0; i < zr; ++i) {
            const float *a = x + (p * rows + 2 * i) * cols, *b = a + cols;
            float *o = z + (p * zr + i) * zc;
            for (long j = 0; j < zc; ++j) {
                float m = a[2 * j];
                m = a[2 * j + 1] > m ? a[2 * j + 1] : m;
                m = b[2 * j] > m ? b[2 * j] : m;
                m = b[2 * j + 1] > m ? b[2 * j + 1] : m;
                o[j] = m;
            }
        }
}

static void mp2_forward_range(void *ctx, long first, long last)
{
    const mp2_job *j = (const mp2_job *)ctx;
    mp2_forward(j->x, j->out, first, last, j->rows, j->cols);
}

/* gx (planes, rows, cols): gz of the window where x equals the window's
   max z, 0 elsewhere. */
static void mp2_backward(const float *x, const float *z, const float *gz, float *gx,
                         long first, long last, long rows, long cols)
{
    long zr = rows / 2, zc = cols / 2;
    for (long p = first; p < last; ++p) {
        for (long i = 0; i < zr; ++i)
            for (int k = 0; k < 2; ++k) {
                const float *a = x + (p * rows + 2 * i + k) * cols;
                const float *m = z + (p * zr + i) * zc, *g = gz + (p * zr + i) * zc;
                float *o = gx + (p * rows + 2 * i + k) * cols;
                for (long j = 0; j < 2 * zc; ++j)
                    o[j] = a[j] == m[j / 2] ? 0.f + g[j / 2] : 0.f;
                for (long j = 2 * zc; j < cols; ++j) o[j] = 0.f;
            }
        if (rows % 2)
            memset(gx + (p * rows + rows - 1) * cols, 0, sizeof(float) * cols);
    }
}

static void mp2_backward_range(void *ctx, long first, long last)
{
    const mp2_job *j = (const mp2_job *)ctx;
    mp2_backward(j->x, j->z, j->gz, j->out, first, last, j->rows, j->cols);
}

#section support_code_apply

/* params->backward 0: out = the pool of x (batch, C, rows, cols), shape
   (batch, C, rows / 2, cols / 2); z and gz are NULL.  1: out = the
   gradient to x, from z (the pool of x) and gz (its gradient). */
int APPLY_SPECIFIC(maxpool2)(PyArrayObject *x_in, PyArrayObject *z_in, PyArrayObject *gz_in,
                             PyArrayObject **out, PARAMS_TYPE *params)
{
    int backward = params->backward != 0;
    const npy_intp *d = PyArray_DIMS(x_in);
    npy_intp pooled[4] = {d[0], d[1], d[2] / 2, d[3] / 2};
    PyArrayObject *x = NULL, *z = NULL, *gz = NULL;
    int bad = reproduce_pool_arrays("2x2 max-pool", x_in, z_in, gz_in, pooled, backward, out,
                                    &x, &z, &gz);
    if (!bad) {
        long planes = (long)(d[0] * d[1]);
        mp2_job job = {(const float *)PyArray_DATA(x),
                       backward ? (const float *)PyArray_DATA(z) : NULL,
                       backward ? (const float *)PyArray_DATA(gz) : NULL,
                       (float *)PyArray_DATA(*out), (long)d[2], (long)d[3]};
        long threads = reproduce_threads_for(params->threads, planes * (long)(d[2] * d[3]));
        reproduce_parallel(threads, planes, backward ? mp2_backward_range : mp2_forward_range,
                           &job);
    }
    Py_XDECREF(x);
    Py_XDECREF(z);
    Py_XDECREF(gz);
    return bad;
}

#section support_code

/* Max-pooling with any window, stride and padding, Caffe's output size and
   window clipping, and its gradient by one of two rules.  The Ops are
   reproduce/ops/maxpool.py; Theano's COp reads this file.  Entry point:
   APPLY_SPECIFIC(maxpool) at the end.

   The output length along an axis is Caffe's (pooling_layer.cpp, Reshape):
   (n + 2 pad - kernel) / stride, rounded up (ceil) or down, plus one; when
   the layer has padding on either axis, a last window that would start in
   the bottom/right padding is dropped, on both axes.  Window (i, j) covers
   rows i * stride - pad .. + kernel, clipped to the image (Forward_cpu).

   Forward: the max of the window, from -FLT_MAX by a strict '>' in row-major
   order, as Caffe (a NaN is never taken; an empty window gives -FLT_MAX).
   Backward, params->argmax 1 (Caffe's rule): the window's gradient goes
   whole to its argmax, the first pixel in that scan that raised the max,
   found again here exactly as the forward scan found it (Caffe keeps it in
   max_idx_); 0 (Theano's MaxPoolGrad): to every pixel of the window equal
   to its max z.  Overlapping windows add up.  Planes are shared out over
   threads (threads.c). */

typedef struct {
    const float *x, *z, *gz;   /* z and gz: the backward pass only */
    float *out;
    long rows, cols, out_rows, out_cols;
    long kh, kw, sh, sw, ph, pw;
    int argmax;
} mp_job;

static long mp_floor_div(long a, long b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Caffe's pooled length of an axis of n pixels. */
static long mp_length(long n, long k, long s, long p, int ceil_mode, int any_pad)
{
    long span = n + 2 * p - k;
    long out = (ceil_mode ? mp_floor_div(span + s - 1, s) : mp_floor_div(span, s)) + 1;
    if (any_pad && (out - 1) * s >= n + p) --out;
    return out < 0 ? 0 : out;
}

/* The window of output (i, j), clipped to the image: [*h0, *h1) x [*w0, *w1). */
static void mp_window(const mp_job *j, long i, long jj, long *h0, long *h1, long *w0, long *w1)
{
    long hs = i * j->sh - j->ph, ws = jj * j->sw - j->pw;
    *h1 = hs + j->kh < j->rows ? hs + j->kh : j->rows;
    *w1 = ws + j->kw < j->cols ? ws + j->kw : j->cols;
    *h0 = hs > 0 ? hs : 0;
    *w0 = ws > 0 ? ws : 0;
}

/* Caffe's scan of one window of plane a: the max, and *at its index (-1: none). */
static float mp_scan(const mp_job *j, const float *a, long i, long jj, long *at)
{
    long h0, h1, w0, w1;
    float m = -FLT_MAX;
    mp_window(j, i, jj, &h0, &h1, &w0, &w1);
    *at = -1;
    for (long h = h0; h < h1; ++h)
        for (long w = w0; w < w1; ++w)
            if (a[h * j->cols + w] > m) {
                m = a[h * j->cols + w];
                *at = h * j->cols + w;
            }
    return m;
}

static void mp_forward_range(void *ctx, long first, long last)
{
    const mp_job *j = (const mp_job *)ctx;
    long plane = j->rows * j->cols, pooled = j->out_rows * j->out_cols, at;
    for (long p = first; p < last; ++p) {
        const float *a = j->x + p * plane;
        float *o = j->out + p * pooled;
        for (long i = 0; i < j->out_rows; ++i)
            for (long jj = 0; jj < j->out_cols; ++jj)
                o[i * j->out_cols + jj] = mp_scan(j, a, i, jj, &at);
    }
}

static void mp_backward_range(void *ctx, long first, long last)
{
    const mp_job *j = (const mp_job *)ctx;
    long plane = j->rows * j->cols, pooled = j->out_rows * j->out_cols, at;
    for (long p = first; p < last; ++p) {
        const float *a = j->x + p * plane;
        const float *z = j->z + p * pooled, *g = j->gz + p * pooled;
        float *o = j->out + p * plane;
        memset(o, 0, sizeof(float) * plane);
        for (long i = 0; i < j->out_rows; ++i)
            for (long jj = 0; jj < j->out_cols; ++jj) {
                long k = i * j->out_cols + jj;
                if (j->argmax) {
                    mp_scan(j, a, i, jj, &at);
                    if (at >= 0) o[at] += g[k];
                } else {
                    long h0, h1, w0, w1;
                    mp_window(j, i, jj, &h0, &h1, &w0, &w1);
                    for (long h = h0; h < h1; ++h)
                        for (long w = w0; w < w1; ++w)
                            if (a[h * j->cols + w] == z[k]) o[h * j->cols + w] += g[k];
                }
            }
    }
}

#section support_code_apply

/* params->backward 0: out = the pool of x (batch, C, rows, cols); z and gz
   are NULL.  1: out = the gradient to x, shaped as x, from z (the pool of
   x) and gz (its gradient). */
int APPLY_SPECIFIC(maxpool)(PyArrayObject *x_in, PyArrayObject *z_in, PyArrayObject *gz_in,
                            PyArrayObject **out, PARAMS_TYPE *params)
{
    int backward = params->backward != 0;
    const npy_intp *d = PyArray_DIMS(x_in);
    int any_pad = params->ph != 0 || params->pw != 0;
    mp_job job = {NULL, NULL, NULL, NULL, (long)d[2], (long)d[3], 0, 0,
                  (long)params->kh, (long)params->kw, (long)params->sh, (long)params->sw,
                  (long)params->ph, (long)params->pw, params->argmax != 0};
    npy_intp pooled[4];
    PyArrayObject *x = NULL, *z = NULL, *gz = NULL;
    int bad;
    job.out_rows = mp_length(job.rows, job.kh, job.sh, job.ph, params->ceil != 0, any_pad);
    job.out_cols = mp_length(job.cols, job.kw, job.sw, job.pw, params->ceil != 0, any_pad);
    pooled[0] = d[0]; pooled[1] = d[1]; pooled[2] = job.out_rows; pooled[3] = job.out_cols;
    bad = reproduce_pool_arrays("max-pool", x_in, z_in, gz_in, pooled, backward, out,
                                &x, &z, &gz);
    if (!bad) {
        long planes = (long)(d[0] * d[1]);
        job.x = (const float *)PyArray_DATA(x);
        job.z = backward ? (const float *)PyArray_DATA(z) : NULL;
        job.gz = backward ? (const float *)PyArray_DATA(gz) : NULL;
        job.out = (float *)PyArray_DATA(*out);
        long threads = reproduce_threads_for(params->threads,
                                             planes * job.rows * job.cols * job.kh);
        reproduce_parallel(threads, planes, backward ? mp_backward_range : mp_forward_range,
                           &job);
    }
    Py_XDECREF(x);
    Py_XDECREF(z);
    Py_XDECREF(gz);
    return bad;
}

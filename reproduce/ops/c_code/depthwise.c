#section support_code

/* Depthwise correlation: forward, gradient to the input, to the filters.
   The Ops are reproduce/ops/depthwise.py; Theano's COp reads this file.
   Entry point: APPLY_SPECIFIC(depthwise) at the end. */
/* Output length and the padding before, for one axis. */
static void dw_axis(long n, long k, long s, int same, long before, long after,
                    long *pad, long *out)
{
    if (same) {
        long o = (n + s - 1) / s;
        long total = (o - 1) * s + k - n;
        *pad = total > 0 ? total / 2 : 0;
        *out = o;
    } else {
        long span = n + before + after - k;
        *pad = before;
        *out = span < 0 ? 0 : span / s + 1;   /* C rounds -1 / 2 to 0, not -1 */
    }
}

/* The outputs o in [lo, hi) whose tap d (0 <= d < k) reads an input index
   o * s + d - pad inside [0, n). */
static void dw_span(long d, long pad, long s, long n, long n_out, long *lo, long *hi)
{
    long a = pad - d, b = n - 1 - d + pad;
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = b < 0 ? 0 : b / s + 1;
    if (*hi > n_out) *hi = n_out;
    if (*lo > *hi) *lo = *hi;
}

typedef struct {
    long batch, channels, rows, cols, kh, kw, out_rows, out_cols, sy, sx, py, px;
} dw_geometry;

/* A zero-padded (and, for u > 1, zero-upsampled) copy of the plane src
   (rows x cols) in the buffer: position (r, c) of the (ph x pw) buffer holds
   src[i][j] where r = top + i * uy and c = left + j * ux, else 0.  Columns are
   split into sx phases so that a column stride of sx reads contiguously:
   (r, c) is stored at q[(c % sx) * ph * qw + r * qw + c / sx].  Either ux
   or sx is 1. */
static void dw_fill(const float *src, long rows, long cols, long uy, long ux,
                    long top, long left, float *q, long ph, long pw, long sx, long qw)
{
    long qplane = ph * qw;
    memset(q, 0, sizeof(float) * sx * qplane);
    for (long i = 0; i < rows; ++i) {
        long r = top + i * uy;
        if (r < 0 || r >= ph) continue;
        const float *s = src + i * cols;
        float *row = q + r * qw;
        if (sx == 1 && ux == 1) {
            long j0 = left < 0 ? -left : 0, j1 = pw - left < cols ? pw - left : cols;
            if (j1 > j0) memcpy(row + left + j0, s + j0, sizeof(float) * (j1 - j0));
            continue;
        }
        if (ux == 1) {          /* phase f holds columns f, f + sx, ... */
            for (long f = 0; f < sx; ++f) {
                float *dst = row + f * qplane;
                for (long m = 0, j = f - left; j - f + left < pw; ++m, j += sx)
                    if (j >= 0 && j < cols) dst[m] = s[j];
            }
        } else {                /* upsampling: sx is 1 (see dw_run) */
            for (long j = 0; j < cols; ++j) {
                long c = left + j * ux;
                if (c >= 0 && c < pw) row[c] = s[j];
            }
        }
    }
}

/* out (oh x ow) = correlation of the buffer's padded plane with w (kh x kw)
   at stride (sy, sx).  Each output is summed in a register over the taps;
   with constant kh, kw, sx (the wrappers below) the tap loops unroll and
   the ox loop vectorises. */
static inline __attribute__((always_inline)) void dw_corr_plane(
    const float *__restrict__ q, long qw, long qplane, const float *__restrict__ w,
    long kh, long kw, long sy, long sx, float *__restrict__ out, long oh, long ow)
{
    for (long oy = 0; oy < oh; ++oy) {
        float *__restrict__ o = out + oy * ow;
        const float *__restrict__ base = q + oy * sy * qw;
        for (long ox = 0; ox < ow; ++ox) {
            float acc = 0.f;
            for (long ky = 0; ky < kh; ++ky)
                for (long kx = 0; kx < kw; ++kx)
                    acc += w[ky * kw + kx] * base[(kx % sx) * qplane + ky * qw + ox + kx / sx];
            o[ox] = acc;
        }
    }
}

#define DW_FIXED(KH, KW, SX) \
static void dw_corr_##KH##x##KW##_##SX(const float *q, long qw, long qplane, \
        const float *w, long sy, float *out, long oh, long ow) \
{ dw_corr_plane(q, qw, qplane, w, KH, KW, sy, SX, out, oh, ow); }
DW_FIXED(3, 3, 1) DW_FIXED(3, 3, 2) DW_FIXED(5, 5, 1) DW_FIXED(5, 5, 2)

static void dw_corr_any(const float *q, long qw, long qplane, const float *w,
                        long kh, long kw, long sy, long sx, float *out, long oh, long ow)
{
#define DW_CASE(KH, KW, SX) \
    if (kh == KH && kw == KW && sx == SX) { \
        dw_corr_##KH##x##KW##_##SX(q, qw, qplane, w, sy, out, oh, ow); return; }
    DW_CASE(3, 3, 1) DW_CASE(3, 3, 2) DW_CASE(5, 5, 1) DW_CASE(5, 5, 2)
#undef DW_CASE
    dw_corr_plane(q, qw, qplane, w, kh, kw, sy, sx, out, oh, ow);
}

/* The filters' gradient for one channel, summed over the batch. */
static void dw_filter_grad(const dw_geometry *g, long c, const float *x,
                           const float *gz, float *gw)
{
    long in_plane = g->rows * g->cols, out_plane = g->out_rows * g->out_cols;
    for (long t = 0; t < g->kh * g->kw; ++t) gw[t] = 0.f;
    for (long n = 0; n < g->batch; ++n) {
        const float *xp = x + (n * g->channels + c) * in_plane;
        const float *gp = gz + (n * g->channels + c) * out_plane;
        for (long ky = 0; ky < g->kh; ++ky)
            for (long kx = 0; kx < g->kw; ++kx) {
                double acc = 0.0;
                for (long oy = 0; oy < g->out_rows; ++oy) {
                    long iy = oy * g->sy + ky - g->py;
                    if (iy < 0 || iy >= g->rows) continue;
                    for (long ox = 0; ox < g->out_cols; ++ox) {
                        long ix = ox * g->sx + kx - g->px;
                        if (ix >= 0 && ix < g->cols)
                            acc += gp[oy * g->out_cols + ox] * xp[iy * g->cols + ix];
                    }
                }
                gw[ky * g->kw + kx] += (float)acc;
            }
    }
}

/* Planes first..last-1 (channels, for direction 2) of the work below;
   returns 1 if out of memory. */
static int dw_planes(int direction, const dw_geometry *g, float *x, float *w,
                     float *out, long first, long last)
{
    long taps = g->kh * g->kw;
    long in_plane = g->rows * g->cols, out_plane = g->out_rows * g->out_cols;
    long sx = direction == 0 ? g->sx : 1;
    long ph = direction == 0 ? (g->out_rows - 1) * g->sy + g->kh : g->rows + g->kh - 1;
    long pw = direction == 0 ? (g->out_cols - 1) * g->sx + g->kw : g->cols + g->kw - 1;
    long qw = (direction == 0 ? g->out_cols : g->cols) + (g->kw - 1) / sx;
    float *q;
    if (direction == 2) {
        for (long c = first; c < last; ++c) dw_filter_grad(g, c, x, out, w + c * taps);
        return 0;
    }
    q = (float *)malloc(sizeof(float) * (sx * ph * qw + taps));
    if (q == NULL) return 1;
    for (long p = first; p < last; ++p) {
        const float *wp = w + (p % g->channels) * taps;
        if (direction == 0) {
            dw_fill(x + p * in_plane, g->rows, g->cols, 1, 1, g->py, g->px,
                    q, ph, pw, sx, qw);
            dw_corr_any(q, qw, ph * qw, wp, g->kh, g->kw, g->sy, g->sx,
                        out + p * out_plane, g->out_rows, g->out_cols);
        } else {
            float *flipped = q + sx * ph * qw;
            for (long t = 0; t < taps; ++t) flipped[t] = wp[taps - 1 - t];
            dw_fill(out + p * out_plane, g->out_rows, g->out_cols, g->sy, g->sx,
                    g->kh - 1 - g->py, g->kw - 1 - g->px, q, ph, pw, 1, qw);
            dw_corr_any(q, qw, ph * qw, flipped, g->kh, g->kw, 1, 1,
                        x + p * in_plane, g->rows, g->cols);
        }
    }
    free(q);
    return 0;
}

typedef struct {
    int direction;
    const dw_geometry *g;
    float *x, *w, *out;
    int failed;          /* set to 1 by any range that fails: only ever 1 */
} dw_job;

static void dw_range(void *ctx, long first, long last)
{
    dw_job *job = (dw_job *)ctx;
    if (dw_planes(job->direction, job->g, job->x, job->w, job->out, first, last))
        job->failed = 1;
}

/* direction 0: out = corr(x, w); 1: x = the gradient to the input given the
   output's gradient in out (the transposed correlation: a stride-1
   correlation of the zero-upsampled, padded gradient with the flipped
   filter); 2: w = the filters' gradient.  Arrays C-contiguous float32.
   The planes are shared out over threads (threads.c). */
static int dw_run(int direction, const dw_geometry *g, long threads,
                  float *x, float *w, float *out)
{
    long planes = direction == 2 ? g->channels : g->batch * g->channels;
    long work = g->batch * g->channels * g->out_rows * g->out_cols * g->kh * g->kw;
    dw_job job = {direction, g, x, w, out, 0};
    reproduce_parallel(work < 200000 ? 1 : threads, planes, dw_range, &job);
    return job.failed;
}

/* The output gradient b (batch, channels, rows', cols') must have the size
   the geometry implies. */
static int dw_check_output_size(PyArrayObject *b, long rows_out, long cols_out)
{
    if (PyArray_DIMS(b)[2] != rows_out || PyArray_DIMS(b)[3] != cols_out) {
        PyErr_Format(PyExc_ValueError, "depthwise correlation: output gradient is "
                     "%ldx%ld, the input size gives %ldx%ld",
                     (long)PyArray_DIMS(b)[2], (long)PyArray_DIMS(b)[3],
                     rows_out, cols_out);
        return 1;
    }
    return 0;
}

/* Reads the geometry from the two arrays (and the sizes, for the gradients)
   and checks that they fit; returns 1 with a Python error set if not.
   direction 0: a = x, b = w; 1: a = w, b = gz, sizes = (rows, cols) of x;
   2: a = x, b = gz, sizes = (kh, kw). */
static int dw_geometry_of(int direction, PyArrayObject *a, PyArrayObject *b,
                          PyArrayObject *sizes, dw_geometry *g)
{
    const npy_intp *da = PyArray_DIMS(a), *db = PyArray_DIMS(b);
    if (direction == 0) {
        if (da[1] != db[0] || db[1] != 1) {
            PyErr_Format(PyExc_ValueError, "depthwise correlation: %ld channels but "
                         "filters of shape (%ld, %ld, ...); want (channels, 1, kh, kw)",
                         (long)da[1], (long)db[0], (long)db[1]);
            return 1;
        }
        g->batch = da[0]; g->channels = da[1]; g->rows = da[2]; g->cols = da[3];
        g->kh = db[2]; g->kw = db[3];
        return 0;
    }
    if (PyArray_DIMS(sizes)[0] != 2
            || (direction == 1 && !(da[0] == db[1] && da[1] == 1))
            || (direction == 2 && !(da[0] == db[0] && da[1] == db[1]))) {
        PyErr_SetString(PyExc_ValueError, direction == 1
                        ? "depthwise correlation: filters, output gradient and input size do not fit"
                        : "depthwise correlation: input, output gradient and filter size do not fit");
        return 1;
    }
    {
        long s0 = *(npy_int64 *)PyArray_GETPTR1(sizes, 0);
        long s1 = *(npy_int64 *)PyArray_GETPTR1(sizes, 1);
        g->batch = db[0]; g->channels = db[1];
        if (direction == 1) {
            g->rows = s0; g->cols = s1; g->kh = da[2]; g->kw = da[3];
        } else {
            g->rows = da[2]; g->cols = da[3]; g->kh = s0; g->kw = s1;
        }
    }
    return 0;
}

#section support_code_apply

/* direction (params) 0: out = corr(first = x, second = w); 1: out = d/dx
   from first = w, second = gz, sizes = x's (rows, cols); 2: out = d/dw from
   first = x, second = gz, sizes = (kh, kw).  The forward Op passes sizes = NULL. */
int APPLY_SPECIFIC(depthwise)(PyArrayObject *first, PyArrayObject *second,
                              PyArrayObject *sizes, PyArrayObject **out,
                              PARAMS_TYPE *params)
{
    int direction = (int)params->direction;
    PyArrayObject *a = PyArray_GETCONTIGUOUS(first);
    PyArrayObject *b = PyArray_GETCONTIGUOUS(second);
    dw_geometry g;
    npy_intp dims[4];
    long rows_out, cols_out;
    int bad = a == NULL || b == NULL;  /* numpy has set the error */
    if (!bad)
        bad = dw_geometry_of(direction, a, b, sizes, &g);
    if (!bad) {
        g.sy = params->sy; g.sx = params->sx;
        dw_axis(g.rows, g.kh, g.sy, params->same, params->pt, params->pb, &g.py, &rows_out);
        dw_axis(g.cols, g.kw, g.sx, params->same, params->pl, params->pr, &g.px, &cols_out);
        if (direction != 0)
            bad = dw_check_output_size(b, rows_out, cols_out);
        g.out_rows = rows_out; g.out_cols = cols_out;
    }
    if (!bad && (g.rows < 1 || g.cols < 1 || g.out_rows < 1 || g.out_cols < 1)) {
        PyErr_Format(PyExc_ValueError,
                     "depthwise correlation: a %ldx%ld input and a %ldx%ld filter "
                     "leave no output", g.rows, g.cols, g.kh, g.kw);
        bad = 1;
    }
    if (!bad) {
        if (direction == 2) {
            dims[0] = g.channels; dims[1] = 1; dims[2] = g.kh; dims[3] = g.kw;
        } else {
            dims[0] = g.batch; dims[1] = g.channels;
            dims[2] = direction == 0 ? g.out_rows : g.rows;
            dims[3] = direction == 0 ? g.out_cols : g.cols;
        }
        bad = reproduce_output4(out, dims);
    }
    if (!bad) {
        float *pa = (float *)PyArray_DATA(a), *pb = (float *)PyArray_DATA(b);
        float *po = (float *)PyArray_DATA(*out);
        long threads = params->threads;
        int failed;
        Py_BEGIN_ALLOW_THREADS
        if (direction == 0)
            failed = dw_run(0, &g, threads, pa, pb, po);
        else if (direction == 1)
            failed = dw_run(1, &g, threads, po, pa, pb);
        else
            failed = dw_run(2, &g, threads, pa, po, pb);
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    Py_XDECREF(a);
    Py_XDECREF(b);
    return bad;
}

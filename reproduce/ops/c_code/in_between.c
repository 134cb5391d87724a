#section support_code

/* One in-between stream frame: two bilinear warps and their blend in one
   pass over the output.  The Op is reproduce/ops/in_between.py; Theano's
   COp reads this file.  Entry point: APPLY_SPECIFIC(in_between) at the end.

   Each output pixel (x, y) samples key frame k at (sx, sy) = M_k [x, y, 1]
   in double, as reproduce.stream.interpolate.outside writes it, and takes
   the bilinear value of its 2x2 neighbours in double with scikit-image's
   mode "edge" (each neighbour's index clamped to the image) and its
   formula: ((1 - fy) ((1 - fx) tl + fx tr) + fy ((1 - fx) bl + fx br)).
   Both values go to float32, as frames.warp returns them, and blend there
   as frames.in_between does: (wa a + wb b) / total in float32; where the
   following frame's sample point lies outside it ("no pixels") the
   previous frame's value shows alone.  Compiled with -ffp-contract=off:
   a fused multiply-add would round differently from numpy. */

typedef struct {
    const float *pixels;   /* (rows, cols, 3) */
    long rows, cols;
    double m[6];           /* the 2x3 map from output (x, y) to input (x, y) */
} ib_image;

typedef struct {
    ib_image a, b;
    float wa, wb, total;
    int use_b;             /* 0: wb is 0, the following frame is not read */
    int to_uint8;
    long out_rows, out_cols;
    void *out;             /* (out_rows, out_cols, 3) float32 or uint8 */
} ib_job;

static inline double ib_clamp(double v, double hi)
{
    return v < 0 ? 0 : (v > hi ? hi : v);
}

/* image's bilinear value at (sx, sy), edges repeated, into px[3] */
static inline void ib_sample(const ib_image *im, double sx, double sy, float px[3])
{
    double x0 = floor(sx), y0 = floor(sy);
    double fx = sx - x0, fy = sy - y0;
    double right = im->cols - 1, bottom = im->rows - 1;
    long c0 = (long)ib_clamp(x0, right), c1 = (long)ib_clamp(x0 + 1, right);
    long r0 = (long)ib_clamp(y0, bottom), r1 = (long)ib_clamp(y0 + 1, bottom);
    const float *top = im->pixels + r0 * im->cols * 3, *low = im->pixels + r1 * im->cols * 3;
    for (int ch = 0; ch < 3; ++ch) {
        double t = (1 - fx) * (double)top[c0 * 3 + ch] + fx * (double)top[c1 * 3 + ch];
        double l = (1 - fx) * (double)low[c0 * 3 + ch] + fx * (double)low[c1 * 3 + ch];
        px[ch] = (float)((1 - fy) * t + fy * l);
    }
}

/* fileio.to_uint8 / interpolate.to_uint8: negatives (and NaN) to 0, above
   255 to 255, else rounded half to even (convertScaleAbs's cvRound): adding
   and taking away 1.5 * 2^23 leaves a float on 0..255 rounded to an integer
   in the default rounding mode */
static inline unsigned char ib_uint8(float v)
{
    if (!(v > 0)) return 0;
    if (v >= 255) return 255;
    return (unsigned char)((v + 12582912.0f) - 12582912.0f);
}

static void ib_rows(const ib_job *job, long first, long last)
{
    const ib_image *a = &job->a, *b = &job->b;
    double b_right = b->cols - 1, b_bottom = b->rows - 1;
    for (long y = first; y < last; ++y) {
        double yd = (double)y;
        /* the parts of M [x, y, 1] that do not change along the row */
        double ax = a->m[1] * yd + a->m[2], ay = a->m[4] * yd + a->m[5];
        double bx = b->m[1] * yd + b->m[2], by = b->m[4] * yd + b->m[5];
        float *of = (float *)job->out + y * job->out_cols * 3;
        unsigned char *ou = (unsigned char *)job->out + y * job->out_cols * 3;
        for (long x = 0; x < job->out_cols; ++x) {
            double xd = (double)x;
            float pa[3], pb[3], v[3];
            ib_sample(a, a->m[0] * xd + ax, a->m[3] * xd + ay, pa);
            if (job->use_b) {
                double sx = b->m[0] * xd + bx, sy = b->m[3] * xd + by;
                if (sx < 0 || sx > b_right || sy < 0 || sy > b_bottom) {
                    v[0] = pa[0]; v[1] = pa[1]; v[2] = pa[2];
                } else {
                    ib_sample(b, sx, sy, pb);
                    for (int ch = 0; ch < 3; ++ch)
                        v[ch] = (job->wa * pa[ch] + job->wb * pb[ch]) / job->total;
                }
            } else {
                for (int ch = 0; ch < 3; ++ch) v[ch] = (job->wa * pa[ch]) / job->total;
            }
            if (job->to_uint8) {
                for (int ch = 0; ch < 3; ++ch) ou[x * 3 + ch] = ib_uint8(v[ch]);
            } else {
                for (int ch = 0; ch < 3; ++ch) of[x * 3 + ch] = v[ch];
            }
        }
    }
}

static void ib_range(void *job, long first, long last)
{
    ib_rows((const ib_job *)job, first, last);
}

/* 0 if `image` is (rows > 0, cols > 0, 3) and `matrix` (2, 3), filling *im;
   else 1 with a Python error naming `what` */
static int ib_image_of(PyArrayObject *image, PyArrayObject *matrix, const char *what,
                       ib_image *im)
{
    if (PyArray_NDIM(image) != 3 || PyArray_DIMS(image)[2] != 3
            || PyArray_DIMS(image)[0] < 1 || PyArray_DIMS(image)[1] < 1) {
        PyErr_Format(PyExc_ValueError, "in-between frame: the %s key frame must be "
                     "(rows, cols, 3) with rows, cols > 0; got %ld dimensions, (%ld, %ld, %ld)",
                     what, (long)PyArray_NDIM(image), (long)PyArray_DIMS(image)[0],
                     (long)(PyArray_NDIM(image) > 1 ? PyArray_DIMS(image)[1] : 0),
                     (long)(PyArray_NDIM(image) > 2 ? PyArray_DIMS(image)[2] : 0));
        return 1;
    }
    if (PyArray_NDIM(matrix) != 2 || PyArray_DIMS(matrix)[0] != 2
            || PyArray_DIMS(matrix)[1] != 3) {
        PyErr_Format(PyExc_ValueError, "in-between frame: the %s key frame's matrix "
                     "must be 2x3, got (%ld, %ld)", what, (long)PyArray_DIMS(matrix)[0],
                     (long)(PyArray_NDIM(matrix) > 1 ? PyArray_DIMS(matrix)[1] : 0));
        return 1;
    }
    im->pixels = (const float *)PyArray_DATA(image);
    im->rows = PyArray_DIMS(image)[0];
    im->cols = PyArray_DIMS(image)[1];
    for (int i = 0; i < 6; ++i) im->m[i] = ((const double *)PyArray_DATA(matrix))[i];
    return 0;
}

#section support_code_apply

/* out (rows, cols, 3) float32 or uint8 (params->to_uint8) = the blend of
   previous (warped by matrix_a) and following (by matrix_b), weights
   (wa, wb, total) float64, shape (rows, cols) int64. */
int APPLY_SPECIFIC(in_between)(PyArrayObject *previous_in, PyArrayObject *following_in,
                               PyArrayObject *matrix_a_in, PyArrayObject *matrix_b_in,
                               PyArrayObject *weights_in, PyArrayObject *shape_in,
                               PyArrayObject **out, PARAMS_TYPE *params)
{
    PyArrayObject *previous = PyArray_GETCONTIGUOUS(previous_in);
    PyArrayObject *following = PyArray_GETCONTIGUOUS(following_in);
    PyArrayObject *matrix_a = PyArray_GETCONTIGUOUS(matrix_a_in);
    PyArrayObject *matrix_b = PyArray_GETCONTIGUOUS(matrix_b_in);
    PyArrayObject *weights = PyArray_GETCONTIGUOUS(weights_in);
    PyArrayObject *shape = PyArray_GETCONTIGUOUS(shape_in);
    ib_job job;
    int type = params->to_uint8 ? NPY_UINT8 : NPY_FLOAT32;
    npy_intp dims[3] = {0, 0, 3};
    int failed = !previous || !following || !matrix_a || !matrix_b || !weights || !shape;
    if (failed) {   /* numpy set the error */
    } else if (ib_image_of(previous, matrix_a, "previous", &job.a)
               || ib_image_of(following, matrix_b, "following", &job.b)) {
        failed = 1;
    } else if (PyArray_SIZE(weights) != 3 || PyArray_SIZE(shape) != 2
               || ((npy_int64 *)PyArray_DATA(shape))[0] < 1
               || ((npy_int64 *)PyArray_DATA(shape))[1] < 1) {
        PyErr_Format(PyExc_ValueError, "in-between frame: want 3 weights (previous, "
                     "following, total) and an output shape (rows > 0, cols > 0); got %ld "
                     "weights and %ld numbers of shape", (long)PyArray_SIZE(weights),
                     (long)PyArray_SIZE(shape));
        failed = 1;
    } else {
        const double *w = (const double *)PyArray_DATA(weights);
        dims[0] = ((npy_int64 *)PyArray_DATA(shape))[0];
        dims[1] = ((npy_int64 *)PyArray_DATA(shape))[1];
        job.wa = (float)w[0]; job.wb = (float)w[1]; job.total = (float)w[2];
        job.use_b = w[1] != 0;
        job.to_uint8 = params->to_uint8 != 0;
        job.out_rows = dims[0]; job.out_cols = dims[1];
        if (!(*out && PyArray_IS_C_CONTIGUOUS(*out) && PyArray_TYPE(*out) == type
              && PyArray_NDIM(*out) == 3 && PyArray_DIMS(*out)[0] == dims[0]
              && PyArray_DIMS(*out)[1] == dims[1])) {
            Py_XDECREF(*out);
            *out = (PyArrayObject *)PyArray_EMPTY(3, dims, type, 0);
            failed = *out == NULL;
        }
    }
    if (!failed) {
        job.out = PyArray_DATA(*out);
        Py_BEGIN_ALLOW_THREADS
        reproduce_parallel((long)params->threads, job.out_rows, ib_range, &job);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(previous);
    Py_XDECREF(following);
    Py_XDECREF(matrix_a);
    Py_XDECREF(matrix_b);
    Py_XDECREF(weights);
    Py_XDECREF(shape);
    return failed;
}

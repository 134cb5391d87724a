"""Depthwise correlation as Theano C Ops: forward, gradient to the input, to the filters.

A depthwise convolution filters each channel with its own kh x kw kernel
(groups == channels; EfficientNet's and MobileNet's middle layer).  Theano
1.0 runs it as a grouped ``CorrMM``: per channel an im2col copy and a GEMM
with one output row, which is mostly copying.  These Ops walk each channel's
plane directly, one kernel tap at a time, so the inner loop is a contiguous
``out[ox] += w * in[ox + dx]`` that the compiler vectorises; channels are
shared out over threads.  On EfficientNet-Lite0 at 224x224 they make
the whole Fourier step ~1.5x faster (bench/bench_fourier.py, docs/recipes.md).

Shapes: input (batch, channels, rows, cols); filters (channels, 1, kh, kw),
*correlation* filters as stored (no flip); output (batch, channels, rows',
cols').  ``pad`` is "same" (TensorFlow's SAME, worked out from the input
size at run time, so no padded copy is made) or (top, bottom, left, right).
float32 only, as the rest of the project.
"""
import numpy as np

from ..backend import T, thread_budget, theano
from theano.gof import ParamsType
from theano.scalar import int64

_C_SUPPORT = r"""
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
    long first, last;
    int failed;
} dw_task;

static void *dw_task_run(void *arg)
{
    dw_task *t = (dw_task *)arg;
    t->failed = dw_planes(t->direction, t->g, t->x, t->w, t->out, t->first, t->last);
    return NULL;
}

/* direction 0: out = corr(x, w); 1: x = the gradient to the input given the
   output's gradient in out (the transposed correlation: a stride-1
   correlation of the zero-upsampled, padded gradient with the flipped
   filter); 2: w = the filters' gradient.  Arrays C-contiguous float32.
   The planes are split over plain threads started for the call: they sleep
   when done, where OpenMP's spinning workers starved the BLAS threads of
   the neighbouring GEMMs (measured: the step took 2.7x as long). */
static int dw_run(int direction, const dw_geometry *g, long threads,
                  float *x, float *w, float *out)
{
    long planes = direction == 2 ? g->channels : g->batch * g->channels;
    long work = g->batch * g->channels * g->out_rows * g->out_cols * g->kh * g->kw;
    long n = work < 200000 ? 1 : threads;
    dw_task tasks[64];
    pthread_t ids[64];
    int started[64], failed = 0;
    if (n > planes) n = planes;
    for (long i = 0; i < n; ++i) {
        dw_task t = {direction, g, x, w, out, planes * i / n, planes * (i + 1) / n, 0};
        tasks[i] = t;
        started[i] = i > 0 && pthread_create(&ids[i], NULL, dw_task_run, &tasks[i]) == 0;
    }
    for (long i = 0; i < n; ++i)
        if (!started[i]) dw_task_run(&tasks[i]);   /* the caller's share, or a thread that did not start */
    for (long i = 0; i < n; ++i) {
        if (started[i]) pthread_join(ids[i], NULL);
        failed |= tasks[i].failed;
    }
    return failed;
}

/* A C-contiguous float32 array of this shape in *slot, reusing the old one. */
static int dw_output(PyArrayObject **slot, npy_intp *dims)
{
    if (*slot && PyArray_NDIM(*slot) == 4 && PyArray_IS_C_CONTIGUOUS(*slot)
            && PyArray_TYPE(*slot) == NPY_FLOAT32
            && PyArray_DIMS(*slot)[0] == dims[0] && PyArray_DIMS(*slot)[1] == dims[1]
            && PyArray_DIMS(*slot)[2] == dims[2] && PyArray_DIMS(*slot)[3] == dims[3])
        return 0;
    Py_XDECREF(*slot);
    *slot = (PyArrayObject *)PyArray_EMPTY(4, dims, NPY_FLOAT32, 0);
    return *slot == NULL;
}
"""

# The shared body: the geometry from (batch, channels, rows, cols), the
# filter size and the op's stride and padding; then dw_run on contiguous
# copies of the two given arrays and the output.
_C_CODE = r"""
{
    PyArrayObject *a = PyArray_GETCONTIGUOUS(%(first)s);
    PyArrayObject *b = PyArray_GETCONTIGUOUS(%(second)s);
    dw_geometry g;
    npy_intp dims[4];
    int bad = a == NULL || b == NULL;  /* numpy has set the error */
    if (!bad) {
        %(precheck)s
    }
    if (!bad) {
        long rows_out, cols_out;
        %(geometry)s
        g.sy = %(params)s->sy; g.sx = %(params)s->sx;
        dw_axis(g.rows, g.kh, g.sy, %(params)s->same, %(params)s->pt, %(params)s->pb,
                &g.py, &rows_out);
        dw_axis(g.cols, g.kw, g.sx, %(params)s->same, %(params)s->pl, %(params)s->pr,
                &g.px, &cols_out);
        %(check_out)s
        g.out_rows = rows_out; g.out_cols = cols_out;
    }
    if (!bad && (g.rows < 1 || g.cols < 1 || g.out_rows < 1 || g.out_cols < 1)) {
        PyErr_Format(PyExc_ValueError,
                     "depthwise correlation: a %%ldx%%ld input and a %%ldx%%ld filter "
                     "leave no output", g.rows, g.cols, g.kh, g.kw);
        bad = 1;
    }
    if (!bad) {
        %(dims)s
        if (dw_output(&%(out)s, dims)) bad = 1;
    }
    if (!bad) {
        int failed;
        long threads = %(params)s->threads;
        Py_BEGIN_ALLOW_THREADS
        failed = dw_run(%(direction)d, &g, threads, %(x)s, %(w)s, %(o)s);
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    Py_XDECREF(a);
    Py_XDECREF(b);
    if (bad) %(fail)s
}
"""


def _pad_props(pad):
    if pad == "same":
        return "same"
    pad = tuple(int(v) for v in pad)
    if len(pad) != 4 or min(pad) < 0:
        raise ValueError("pad must be 'same' or (top, bottom, left, right) >= 0; got %r"
                         % (pad,))
    return pad


def _float4(v, what):
    v = T.as_tensor_variable(v)
    if v.ndim != 4 or v.dtype != "float32":
        raise TypeError("depthwise correlation: %s must be a 4-D float32 tensor, got %s"
                        % (what, v.type))
    return v


class _Depthwise(theano.Op):
    """What the three Ops share: stride and padding, and the C code around dw_run.

    Stride and padding reach the C code as run-time parameters, so one
    compiled module serves every layer (compiling is the slow part).
    """
    __props__ = ("stride", "pad")
    params_type = ParamsType(**{k: int64 for k in ("sy", "sx", "same", "pt", "pb", "pl", "pr",
                                                   "threads")})
    direction = None

    def __init__(self, stride=(1, 1), pad="same"):
        super().__init__()
        self.stride = tuple(int(s) for s in stride)
        if len(self.stride) != 2 or min(self.stride) < 1:
            raise ValueError("stride must be two integers >= 1; got %r" % (stride,))
        self.pad = _pad_props(pad)
        self.sy, self.sx = self.stride
        self.same = int(self.pad == "same")
        self.pt, self.pb, self.pl, self.pr = (0, 0, 0, 0) if self.same else self.pad
        self.threads = min(thread_budget(), 64)  # dw_run's task table holds 64

    def out_length(self, n, k, axis):
        """Output length along ``axis`` (0 rows, 1 cols) for input length n, kernel k."""
        s = self.stride[axis]
        if self.pad == "same":
            return (n + s - 1) // s
        return T.maximum((n + self.pad[2 * axis] + self.pad[2 * axis + 1] - k) // s + 1, 0)

    def c_support_code(self):
        return _C_SUPPORT

    def c_headers(self):
        return ["<pthread.h>", "<stdlib.h>", "<string.h>"]

    def c_libraries(self):
        return ["pthread"]

    def c_code_cache_version(self):
        return (9,)

    def _c(self, first, second, out, precheck, geometry, check_out, dims, x, w, o, sub):
        return _C_CODE % dict(
            first=first, second=second, out=out, precheck=precheck, geometry=geometry,
            check_out=check_out, dims=dims, x=x, w=w, o=o, fail=sub["fail"],
            params=sub["params"], direction=self.direction)


_FLOAT = "(float *)PyArray_DATA(%s)"


def _output_type(leading):
    """float32 4-D with the given (batch, channels) broadcastable flags; the
    spatial sizes change, so they are never marked broadcastable."""
    return T.TensorType("float32", tuple(leading) + (False, False))()


class DepthwiseCorr(_Depthwise):
    """(x (batch, C, rows, cols), w (C, 1, kh, kw)) -> (batch, C, rows', cols')."""
    direction = 0

    def make_node(self, x, w):
        x, w = _float4(x, "the input"), _float4(w, "the filters")
        return theano.Apply(self, [x, w], [_output_type(x.broadcastable[:2])])

    def infer_shape(self, node, shapes):
        (b, c, rows, cols), (_, _, kh, kw) = shapes
        return [(b, c, self.out_length(rows, kh, 0), self.out_length(cols, kw, 1))]

    def grad(self, inputs, output_grads):
        x, w = inputs
        (gz,) = output_grads
        return [DepthwiseCorrGradInputs(self.stride, self.pad)(w, gz, x.shape[2:]),
                DepthwiseCorrGradWeights(self.stride, self.pad)(x, gz, w.shape[2:])]

    def c_code(self, node, name, inputs, outputs, sub):
        (out,) = outputs
        check = """
        if (PyArray_DIMS(a)[1] != PyArray_DIMS(b)[0] || PyArray_DIMS(b)[1] != 1) {
            PyErr_Format(PyExc_ValueError, "depthwise correlation: %ld channels but "
                         "filters of shape (%ld, %ld, ...); want (channels, 1, kh, kw)",
                         (long)PyArray_DIMS(a)[1], (long)PyArray_DIMS(b)[0],
                         (long)PyArray_DIMS(b)[1]);
            bad = 1;
        }"""
        dims = "dims[0] = g.batch; dims[1] = g.channels; dims[2] = g.out_rows; dims[3] = g.out_cols;"
        geometry = ("g.batch = PyArray_DIMS(a)[0]; g.channels = PyArray_DIMS(a)[1];"
                    " g.rows = PyArray_DIMS(a)[2]; g.cols = PyArray_DIMS(a)[3];"
                    " g.kh = PyArray_DIMS(b)[2]; g.kw = PyArray_DIMS(b)[3];")
        return self._c(inputs[0], inputs[1], out, check, geometry, "", dims,
                       _FLOAT % "a", _FLOAT % "b", _FLOAT % out, sub)


class _DepthwiseGrad(_Depthwise):
    """A gradient Op: (a 4-D tensor, the output gradient gz, a 2-vector of
    sizes) -> a 4-D tensor.  Subclasses give the C lines that read the
    geometry (the arrays are ``a``, ``b`` = gz and %(s)s = the sizes), the
    output's dims and which arrays play x, w and out in dw_run."""
    first = None      # what the first input is, for errors
    geometry = dims = None
    fits = what = None  # C condition: the first input fits gz; its words for errors

    def make_node(self, first, gz, sizes):
        first, gz = _float4(first, self.first), _float4(gz, "the output gradient")
        sizes = T.as_tensor_variable(sizes).astype("int64")
        if sizes.ndim != 1:
            raise TypeError("depthwise correlation: sizes must be a vector (rows, cols)")
        # d/dx keeps gz's (batch, channels) flags; d/dw is (channels, 1, kh, kw), as the filters
        leading = gz.broadcastable[:2] if self.direction == 1 else (False, False)
        return theano.Apply(self, [first, gz, sizes], [_output_type(leading)])

    def grad(self, inputs, output_grads):
        from theano.gradient import grad_not_implemented
        return [grad_not_implemented(self, i, inputs[i]) for i in range(3)]

    def c_code(self, node, name, inputs, outputs, sub):
        (out,) = outputs
        sizes = dict(s=inputs[2])
        precheck = ("""if (PyArray_DIMS(%(s)s)[0] != 2 || !(%(fits)s)) {
            PyErr_SetString(PyExc_ValueError, "depthwise correlation: %(what)s do not fit");
            bad = 1;
        }""" % dict(sizes, fits=self.fits, what=self.what))
        return self._c(inputs[0], inputs[1], out, precheck,
                       self.geometry % sizes, _CHECK_OUTPUT_SIZE, self.dims,
                       *self.roles(_FLOAT % out), sub)


class DepthwiseCorrGradInputs(_DepthwiseGrad):
    """(w (C, 1, kh, kw), gz (batch, C, rows', cols'), input (rows, cols)) -> d/dx."""
    direction = 1
    first = "the filters"
    geometry = ("g.batch = PyArray_DIMS(b)[0]; g.channels = PyArray_DIMS(b)[1];"
                " g.rows = *(npy_int64 *)PyArray_GETPTR1(%(s)s, 0);"
                " g.cols = *(npy_int64 *)PyArray_GETPTR1(%(s)s, 1);"
                " g.kh = PyArray_DIMS(a)[2]; g.kw = PyArray_DIMS(a)[3];")
    fits = "PyArray_DIMS(a)[0] == PyArray_DIMS(b)[1] && PyArray_DIMS(a)[1] == 1"
    what = "filters, output gradient and input size"
    dims = "dims[0] = g.batch; dims[1] = g.channels; dims[2] = g.rows; dims[3] = g.cols;"

    def roles(self, out):
        return out, _FLOAT % "a", _FLOAT % "b"

    def infer_shape(self, node, shapes):
        b, c = shapes[1][:2]
        size = node.inputs[2]
        return [(b, c, size[0], size[1])]


class DepthwiseCorrGradWeights(_DepthwiseGrad):
    """(x (batch, C, rows, cols), gz (batch, C, rows', cols'), (kh, kw)) -> d/dw (C, 1, kh, kw)."""
    direction = 2
    first = "the input"
    geometry = ("g.batch = PyArray_DIMS(a)[0]; g.channels = PyArray_DIMS(a)[1];"
                " g.rows = PyArray_DIMS(a)[2]; g.cols = PyArray_DIMS(a)[3];"
                " g.kh = *(npy_int64 *)PyArray_GETPTR1(%(s)s, 0);"
                " g.kw = *(npy_int64 *)PyArray_GETPTR1(%(s)s, 1);")
    fits = ("PyArray_DIMS(a)[0] == PyArray_DIMS(b)[0]"
            " && PyArray_DIMS(a)[1] == PyArray_DIMS(b)[1]")
    what = "input, output gradient and filter size"
    dims = "dims[0] = g.channels; dims[1] = 1; dims[2] = g.kh; dims[3] = g.kw;"

    def roles(self, out):
        return _FLOAT % "a", out, _FLOAT % "b"

    def infer_shape(self, node, shapes):
        kernel = node.inputs[2]
        return [(shapes[0][1], 1, kernel[0], kernel[1])]


# C lines: the given output gradient (b) must have the size the geometry implies.
_CHECK_OUTPUT_SIZE = """
        if (PyArray_DIMS(b)[2] != rows_out || PyArray_DIMS(b)[3] != cols_out) {
            PyErr_Format(PyExc_ValueError, "depthwise correlation: output gradient is "
                         "%ldx%ld, the input size gives %ldx%ld",
                         (long)PyArray_DIMS(b)[2], (long)PyArray_DIMS(b)[3],
                         rows_out, cols_out);
            bad = 1;
        }"""


def depthwise_corr(x, w, stride=(1, 1), pad="same"):
    """Symbolic depthwise correlation of x (batch, C, rows, cols) with w (C, 1, kh, kw)."""
    return DepthwiseCorr(stride, pad)(x, w)


def reference(x, w, stride=(1, 1), pad="same"):
    """numpy depthwise correlation, for the tests: same arguments, arrays in and out."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    kh, kw = w.shape[2:]
    pads = []
    for axis, (n, k) in enumerate(zip(x.shape[2:], (kh, kw))):
        s = stride[axis]
        if pad == "same":
            total = max(((n + s - 1) // s - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append(tuple(pad[2 * axis:2 * axis + 2]))
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    rows = (xp.shape[2] - kh) // stride[0] + 1
    cols = (xp.shape[3] - kw) // stride[1] + 1
    out = np.zeros(x.shape[:2] + (rows, cols))
    for dy in range(kh):
        for dx in range(kw):
            window = xp[:, :, dy:dy + stride[0] * (rows - 1) + 1:stride[0],
                        dx:dx + stride[1] * (cols - 1) + 1:stride[1]]
            out += window * w[None, :, 0, dy, dx, None, None]
    return out.astype(np.float32)

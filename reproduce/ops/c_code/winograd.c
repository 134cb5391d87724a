#section support_code

/* Winograd minimal filtering (Lavin & Gray 2016) for stride-1 3x3
   correlations with pad 1: F(2x2, 3x3) (4x4 tiles, 2.25x fewer multiplies
   than direct) and F(4x4, 3x3) (6x6 tiles, 4x fewer).  The Ops are
   reproduce/ops/winograd.py; Theano's COp reads this file.  Entry point:
   APPLY_SPECIFIC(winograd) at the end.

   For `in` input channels, `out` output channels and P = batch * tiles:
     U (a2, out, in)  the filters' transforms G g G^T, once per call
     V (a2, in, Pb)   the input tiles' transforms B^T d B, a block of Pb tiles
     M (a2, out, Pb)  = U[e] V[e] for each of the a2 = alpha^2 positions e:
                      a2 sgemm calls over the channels (the BLAS's own threads)
     y                = A^T M A per tile and output channel
   The transforms go over tiles 8 at a time (one GCC vector of 8 floats,
   one lane per tile); threads (threads.c) take blocks of tiles, each
   through all three steps in its own buffers; the filters' transforms are
   shared out over output channels. */

typedef float wg_v8 __attribute__((vector_size(32)));
#define WG_LANES 8

typedef struct {
    long batch, in, out, rows, cols;   /* rows x cols: input = output size */
    int m, alpha;                      /* output tile m x m, input tile alpha x alpha */
    long th, tw, tiles;                /* tiles per column, per row; batch * th * tw */
} wg_geometry;

/* ---- 1-D transforms on vectors of 8 tiles ------------------------------- */

/* B^T d for F(4x4, 3x3): d0..d5 -> r0..r5 */
static inline __attribute__((always_inline)) void wg_bt6(const wg_v8 *d, long s, wg_v8 *r, long t)
{
    wg_v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    r[0] = 4.f * d0 - 5.f * d2 + d4;
    r[t] = d3 + d4 - 4.f * (d1 + d2);
    r[2 * t] = 4.f * (d1 - d2) + d4 - d3;
    r[3 * t] = 2.f * (d3 - d1) + d4 - d2;
    r[4 * t] = 2.f * (d1 - d3) + d4 - d2;
    r[5 * t] = 4.f * d1 - 5.f * d3 + d5;
}

/* A^T m for F(4x4, 3x3): m0..m5 -> y0..y3 */
static inline __attribute__((always_inline)) void wg_at6(const wg_v8 *m, long s, wg_v8 *y, long t)
{
    wg_v8 a = m[s] + m[2 * s], b = m[s] - m[2 * s];
    wg_v8 c = m[3 * s] + m[4 * s], d = m[3 * s] - m[4 * s];
    y[0] = m[0] + a + c;
    y[t] = b + 2.f * d;
    y[2 * t] = a + 4.f * c;
    y[3 * t] = b + 8.f * d + m[5 * s];
}

/* B^T d for F(2x2, 3x3) */
static inline __attribute__((always_inline)) void wg_bt4(const wg_v8 *d, long s, wg_v8 *r, long t)
{
    wg_v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    r[0] = d0 - d2;
    r[t] = d1 + d2;
    r[2 * t] = d2 - d1;
    r[3 * t] = d1 - d3;
}

/* A^T m for F(2x2, 3x3) */
static inline __attribute__((always_inline)) void wg_at4(const wg_v8 *m, long s, wg_v8 *y, long t)
{
    y[0] = m[0] + m[s] + m[2 * s];
    y[t] = m[s] - m[2 * s] - m[3 * s];
}

/* G (alpha x 3), exact in float32 except the sixths and twelfths */
static const float WG_G6[18] = {1.f / 4, 0, 0,
                                -1.f / 6, -1.f / 6, -1.f / 6,
                                -1.f / 6, 1.f / 6, -1.f / 6,
                                1.f / 24, 1.f / 12, 1.f / 6,
                                1.f / 24, -1.f / 12, 1.f / 6,
                                0, 0, 1};
static const float WG_G4[12] = {1, 0, 0, .5f, .5f, .5f, .5f, -.5f, .5f, 0, 0, 1};

/* ---- filters: U[e][o][i] = (G g G^T)[e] ---------------------------------- */

typedef struct {
    const wg_geometry *g;
    const float *w;      /* (K, C, 3, 3) as given */
    int flip;            /* 1: the input gradient's filter, g[o][i] = w[i][o] rotated 180 degrees */
    float *u;
} wg_filter_job;

static void wg_filters(void *ctx, long first, long last)
{
    const wg_filter_job *job = (const wg_filter_job *)ctx;
    const wg_geometry *g = job->g;
    const float *G = g->alpha == 6 ? WG_G6 : WG_G4;
    int alpha = g->alpha;
    long a2 = (long)alpha * alpha, plane = g->out * g->in;
    for (long o = first; o < last; ++o)
        for (long i = 0; i < g->in; ++i) {
            float f[9], t[6][3];
            const float *src = job->flip ? job->w + (i * g->out + o) * 9
                                         : job->w + (o * g->in + i) * 9;
            for (int k = 0; k < 9; ++k) f[k] = job->flip ? src[8 - k] : src[k];
            for (int a = 0; a < alpha; ++a)        /* t = G f */
                for (int c = 0; c < 3; ++c)
                    t[a][c] = G[a * 3] * f[c] + G[a * 3 + 1] * f[3 + c] + G[a * 3 + 2] * f[6 + c];
            for (int a = 0; a < alpha; ++a)        /* t G^T */
                for (int b = 0; b < alpha; ++b)
                    job->u[(a * alpha + b) * plane + o * g->in + i] =
                        t[a][0] * G[b * 3] + t[a][1] * G[b * 3 + 1] + t[a][2] * G[b * 3 + 2];
        }
    (void)a2;
}

/* ---- the filters' transforms, kept between calls ------------------------ */

/* A net's filters stay the same over a dream's hundreds of steps, and
   transforming VGG-16's 512 x 512 ones takes 40-56 ms of one core each,
   longer than that layer's GEMMs.  So the transforms are kept, with a copy
   of the filters they came from, and reused when a call's filters are bit
   for bit those (memcmp: about 1 ms for 9 MB).  The table is the process's
   (this module's), not an Op's: the functions a DeepDream sweep compiles
   for each layer share one net's filters and so one set of transforms.  It
   holds at most WG_KEPT entries and WG_KEPT_BYTES, the least recently used
   going first; a transform larger than that is made for the call alone.
   A mutex serialises the calls that use it. */
#define WG_KEPT 64
#define WG_KEPT_BYTES (1L << 30)

typedef struct {
    const float *filters;  /* where they were: the lookup key (the content decides) */
    float *u, *w;          /* U (a2, out, in); the filters, as given */
    long out, in, alpha;
    int flip;
    unsigned long used;    /* when last used, for the eviction */
} wg_kept;

static wg_kept wg_table[WG_KEPT];
static size_t wg_table_bytes;
static unsigned long wg_clock;
static pthread_mutex_t wg_table_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t wg_kept_bytes(const wg_kept *k)
{
    return sizeof(float) * (size_t)k->out * k->in * ((size_t)k->alpha * k->alpha + 9);
}

static void wg_forget(wg_kept *k)
{
    if (k->u) wg_table_bytes -= wg_kept_bytes(k);
    free(k->u);
    free(k->w);
    memset(k, 0, sizeof *k);
}

/* U for filters w (the geometry's out x in, flipped for the input
   gradient), with wg_table_lock held: the kept one if w is bit for bit the
   filters it came from, else made now and kept.  *scratch: set when U was
   made for this call alone (the caller frees it).  NULL if out of memory. */
static const float *wg_filters_of(const wg_geometry *g, const float *w, int flip,
                                  long threads, float **scratch)
{
    size_t n_w = (size_t)g->out * g->in * 9, n_u = (size_t)g->alpha * g->alpha * g->out * g->in;
    size_t bytes = sizeof(float) * (n_u + n_w);
    wg_kept *slot = NULL;
    *scratch = NULL;
    for (int k = 0; k < WG_KEPT; ++k) {
        wg_kept *e = wg_table + k;
        if (e->u && e->filters == w && e->out == g->out && e->in == g->in
                && e->alpha == g->alpha && e->flip == flip) {
            if (memcmp(e->w, w, sizeof(float) * n_w) == 0) {
                e->used = ++wg_clock;
                return e->u;
            }
            wg_forget(e);   /* the same place, other filters */
        }
    }
    if (bytes <= WG_KEPT_BYTES) {
        for (;;) {   /* a free slot, with room: evict the least recently used */
            wg_kept *oldest = NULL;
            slot = NULL;
            for (int k = 0; k < WG_KEPT; ++k) {
                if (!wg_table[k].u) slot = slot ? slot : wg_table + k;
                else if (!oldest || wg_table[k].used < oldest->used) oldest = wg_table + k;
            }
            if (slot && wg_table_bytes + bytes <= WG_KEPT_BYTES) break;
            wg_forget(oldest);
        }
        slot->u = (float *)malloc(sizeof(float) * n_u);
        slot->w = (float *)malloc(sizeof(float) * n_w);
        if (slot->u == NULL || slot->w == NULL) {
            free(slot->u);
            free(slot->w);
            memset(slot, 0, sizeof *slot);
            slot = NULL;
        }
    }
    {
        float *u = slot ? slot->u : (*scratch = (float *)malloc(sizeof(float) * n_u));
        wg_filter_job fj = {g, w, flip, u};
        if (u == NULL) return NULL;
        reproduce_parallel(threads, g->out, wg_filters, &fj);
    }
    if (!slot) return *scratch;
    memcpy(slot->w, w, sizeof(float) * n_w);
    slot->filters = w;
    slot->out = g->out; slot->in = g->in; slot->alpha = g->alpha; slot->flip = flip;
    slot->used = ++wg_clock;
    wg_table_bytes += bytes;
    return slot->u;
}

/* ---- input tiles: V[e][c][p - p0] = (B^T d B)[e] -------------------------- */

/* Floats between positions e of V and M: channels * pb plus one cache
   line.  Without the line the 36 (or 16) positions a tile's transform
   writes or reads lie a power of two apart -- channels and pb are -- and
   all fall in one cache set. */
#define WG_PAD 16
static inline long wg_estride(long channels, long pb) { return channels * pb + WG_PAD; }

typedef struct {
    const wg_geometry *g;
    const float *x;      /* (batch, in, rows, cols) */
    float *v;            /* (a2, in, pb) */
    long p0, pb;         /* this block's first tile; its tile count rounded up to 8 */
} wg_block_job;

/* Tile p's top-left input pixel (padding 1 before) and image; 0 if p >= tiles. */
static inline int wg_tile(const wg_geometry *g, long p, long *n, long *r, long *c)
{
    long per_image = g->th * g->tw;
    if (p >= g->tiles) return 0;
    *n = p / per_image;
    *r = (p % per_image) / g->tw * g->m - 1;
    *c = p % g->tw * g->m - 1;
    return 1;
}

/* Where the 8 tiles p.. of a group lie: top-left input pixels (r, q) and
   images n; `fast` when they sit side by side in one row of tiles with
   rows r..r+rows-1 and columns q..q+cols-1 of the first all inside the
   image (so whole vectors can be loaded or stored). */
typedef struct {
    long n[WG_LANES], r[WG_LANES], q[WG_LANES];
    int ok[WG_LANES], fast;
} wg_lanes;

static void wg_lanes_of(const wg_geometry *g, long p, long shift, long rows, long cols,
                        wg_lanes *t)
{
    int fast = 1;
    for (int l = 0; l < WG_LANES; ++l) {
        t->ok[l] = wg_tile(g, p + l, &t->n[l], &t->r[l], &t->q[l]);
        t->r[l] += shift; t->q[l] += shift;
        fast &= t->ok[l] && t->n[l] == t->n[0] && t->r[l] == t->r[0];
    }
    t->fast = fast && t->r[0] >= 0 && t->r[0] + rows <= g->rows && t->q[0] >= 0
              && t->q[0] + cols <= g->cols;
}

typedef int wg_i8 __attribute__((vector_size(32)));

static inline wg_v8 wg_loadu(const float *s)
{
    wg_v8 v;
    __builtin_memcpy(&v, s, sizeof v);
    return v;
}

/* One input row of 8 tiles side by side, split by column within the tile:
   d[j * s][l] = row[l * m + j], j < alpha.  Tile 4 reads row[0..35],
   tile 2 row[0..17]. */
static inline __attribute__((always_inline)) void wg_row_split(const float *row, int m,
                                                               wg_v8 *d, long s)
{
    if (m == 4) {
        for (int half = 0; half < 2; ++half) {   /* columns 0-3, then 4-5 from row + 4 */
            const float *x = row + 4 * half;
            wg_v8 a = wg_loadu(x), b = wg_loadu(x + 8), c = wg_loadu(x + 16), e = wg_loadu(x + 24);
#define WG_SPLIT4(J)                                                                      \
            {                                                                             \
                wg_v8 ab = __builtin_shuffle(a, b, (wg_i8){J, J + 4, J + 8, J + 12, 0, 0, 0, 0}); \
                wg_v8 ce = __builtin_shuffle(c, e, (wg_i8){J, J + 4, J + 8, J + 12, 0, 0, 0, 0}); \
                d[(4 * half + J) * s] = __builtin_shuffle(ab, ce, (wg_i8){0, 1, 2, 3, 8, 9, 10, 11}); \
            }
            WG_SPLIT4(0) WG_SPLIT4(1)
            if (half == 0) { WG_SPLIT4(2) WG_SPLIT4(3) }
#undef WG_SPLIT4
        }
    } else {
        for (int half = 0; half < 2; ++half) {   /* columns 0-1, then 2-3 from row + 2 */
            const float *x = row + 2 * half;
            wg_v8 a = wg_loadu(x), b = wg_loadu(x + 8);
            d[(2 * half) * s] = __builtin_shuffle(a, b, (wg_i8){0, 2, 4, 6, 8, 10, 12, 14});
            d[(2 * half + 1) * s] = __builtin_shuffle(a, b, (wg_i8){1, 3, 5, 7, 9, 11, 13, 15});
        }
    }
}

/* The inverse for an output row: row[l * m + j] = y[j][l], j < m. */
static inline __attribute__((always_inline)) void wg_row_merge(const wg_v8 *y, int m, float *row)
{
    if (m == 4) {
        /* (y0, y1) and (y2, y3) pairwise, then the pairs: 32 floats */
        wg_v8 lo01 = __builtin_shuffle(y[0], y[1], (wg_i8){0, 8, 1, 9, 2, 10, 3, 11});
        wg_v8 hi01 = __builtin_shuffle(y[0], y[1], (wg_i8){4, 12, 5, 13, 6, 14, 7, 15});
        wg_v8 lo23 = __builtin_shuffle(y[2], y[3], (wg_i8){0, 8, 1, 9, 2, 10, 3, 11});
        wg_v8 hi23 = __builtin_shuffle(y[2], y[3], (wg_i8){4, 12, 5, 13, 6, 14, 7, 15});
        wg_v8 out[4];
        out[0] = __builtin_shuffle(lo01, lo23, (wg_i8){0, 1, 8, 9, 2, 3, 10, 11});
        out[1] = __builtin_shuffle(lo01, lo23, (wg_i8){4, 5, 12, 13, 6, 7, 14, 15});
        out[2] = __builtin_shuffle(hi01, hi23, (wg_i8){0, 1, 8, 9, 2, 3, 10, 11});
        out[3] = __builtin_shuffle(hi01, hi23, (wg_i8){4, 5, 12, 13, 6, 7, 14, 15});
        __builtin_memcpy(row, out, sizeof out);
    } else {
        wg_v8 out[2];
        out[0] = __builtin_shuffle(y[0], y[1], (wg_i8){0, 8, 1, 9, 2, 10, 3, 11});
        out[1] = __builtin_shuffle(y[0], y[1], (wg_i8){4, 12, 5, 13, 6, 14, 7, 15});
        __builtin_memcpy(row, out, sizeof out);
    }
}

/* d[i * alpha + j][l] = input pixel (i, j) of lane l's tile in plane c, 0 outside. */
static inline __attribute__((always_inline)) void wg_load(
    const wg_geometry *g, const wg_lanes *t, const float *x, long c, int alpha, wg_v8 *d)
{
    float *df = (float *)d;
    if (t->fast) {
        const float *base = x + ((t->n[0] * g->in + c) * g->rows + t->r[0]) * g->cols + t->q[0];
        for (int i = 0; i < alpha; ++i)
            wg_row_split(base + i * g->cols, alpha - 2, d + i * alpha, 1);
        return;
    }
    for (int l = 0; l < WG_LANES; ++l) {
        const float *plane = t->ok[l] ? x + (t->n[l] * g->in + c) * g->rows * g->cols : NULL;
        for (int i = 0; i < alpha; ++i) {
            long row = t->r[l] + i;
            for (int j = 0; j < alpha; ++j) {
                long col = t->q[l] + j;
                df[(i * alpha + j) * WG_LANES + l] =
                    plane && row >= 0 && row < g->rows && col >= 0 && col < g->cols
                    ? plane[row * g->cols + col] : 0.f;
            }
        }
    }
}

#define WG_INPUT(ALPHA, BT)                                                          \
static void wg_input_##ALPHA(const wg_block_job *job, const wg_lanes *lanes, long groups) \
{                                                                                    \
    const wg_geometry *g = job->g;                                                   \
    long stride = wg_estride(g->in, job->pb);   /* between positions e in V */     \
    for (long c = 0; c < g->in; ++c)     /* plane by plane: 36 sequential streams */ \
        for (long grp = 0; grp < groups; ++grp) {                                    \
            wg_v8 d[ALPHA * ALPHA], t[ALPHA * ALPHA], r[ALPHA * ALPHA];              \
            float *dst = job->v + c * job->pb + grp * WG_LANES;                      \
            wg_load(g, lanes + grp, job->x, c, ALPHA, d);                            \
            for (int j = 0; j < ALPHA; ++j) BT(d + j, ALPHA, t + j, ALPHA);   /* columns */ \
            for (int i = 0; i < ALPHA; ++i) BT(t + i * ALPHA, 1, r + i * ALPHA, 1); /* rows */ \
            for (int e = 0; e < ALPHA * ALPHA; ++e)                                  \
                __builtin_memcpy(dst + e * stride, &r[e], sizeof(wg_v8));            \
        }                                                                            \
}
WG_INPUT(6, wg_bt6)
WG_INPUT(4, wg_bt4)

/* ---- output tiles: y = A^T M A -------------------------------------------- */

typedef struct {
    const wg_geometry *g;
    const float *mm;     /* (a2, out, pb) */
    const float *bias;   /* (out,), added to y; or NULL */
    float *y;            /* (batch, out, rows, cols) */
    long p0, pb;
} wg_output_job;

#define WG_OUTPUT(ALPHA, M, AT)                                                      \
static void wg_output_##ALPHA(const wg_output_job *job, const wg_lanes *lanes, long groups) \
{                                                                                    \
    const wg_geometry *g = job->g;                                                   \
    long stride = wg_estride(g->out, job->pb);                                       \
    for (long o = 0; o < g->out; ++o)                                                \
        for (long grp = 0; grp < groups; ++grp) {                                    \
            const wg_lanes *t = lanes + grp;                                         \
            wg_v8 s[ALPHA * ALPHA], u[M * ALPHA], y[M * M];                          \
            const float *src = job->mm + o * job->pb + grp * WG_LANES;               \
            for (int e = 0; e < ALPHA * ALPHA; ++e)                                  \
                __builtin_memcpy(&s[e], src + e * stride, sizeof(wg_v8));            \
            for (int j = 0; j < ALPHA; ++j) AT(s + j, ALPHA, u + j, ALPHA);          \
            for (int i = 0; i < M; ++i) AT(u + i * ALPHA, 1, y + i * M, 1);          \
            if (job->bias)      /* what Theano's "+ b" after the Op would do, in cache */ \
                for (int k = 0; k < M * M; ++k) y[k] = y[k] + job->bias[o];          \
            if (t->fast) {                                                           \
                float *base = job->y + ((t->n[0] * g->out + o) * g->rows + t->r[0]) * g->cols + t->q[0]; \
                for (int i = 0; i < M; ++i) wg_row_merge(y + i * M, M, base + i * g->cols); \
                continue;                                                            \
            }                                                                        \
            for (int l = 0; l < WG_LANES; ++l) {                                     \
                float *plane;                                                        \
                long rows, cols;                                                     \
                if (!t->ok[l]) continue;                                             \
                plane = job->y + (t->n[l] * g->out + o) * g->rows * g->cols;         \
                rows = g->rows - t->r[l] < M ? g->rows - t->r[l] : M;                \
                cols = g->cols - t->q[l] < M ? g->cols - t->q[l] : M;                \
                for (int i = 0; i < rows; ++i)                                       \
                    for (int j = 0; j < cols; ++j)                                   \
                        plane[(t->r[l] + i) * g->cols + t->q[l] + j] = y[i * M + j][l]; \
            }                                                                        \
        }                                                                            \
}
WG_OUTPUT(6, 4, wg_at6)
WG_OUTPUT(4, 2, wg_at4)

/* Tiles per block: WG_BLOCK_TILES (a multiple of 8, at most WG_MAX_BLOCK),
   but at least one block per thread.  Each GEMM call packs its U[e]
   afresh, so the block must be wide enough that the packing is small
   beside the multiplies.  Measured one thread at a time on VGG-16's F4
   layers at 840x472 (CPU time of the three steps, best of 3 rounds
   interleaved, bench/winograd_phases.c): 32 tiles, the old choice for U below
   256 KB, took 0.44-0.59 s on conv2_2 (128 -> 128) and 0.20-0.23 s on
   conv3_1 (128 -> 256), against 0.29-0.33 s and 0.14-0.15 s with 256;
   128 to 1024 tiles are within the noise of each other on conv1_2,
   conv2_1, conv3_2 and conv4_2, and 1024 or more lose on 512 channels
   (V and M fall out of L3).  The input transform and the output
   transform take about 25% and 20% of the time, the GEMMs the rest. */
#ifndef WG_BLOCK_TILES
#define WG_BLOCK_TILES 256
#endif
#define WG_MAX_BLOCK 512
static long wg_block_tiles(const wg_geometry *g, long threads)
{
    long pb = WG_BLOCK_TILES / WG_LANES * WG_LANES;
    long share = (g->tiles + threads - 1) / threads;     /* one thread's tiles */
    share = (share + WG_LANES - 1) / WG_LANES * WG_LANES;
    if (pb < WG_LANES) pb = WG_LANES;
    if (pb > WG_MAX_BLOCK) pb = WG_MAX_BLOCK;
    return pb < share ? pb : share;
}

typedef struct {
    const wg_geometry *g;
    const float *x, *u, *bias;
    float *y;
    long pb;
    int failed;
} wg_run_job;

/* Blocks first..last-1 of pb tiles: transform, alpha^2 GEMMs, transform back,
   each block in a buffer of this thread's own. */
static void wg_blocks(void *ctx, long first, long last)
{
    wg_run_job *job = (wg_run_job *)ctx;
    const wg_geometry *g = job->g;
    long a2 = (long)g->alpha * g->alpha, pb = job->pb;
    long sv = wg_estride(g->in, pb), sm = wg_estride(g->out, pb);
    float *v = (float *)malloc(sizeof(float) * a2 * (sv + sm));
    float *mm = v + a2 * sv;
    float one = 1.f, zero = 0.f;
    wg_lanes in_lanes[WG_MAX_BLOCK / WG_LANES], out_lanes[WG_MAX_BLOCK / WG_LANES];
    if (v == NULL) {
        job->failed = 1;   /* one int written by any thread that fails: only ever set to 1 */
        return;
    }
    for (long block = first; block < last; ++block) {
        long p0 = block * pb;
        long count = g->tiles - p0 < pb ? g->tiles - p0 : pb;
        long groups = (count + WG_LANES - 1) / WG_LANES;
        int cols = (int)(groups * WG_LANES), ldv = (int)pb;
        int n_out = (int)g->out, n_in = (int)g->in;
        wg_block_job in_job = {g, job->x, v, p0, pb};
        wg_output_job out_job = {g, mm, job->bias, job->y, p0, pb};
        for (long grp = 0; grp < groups; ++grp) {
            wg_lanes_of(g, p0 + grp * WG_LANES, 0, g->alpha, g->alpha == 6 ? 36 : 18, in_lanes + grp);
            wg_lanes_of(g, p0 + grp * WG_LANES, 1, g->m, g->m * WG_LANES, out_lanes + grp);
        }
        (g->alpha == 6 ? wg_input_6 : wg_input_4)(&in_job, in_lanes, groups);
        /* M[e] (out x cols) = U[e] (out x in) V[e] (in x cols), row-major:
           in Fortran's column-major terms M^T = V^T U^T */
        for (long e = 0; e < a2; ++e)
            sgemm_("N", "N", &cols, &n_out, &n_in, &one, v + e * sv, &ldv,
                   (float *)job->u + e * g->out * g->in, &n_in, &zero,
                   mm + e * sm, &ldv);
        (g->alpha == 6 ? wg_output_6 : wg_output_4)(&out_job, out_lanes, groups);
    }
    free(v);
}

/* y (batch, out, rows, cols) = the pad-1 correlation of x (batch, in, rows,
   cols) with the filters whose transforms are u, plus bias[o] unless bias
   is NULL, the blocks of tiles shared
   out over `threads` threads, each calling a one-thread GEMM (OpenBLAS is
   told so for the call); with another BLAS (blas_mode 1: its own threads;
   0: Theano's numpy fallback, which needs the GIL) one thread does them all.
   Returns 1 if out of memory. */
static int wg_run(const wg_geometry *g, const float *x, const float *u, const float *bias,
                  float *y, long threads, int blas_mode)
{
    wg_run_job job = {g, x, u, bias, y, wg_block_tiles(g, blas_mode == 2 ? threads : 1), 0};
    long blocks = (g->tiles + job.pb - 1) / job.pb;
#ifdef WG_OPENBLAS
    int before = openblas_get_num_threads();
    if (blas_mode == 2 && threads > 1) openblas_set_num_threads(1);
#endif
    if (blas_mode != 2) threads = 1;
    reproduce_parallel(threads, blocks, wg_blocks, &job);
#ifdef WG_OPENBLAS
    if (blas_mode == 2 && threads > 1) openblas_set_num_threads(before);
#endif
    return job.failed;
}

#section support_code_apply

/* params->direction 0: out (batch, K, rows, cols) = the pad-1 correlation of
   data = x (batch, C, rows, cols) with w (K, C, 3, 3); 1: out = the
   gradient to x, (batch, C, rows, cols), from data = gz (batch, K, rows,
   cols).  params->tile: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3).  bias (K,)
   is added to the forward output; NULL for none. */
int APPLY_SPECIFIC(winograd)(PyArrayObject *data, PyArrayObject *filters,
                             PyArrayObject *bias_in, PyArrayObject **out, PARAMS_TYPE *params)
{
    int backward = params->direction != 0;
    const char *what = backward ? "output gradient" : "input";
    PyArrayObject *a = NULL, *w = NULL, *bias = NULL;
    const npy_intp *dd = PyArray_DIMS(data), *dw = PyArray_DIMS(filters);
    wg_geometry g;
    npy_intp dims[4];
    int bad = 0;
    if (dw[2] != 3 || dw[3] != 3) {
        PyErr_Format(PyExc_ValueError, "winograd correlation: filters of shape "
                     "(%ld, %ld, %ld, %ld); want (out, in, 3, 3)",
                     (long)dw[0], (long)dw[1], (long)dw[2], (long)dw[3]);
        return 1;
    }
    if (dd[1] != dw[backward ? 0 : 1]) {
        PyErr_Format(PyExc_ValueError, "winograd correlation: the %s has %ld channels but "
                     "the filters have shape (%ld, %ld, 3, 3); want (%s)", what, (long)dd[1],
                     (long)dw[0], (long)dw[1],
                     backward ? "its channels, in, 3, 3" : "out, its channels, 3, 3");
        return 1;
    }
    /* make_node lets only the forward Op have a bias, and only a vector */
    if (bias_in && PyArray_DIMS(bias_in)[0] != dw[0]) {
        PyErr_Format(PyExc_ValueError, "winograd correlation: a bias of shape (%ld,) for "
                     "filters of shape (%ld, %ld, 3, 3); want (%ld,)",
                     (long)PyArray_DIMS(bias_in)[0], (long)dw[0], (long)dw[1], (long)dw[0]);
        return 1;
    }
    if (params->tile != 2 && params->tile != 4) {
        PyErr_Format(PyExc_ValueError, "winograd correlation: tile %ld; want 2 or 4",
                     (long)params->tile);
        return 1;
    }
    g.batch = dd[0]; g.rows = dd[2]; g.cols = dd[3];
    g.in = dd[1]; g.out = dw[backward ? 1 : 0];
    g.m = (int)params->tile; g.alpha = g.m + 2;
    g.th = (g.rows + g.m - 1) / g.m; g.tw = (g.cols + g.m - 1) / g.m;
    g.tiles = g.batch * g.th * g.tw;
    dims[0] = g.batch; dims[1] = g.out; dims[2] = g.rows; dims[3] = g.cols;
    if (reproduce_output4(out, dims)) return 1;
    if (g.tiles == 0 || g.out == 0) return 0;
    if (bias_in) bias = PyArray_GETCONTIGUOUS(bias_in);
    if (bias_in && bias == NULL) return 1;
    if (g.in == 0) {   /* no channels: the sum is empty */
        float *o = (float *)PyArray_DATA(*out);
        long plane = g.rows * g.cols;
        for (long p = 0; p < g.batch * g.out; ++p)
            for (long k = 0; k < plane; ++k)
                o[p * plane + k] = bias ? 0.f + ((const float *)PyArray_DATA(bias))[p % g.out] : 0.f;
        Py_XDECREF(bias);
        return 0;
    }
    a = PyArray_GETCONTIGUOUS(data);
    w = PyArray_GETCONTIGUOUS(filters);
    bad = a == NULL || w == NULL;
    if (!bad) {
        long threads = params->threads;
        int failed, blas_mode = (int)params->blas;
        PyThreadState *saved = blas_mode ? PyEval_SaveThread() : NULL;
        float *scratch;
        const float *u;
        pthread_mutex_lock(&wg_table_lock);
        u = wg_filters_of(&g, (const float *)PyArray_DATA(w), backward, threads, &scratch);
        failed = u == NULL || wg_run(&g, (const float *)PyArray_DATA(a), u,
                                     bias ? (const float *)PyArray_DATA(bias) : NULL,
                                     (float *)PyArray_DATA(*out), threads, blas_mode);
        pthread_mutex_unlock(&wg_table_lock);
        free(scratch);
        if (saved) PyEval_RestoreThread(saved);
        if (failed) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    Py_XDECREF(a);
    Py_XDECREF(w);
    Py_XDECREF(bias);
    return bad;
}

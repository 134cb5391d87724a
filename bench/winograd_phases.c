/* The three phases of one Winograd layer (input transform, GEMMs, output
   transform), timed in CPU time on one thread for several block sizes,
   interleaved, best of 3 rounds, and the filters' transform (which the Op
   keeps between calls).  It runs the C of reproduce/ops/c_code/winograd.c
   and threads.c outside Theano:

     sed -n '2,/#section support_code_apply/p' reproduce/ops/c_code/winograd.c \
         | grep -v '#section' > /tmp/wg_support.h
     sed -n '2,/^#endif/p' reproduce/ops/c_code/threads.c | grep -v '#section' \
         > /tmp/threads_support.h
     gcc -O3 -march=native -I/tmp -o /tmp/wg_phases bench/winograd_phases.c -lopenblas -lpthread
     /tmp/wg_phases IN OUT ROWS COLS TILE [IN OUT ROWS COLS TILE ...]

   e.g. 128 128 236 420 4 for VGG-16's conv2_2 at 840x472 with F(4x4, 3x3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*, const float*, const int*, const float*, float*, const int*);
void openblas_set_num_threads(int);
#include "threads_support.h"
#include "wg_support.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+1e-9*t.tv_nsec;}
static wg_lanes in_lanes[100000], out_lanes[100000];
static void phases(const wg_geometry *g, const float *x, const float *u, float *y, long pb, double *tt)
{
    long a2 = (long)g->alpha * g->alpha;
    long sv = wg_estride(g->in, pb), sm = wg_estride(g->out, pb);
    float *v = malloc(sizeof(float) * a2 * (sv + sm)), *mm = v + a2 * sv;
    float one = 1, zero = 0;
    long blocks = (g->tiles + pb - 1) / pb;
    for (long block = 0; block < blocks; ++block) {
        long p0 = block * pb, count = g->tiles - p0 < pb ? g->tiles - p0 : pb;
        long groups = (count + 7) / 8;
        int cols = groups * 8, ldv = pb, n_out = g->out, n_in = g->in;
        wg_block_job in_job = {g, x, v, p0, pb};
        wg_output_job out_job = {g, mm, NULL, y, p0, pb};
        double t0 = now();
        for (long grp = 0; grp < groups; ++grp) {
            wg_lanes_of(g, p0 + grp * 8, 0, g->alpha, g->alpha == 6 ? 36 : 18, in_lanes + grp);
            wg_lanes_of(g, p0 + grp * 8, 1, g->m, g->m * 8, out_lanes + grp);
        }
        (g->alpha == 6 ? wg_input_6 : wg_input_4)(&in_job, in_lanes, groups);
        double t1 = now();
        for (long e = 0; e < a2; ++e)
            sgemm_("N", "N", &cols, &n_out, &n_in, &one, v + e * sv, &ldv,
                   u + e * g->out * g->in, &n_in, &zero, mm + e * sm, &ldv);
        double t2 = now();
        (g->alpha == 6 ? wg_output_6 : wg_output_4)(&out_job, out_lanes, groups);
        double t3 = now();
        tt[0] += t1 - t0; tt[1] += t2 - t1; tt[2] += t3 - t2;
    }
    free(v);
}
int main(int argc, char **argv)
{ for (int ai = 1; ai + 4 < argc; ai += 5) { char **av = argv + ai - 1;
    long in = atol(av[1]), out = atol(av[2]), rows = atol(av[3]), cols = atol(av[4]);
    int m = atoi(av[5]);
    openblas_set_num_threads(1);
    wg_geometry g = {1, in, out, rows, cols, m, m + 2};
    g.th = (rows + m - 1) / m; g.tw = (cols + m - 1) / m; g.tiles = g.th * g.tw;
    float *x = malloc(4 * in * rows * cols), *y = malloc(4 * out * rows * cols), *w = malloc(4 * in * out * 9);
    float *u = malloc(4 * (m + 2) * (m + 2) * in * out);
    for (long i = 0; i < in * rows * cols; ++i) x[i] = (float)rand() / RAND_MAX;
    for (long i = 0; i < in * out * 9; ++i) w[i] = (float)rand() / RAND_MAX - .5f;
    double filters = 1e9;
    for (int round = 0; round < 3; ++round) {
        wg_filter_job fj = {&g, w, round % 2, u};   /* forward, input gradient, forward */
        double t0 = now();
        wg_filters(&fj, 0, out);
        if (now() - t0 < filters) filters = now() - t0;
    }
    { wg_filter_job fj = {&g, w, 0, u}; wg_filters(&fj, 0, out); }
    printf("%ld->%ld %ldx%ld F%d", in, out, rows, cols, m); printf(": %ld tiles, the Op's block with 2 threads %ld (last row); the filters' transform %.1f ms\n", g.tiles, wg_block_tiles(&g, 2), 1e3 * filters);
    long pbs[] = {32, 64, 128, 256, 512, 1024, 2048, 0}; pbs[7] = wg_block_tiles(&g, 2);
    double best[8][3]; for (int i=0;i<8;++i) for(int j=0;j<3;++j) best[i][j]=1e9;
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 8; ++i) {
            double tt[3] = {0, 0, 0};
            phases(&g, x, u, y, pbs[i], tt);
            for (int j = 0; j < 3; ++j) if (tt[j] < best[i][j]) best[i][j] = tt[j];
        }
    double gf = 2.0 * (m + 2) * (m + 2) * in * out * g.tiles * 1e-9;
    for (int i = 0; i < 8; ++i)
        printf("pb %4ld  input %.3f  gemm %.3f (%.1f GF/s)  output %.3f  total %.3f s\n", pbs[i], best[i][0], best[i][1], gf / best[i][1], best[i][2], best[i][0] + best[i][1] + best[i][2]);
    fflush(stdout); free(x); free(y); free(w); free(u); }
    return 0;
}

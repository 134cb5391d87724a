#section support_code

/* The one way our Ops run on several cores (reproduce/ops/cop.py puts this
   file before an Op's own when the Op is `threaded`).  Guarded: a module
   with two such Ops compiles it once.

   Plain threads started for the call, which sleep when done: OpenMP's
   spinning workers starved the BLAS's threads of the neighbouring GEMMs
   (measured on the depthwise Op: the step took 2.7x as long). */
#ifndef REPRODUCE_THREADS
#define REPRODUCE_THREADS

#include <pthread.h>

#define REPRODUCE_MAX_THREADS 64

typedef struct {
    void (*work)(void *ctx, long first, long last);
    void *ctx;
    long first, last;
} reproduce_task;

static void *reproduce_task_run(void *arg)
{
    reproduce_task *t = (reproduce_task *)arg;
    t->work(t->ctx, t->first, t->last);
    return NULL;
}

/* work(ctx, first, last) over [0, n) split into `threads` ranges (at most
   REPRODUCE_MAX_THREADS, at most n).  The caller runs the first range, and
   any range whose thread failed to start. */
static void reproduce_parallel(long threads, long n, void (*work)(void *, long, long),
                               void *ctx)
{
    reproduce_task tasks[REPRODUCE_MAX_THREADS];
    pthread_t ids[REPRODUCE_MAX_THREADS];
    int started[REPRODUCE_MAX_THREADS];
    if (threads > REPRODUCE_MAX_THREADS) threads = REPRODUCE_MAX_THREADS;
    if (threads > n) threads = n;
    if (threads < 1) threads = 1;
    for (long i = 0; i < threads; ++i) {
        reproduce_task t = {work, ctx, n * i / threads, n * (i + 1) / threads};
        tasks[i] = t;
        started[i] = i > 0 && pthread_create(&ids[i], NULL, reproduce_task_run, &tasks[i]) == 0;
    }
    for (long i = 0; i < threads; ++i)
        if (!started[i]) reproduce_task_run(&tasks[i]);
    for (long i = 0; i < threads; ++i)
        if (started[i]) pthread_join(ids[i], NULL);
}

/* Threads worth starting for `work` elements of streaming work: one below
   REPRODUCE_MIN_SHARE each (a thread's start costs tens of microseconds). */
#define REPRODUCE_MIN_SHARE 65536L
static long reproduce_threads_for(long threads, long work)
{
    long most = work / REPRODUCE_MIN_SHARE;
    if (most < 1) most = 1;
    return threads < most ? threads : most;
}

#endif

/*
 * test_cpu_threads.c — the CPU backend's thread pool (cpu/cpu_threads.c) under churn: many
 * short loops back to back, of varying sizes, each task counting itself into a slot of its
 * own loop's array with a poisoned guard slot past the end. Every loop must run each of its
 * tasks exactly once, never an index past its n, and return only when all are done.
 *
 * The pool is oversubscribed on purpose (VKB_CPU_THREADS=8 on a 2-core machine unless the
 * caller sets it) so workers are often descheduled mid-claim: the window in which a worker
 * left over from one loop could claim a task of the next is what this test is for.
 */
#include "cpu_internal.h"
#include "testlib.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_N 67
#define LOOPS 200000

typedef struct loop_ctx {
    int n;
    atomic_int hits[MAX_N + 1]; /* hits[n] is the guard: no task may touch it */
    atomic_int out_of_range;
} loop_ctx;

static void count_task(void *arg, int i)
{
    loop_ctx *c = arg;
    if (i < 0 || i >= c->n) {
        atomic_fetch_add(&c->out_of_range, 1);
        return;
    }
    atomic_fetch_add(&c->hits[i], 1);
}

int main(void)
{
    setenv("VKB_CPU_THREADS", "8", 0);
    printf("pool: %d threads\n", cpu_threads());
    /* Two contexts used alternately: a task of loop k run late would land in the other. */
    static loop_ctx ctx[2];
    tl_seed(14);
    long bad_loops = 0, first_bad = -1;
    for (long k = 0; k < LOOPS; k++) {
        loop_ctx *c = &ctx[k & 1];
        c->n = 1 + (int)(tl_randu() % MAX_N);
        for (int i = 0; i <= MAX_N; i++)
            atomic_store(&c->hits[i], 0);
        atomic_store(&c->out_of_range, 0);
        cpu_parallel_for(c->n, count_task, c);
        /* On return every task is done: the counts are final now. */
        int ok = atomic_load(&c->out_of_range) == 0 && atomic_load(&c->hits[c->n]) == 0;
        for (int i = 0; i < c->n && ok; i++)
            ok = atomic_load(&c->hits[i]) == 1;
        if (!ok) {
            if (first_bad < 0)
                first_bad = k;
            bad_loops++;
        }
    }
    CHECK(bad_loops == 0, "%ld of %d loops ran a task twice, not at all or out of range (first: loop %ld)",
          bad_loops, LOOPS, first_bad);
    printf("%d loops of 1..%d tasks: %ld wrong\n", LOOPS, MAX_N, bad_loops);
    return tl_finish();
}

/*
 * cpu_threads.c — the CPU backend's own thread pool: cpu_parallel_for(n, fn, ctx) runs
 * fn(ctx, 0..n-1) on the calling thread plus the pool's workers and returns when all are done.
 *
 * Why our own: OpenBLAS parks its threads by spinning with sched_yield between calls, and an
 * encoder forward is hundreds of small calls (perf: ~25% of a MiniLM forward in the scheduler,
 * issue 14). Here the workers spin only briefly (VKB_SPIN_ITERS pauses, a few microseconds,
 * enough to bridge the gap between two ops of one forward), then sleep on a condition variable.
 *
 * One pool per process, created on first use with VKB_CPU_THREADS threads (default: the
 * online CPUs), calling thread included. A second caller arriving while the pool is busy (two
 * engine workers on two CPU backends) runs its loop alone instead of waiting: no deadlock, no
 * oversubscription. Tasks are claimed from an atomic counter, so uneven tasks balance.
 */
#include "cpu_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define VKB_MAX_CPU_THREADS 64
#define VKB_SPIN_ITERS 20000

typedef struct pool {
    pthread_mutex_t lock;   /* guards gen and sleeping workers' wake-up */
    pthread_cond_t wake;
    pthread_mutex_t busy;   /* held by the caller of a running loop */
    int nthreads;           /* workers + the caller */
    /* The current loop: published under lock, generation bumped last. */
    void (*fn)(void *ctx, int i);
    void *ctx;
    int n;
    atomic_int next;        /* next task index to claim */
    atomic_int pending;     /* workers not yet done with this generation */
    atomic_uint gen;
} pool;

static pool g_pool;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void run_tasks(pool *p)
{
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n)
            break;
        p->fn(p->ctx, i);
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *arg)
{
    pool *p = arg;
    unsigned seen = 0; /* gen's value at creation: a worker that starts late still sees loop 1 */
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               spins++ < VKB_SPIN_ITERS)
            cpu_relax();
        if (g == seen) {
            pthread_mutex_lock(&p->lock);
            while ((g = atomic_load(&p->gen)) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        seen = g;
        run_tasks(p);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

static void pool_init(void)
{
    pool *p = &g_pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->busy, NULL);
    pthread_cond_init(&p->wake, NULL);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("VKB_CPU_THREADS");
    if (env && *env)
        n = strtol(env, NULL, 10);
    if (n < 1)
        n = 1;
    if (n > VKB_MAX_CPU_THREADS)
        n = VKB_MAX_CPU_THREADS;
    p->nthreads = 1;
    for (long i = 1; i < n; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker, p);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break; /* fewer threads: still correct */
        p->nthreads++;
    }
}

int cpu_threads(void)
{
    pthread_once(&g_once, pool_init);
    return g_pool.nthreads;
}

void cpu_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx)
{
    pthread_once(&g_once, pool_init);
    pool *p = &g_pool;
    if (n <= 0)
        return;
    if (n == 1 || p->nthreads == 1 || pthread_mutex_trylock(&p->busy) != 0) {
        for (int i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    int workers = p->nthreads - 1;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, workers, memory_order_relaxed);
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_tasks(p);
    /* Every worker passes through run_tasks once per generation; wait for the stragglers. */
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++)
        if (spins < VKB_SPIN_ITERS)
            cpu_relax();
        else
            sched_yield(); /* a worker was descheduled: let it run */
    pthread_mutex_unlock(&p->busy);
}

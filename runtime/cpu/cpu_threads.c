/*
 * cpu_threads.c — the CPU backend's own thread pool: cpu_parallel_for(n, fn, ctx) runs
 * fn(ctx, 0..n-1) on the calling thread plus the pool's workers and returns when all are done.
 *
 * Why our own: OpenBLAS parks its threads by spinning with sched_yield between calls, and an
 * encoder forward is hundreds of small calls (perf: ~25% of a MiniLM forward in the scheduler,
 * issue 14). Here the workers spin only briefly (VKB_SPIN_ITERS pauses, some 50 microseconds,
 * enough to bridge the gap between two ops of one forward), then sleep on a condition variable.
 *
 * One pool per process, created on first use with VKB_CPU_THREADS threads (default: the
 * online CPUs), calling thread included. A second caller arriving while the pool is busy (two
 * engine workers on two CPU backends) runs its loop alone instead of waiting: no deadlock, no
 * oversubscription. Tasks are claimed one at a time from a ticket (below), so uneven tasks
 * balance, and the caller waits only for tasks being run, never for a sleeping worker.
 */
#include "cpu_internal.h"
#include "vkb_platform.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define VKB_MAX_CPU_THREADS 64
#define VKB_SPIN_ITERS 2000
/* A task index no loop reaches (n is an int): the ticket of a loop that is over. */
#define TICKET_CLOSED 0x7fffffffu

typedef struct pool {
    pthread_mutex_t lock;   /* guards sleeping workers' wake-up */
    pthread_cond_t wake;
    pthread_mutex_t busy;   /* held by the caller of a running loop */
    int nthreads;           /* workers + the caller */
    /* The current loop, written before its ticket is published and kept until it is done. */
    void (*fn)(void *ctx, int i);
    void *ctx;
    atomic_int n;           /* read by workers that may be a loop late: atomic, and written
                             * only while the ticket is closed (cpu_parallel_for) */
    /* (generation << 32) | next task index. A worker claims task i of generation g only by
     * moving the ticket from (g, i) to (g, i + 1), so a worker that slept through a loop
     * never takes, or skips, a task of the next one; and the caller waits for its n tasks to
     * be done, never for a worker that has not woken up. */
    _Atomic uint64_t ticket;
    atomic_int done;        /* tasks of the current loop finished */
} pool;

static pool g_pool;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs tasks of generation gen until none is left. */
static void run_tasks(pool *p, uint32_t gen)
{
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen || (int)(uint32_t)t >= atomic_load_explicit(&p->n, memory_order_acquire))
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* t now holds the current ticket */
        p->fn(p->ctx, (int)(uint32_t)t);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

static uint32_t ticket_gen(pool *p)
{
    return (uint32_t)(atomic_load_explicit(&p->ticket, memory_order_acquire) >> 32);
}

static void *worker(void *arg)
{
    pool *p = arg;
    uint32_t seen = 0; /* the ticket's generation at creation */
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = ticket_gen(p)) == seen && spins++ < VKB_SPIN_ITERS)
            cpu_relax();
        if (g == seen) {
            pthread_mutex_lock(&p->lock);
            while ((g = ticket_gen(p)) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        seen = g;
        run_tasks(p, g);
    }
    return NULL;
}

static void pool_init(void)
{
    pool *p = &g_pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->busy, NULL);
    pthread_cond_init(&p->wake, NULL);
    long n = vkb_cpu_count();
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
    /* Close the last loop's ticket before n changes. A worker left over from it may hold the
     * ticket (g, n_old) and read the new, larger n: with the ticket still at (g, n_old) its
     * compare-exchange would succeed and it would run index n_old, past the end of whatever
     * loop it then sees, and count it into the new loop's done (a segfault in CI, caught by
     * test_cpu_threads). At (g, TICKET_CLOSED) that exchange fails and the worker returns.
     * (n is stored with release and read with acquire, so a worker that sees the new n also
     * sees the closed ticket, on weakly ordered CPUs too.) */
    uint32_t gen = ticket_gen(p) + 1;
    atomic_exchange_explicit(&p->ticket, ((uint64_t)(gen - 1) << 32) | TICKET_CLOSED, memory_order_acq_rel);
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->n, n, memory_order_release);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->lock);
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_tasks(p, gen);
    /* Every task is claimed; wait for those a worker is still running. */
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n; spins++)
        if (spins < VKB_SPIN_ITERS)
            cpu_relax();
        else
            sched_yield(); /* that worker was descheduled: let it run */
    pthread_mutex_unlock(&p->busy);
}

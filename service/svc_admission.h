/*
 * svc_admission.h — GPU_MAX_CONCURRENT compute slots with a first-come-first-served line.
 *
 * The original service held an asyncio semaphore for at most 1 s, then answered
 * 503 + Retry-After. Here the event loop never waits: a request that finds no free slot is
 * put in line (svc_admission_wait) and the caller arms a 1 s timer; when a slot frees,
 * svc_admission_release hands it straight to the oldest waiter; if the timer fires first the
 * caller cancels the wait and answers 503. Loop-thread only: no locks.
 */
#ifndef VKB_SVC_ADMISSION_H
#define VKB_SVC_ADMISSION_H

typedef struct svc_waiter {
    struct svc_waiter *prev, *next; /* links in the line; both NULL when not waiting */
} svc_waiter;

typedef struct svc_admission {
    int slots;       /* GPU_MAX_CONCURRENT */
    int in_use;      /* slots held, 0..slots */
    int n_waiting;   /* length of the line */
    svc_waiter line; /* sentinel: line.next is the oldest waiter */
} svc_admission;

void svc_admission_init(svc_admission *a, int slots);
/* Takes a slot if one is free and nobody is waiting for it (no overtaking the line). */
int svc_admission_try_acquire(svc_admission *a);
/* Joins the end of the line. */
void svc_admission_wait(svc_admission *a, svc_waiter *w);
/* Leaves the line (timed out, or the client went away); harmless if not waiting. */
void svc_admission_cancel(svc_admission *a, svc_waiter *w);
int svc_admission_is_waiting(const svc_waiter *w);
/* Gives a slot back. If someone waits, the slot passes to the oldest waiter, who leaves the
 * line and is returned (the caller starts its work); else NULL. */
svc_waiter *svc_admission_release(svc_admission *a);

#endif

/*
 * svc_pool.h — threads for the blocking calls the event loop must not make (model loads,
 * token-id embeddings, the device inventory), and the message type that brings their
 * results, and the engine's, back to the loop.
 *
 * Every result travels as an svc_msg through one h2o multithread receiver: the sender
 * calls svc_msg_post from any thread; the loop thread then runs msg->on_loop.
 */
#ifndef VKB_SVC_POOL_H
#define VKB_SVC_POOL_H

#ifndef H2O_USE_LIBUV
#define H2O_USE_LIBUV 0 /* Debian's headers otherwise compile against libuv's types */
#endif
#include <h2o.h>
#include <h2o/multithread.h>

typedef struct svc_msg {
    h2o_multithread_message_t super; /* first: the receiver hands back this pointer */
    void (*on_loop)(struct svc_msg *msg);
} svc_msg;

/* Posts msg to the loop (thread-safe). */
void svc_msg_post(h2o_multithread_receiver_t *receiver, svc_msg *msg);
/* The receiver callback: unlinks each message and runs its on_loop. */
void svc_msg_dispatch(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

typedef struct svc_task {
    svc_msg msg;                     /* posted once run returns */
    void (*run)(struct svc_task *t); /* on a pool thread */
    struct svc_task *next;           /* queue link */
} svc_task;

typedef struct svc_pool svc_pool;

/* Starts n threads that run submitted tasks in order of submission. */
int svc_pool_create(int n, h2o_multithread_receiver_t *receiver, svc_pool **out);
void svc_pool_submit(svc_pool *p, svc_task *t);
/* Like svc_pool_submit unless max_queued tasks are already waiting: then -1, t untouched.
 * For work a client asks for directly, so that a flood cannot queue without bound. */
#define SVC_POOL_MAX_QUEUED 256
int svc_pool_try_submit(svc_pool *p, svc_task *t, int max_queued);
/* Runs what is queued, then joins the threads. */
void svc_pool_destroy(svc_pool *p);

#endif

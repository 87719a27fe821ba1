/* svc_pool.c — see svc_pool.h. */
#include "svc_pool.h"

#include <pthread.h>
#include <stdlib.h>

void svc_msg_post(h2o_multithread_receiver_t *receiver, svc_msg *msg)
{
    h2o_multithread_send_message(receiver, &msg->super);
}

void svc_msg_dispatch(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        svc_msg *msg = H2O_STRUCT_FROM_MEMBER(svc_msg, super.link, messages->next);
        h2o_linklist_unlink(&msg->super.link);
        msg->on_loop(msg); /* may free msg */
    }
}

struct svc_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    svc_task *head, *tail; /* FIFO of tasks not yet started */
    int queued;            /* tasks in it */
    int stopping;
    int n_threads;
    pthread_t *threads;
    h2o_multithread_receiver_t *receiver;
};

static void *worker(void *arg)
{
    svc_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        svc_task *t = p->head;
        if (t) {
            p->head = t->next;
            if (!p->head)
                p->tail = NULL;
            p->queued--;
        }
        pthread_mutex_unlock(&p->lock);
        if (!t)
            return NULL; /* stopping and nothing left */
        t->run(t);
        svc_msg_post(p->receiver, &t->msg);
    }
}

int svc_pool_create(int n, h2o_multithread_receiver_t *receiver, svc_pool **out)
{
    svc_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->receiver = receiver;
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    if (!p->threads) {
        svc_pool_destroy(p);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            svc_pool_destroy(p);
            return -1;
        }
        p->n_threads++;
    }
    *out = p;
    return 0;
}

static void enqueue_locked(svc_pool *p, svc_task *t)
{
    t->next = NULL;
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->queued++;
    pthread_cond_signal(&p->wake);
}

void svc_pool_submit(svc_pool *p, svc_task *t)
{
    pthread_mutex_lock(&p->lock);
    enqueue_locked(p, t);
    pthread_mutex_unlock(&p->lock);
}

int svc_pool_try_submit(svc_pool *p, svc_task *t, int max_queued)
{
    pthread_mutex_lock(&p->lock);
    int ok = p->queued < max_queued;
    if (ok)
        enqueue_locked(p, t);
    pthread_mutex_unlock(&p->lock);
    return ok ? 0 : -1;
}

void svc_pool_destroy(svc_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}

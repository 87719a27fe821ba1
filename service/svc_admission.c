/* svc_admission.c — see svc_admission.h. */
#include "svc_admission.h"

#include <stddef.h>

void svc_admission_init(svc_admission *a, int slots)
{
    a->slots = slots;
    a->in_use = 0;
    a->n_waiting = 0;
    a->line.prev = a->line.next = &a->line;
}

int svc_admission_try_acquire(svc_admission *a)
{
    if (a->in_use >= a->slots || a->n_waiting > 0)
        return 0;
    a->in_use++;
    return 1;
}

void svc_admission_wait(svc_admission *a, svc_waiter *w)
{
    w->prev = a->line.prev;
    w->next = &a->line;
    a->line.prev->next = w;
    a->line.prev = w;
    a->n_waiting++;
}

int svc_admission_is_waiting(const svc_waiter *w) { return w->next != NULL; }

void svc_admission_cancel(svc_admission *a, svc_waiter *w)
{
    if (!svc_admission_is_waiting(w))
        return;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = NULL;
    a->n_waiting--;
}

svc_waiter *svc_admission_release(svc_admission *a)
{
    if (a->n_waiting > 0) {
        svc_waiter *w = a->line.next;
        svc_admission_cancel(a, w);
        return w; /* the slot stays in use: it now belongs to w */
    }
    if (a->in_use > 0)
        a->in_use--;
    return NULL;
}

/* test_service_admission.c — compute slots and the line in front of them. */
#include "svc_admission.h"
#include "testlib.h"

int main(void)
{
    svc_admission a;
    svc_admission_init(&a, 2);
    CHECK(svc_admission_try_acquire(&a) && svc_admission_try_acquire(&a), "two free slots");
    CHECK(!svc_admission_try_acquire(&a) && a.in_use == 2, "third request finds none");

    svc_waiter w1 = {0}, w2 = {0}, w3 = {0};
    CHECK(!svc_admission_is_waiting(&w1), "fresh waiter is not in line");
    svc_admission_wait(&a, &w1);
    svc_admission_wait(&a, &w2);
    svc_admission_wait(&a, &w3);
    CHECK(a.n_waiting == 3 && svc_admission_is_waiting(&w2), "three in line");

    svc_admission_cancel(&a, &w2); /* w2 timed out */
    CHECK(a.n_waiting == 2 && !svc_admission_is_waiting(&w2), "cancel leaves the line");
    svc_admission_cancel(&a, &w2);
    CHECK(a.n_waiting == 2, "cancel twice is harmless");

    CHECK(svc_admission_release(&a) == &w1 && a.in_use == 2, "slot passes to the oldest");
    CHECK(!svc_admission_is_waiting(&w1), "w1 left the line");
    CHECK(!svc_admission_try_acquire(&a), "no overtaking while w3 waits");
    CHECK(svc_admission_release(&a) == &w3 && a.n_waiting == 0, "then to w3");
    CHECK(svc_admission_release(&a) == NULL && a.in_use == 1, "no one waits: slot freed");
    CHECK(svc_admission_try_acquire(&a) && a.in_use == 2, "and taken again");
    CHECK(svc_admission_release(&a) == NULL && svc_admission_release(&a) == NULL && a.in_use == 0,
          "all free");
    CHECK(svc_admission_release(&a) == NULL && a.in_use == 0, "extra release does not go negative");
    return tl_finish();
}

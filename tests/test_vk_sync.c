/*
 * test_vk_sync.c — the positive control of the synchronization checks: proof that the
 * validation layer, as the tests run it (VKB_VALIDATION=1: synchronization validation on),
 * reports a missing barrier. lavapipe runs dispatches one after another, so a missing barrier
 * never changes a number there; only the layer can see it.
 *
 * For each kernel family: one batch of dependent ops (matmul -> layernorm -> matmul -> pool,
 * each reading the previous output) recorded normally must produce zero messages and the
 * CPU backend's numbers; the same batch on a backend opened with VKB_TEST_DROP_BARRIER=1
 * (vk_batch.c leaves out the batch's first barrier, the one between the first matmul's write
 * and the layernorm's read) must produce synchronization hazards (SYNC-HAZARD-*). Without
 * the layer: SKIP.
 */
#include "helper_ops.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Records the chain on op->vk and on op->cpu; returns the relative error of the pooled
 * output, or INFINITY when an op failed. */
static double run_chain(ops_pair *op)
{
    int B = 3, L = 9, C = 64, rows = B * L;
    float *x = ops_rand((size_t)rows * C), *w1 = ops_rand((size_t)C * C);
    float *w2 = ops_rand((size_t)C * C), *g = ops_rand(C), *bt = ops_rand(C);
    int32_t len[3] = {9, 4, 7};
    ops_twin X = ops_twin_f32(op, x, (size_t)rows * C);
    ops_twin W1 = ops_twin_weight(op, w1, C, C, VKB_F32, 0);
    ops_twin W2 = ops_twin_weight(op, w2, C, C, VKB_F32, 0);
    ops_twin G = ops_twin_f32(op, g, C), Bt = ops_twin_f32(op, bt, C), N = ops_twin_i32(op, len, B);
    ops_twin H1 = ops_twin_poison(op, (size_t)rows * C), H2 = ops_twin_poison(op, (size_t)rows * C);
    ops_twin H3 = ops_twin_poison(op, (size_t)rows * C), O = ops_twin_poison(op, (size_t)B * C);
    ops_twin *ts[] = {&X, &W1, &W2, &G, &Bt, &N, &H1, &H2, &H3, &O};
    vkb_backend *bs[2] = {op->cpu, op->vk};
    int rc = VKB_OK;
    for (int k = 0; k < 2; k++) {
        vkb_backend *b = bs[k];
        vkb_tensor *t[10];
        for (int i = 0; i < 10; i++)
            t[i] = k ? ts[i]->vk : ts[i]->cpu;
        rc |= vkb_batch_begin(b);
        rc |= vkb_op_matmul(b, t[6], t[0], t[1], NULL, NULL, rows, C, C, VKB_ACT_GELU_ERF);
        rc |= vkb_op_layernorm(b, t[7], t[6], t[0], t[3], t[4], rows, C, 1e-5f);
        rc |= vkb_op_matmul(b, t[8], t[7], t[2], NULL, t[6], rows, C, C, VKB_ACT_NONE);
        rc |= vkb_op_pool(b, t[9], t[8], t[5], B, L, C, VKB_POOL_MEAN, 1);
        rc |= vkb_batch_end(b);
    }
    double e = rc == VKB_OK ? ops_compare(&O, (size_t)B * C) : INFINITY;
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        ops_twin_free(ts[i]);
    free(x);
    free(w1);
    free(w2);
    free(g);
    free(bt);
    return e;
}

static void control(const char *kernels)
{
    setenv("VKB_KERNELS", kernels, 1);
    unsetenv("VKB_TEST_DROP_BARRIER");
    ops_pair op;
    if (ops_pair_open(&op, kernels) != VKB_OK) {
        CHECK(0, "%s kernels: cannot open Vulkan: %s", kernels, op.err);
        return;
    }
    int before = vkb_vulkan_validation_errors();
    double e = run_chain(&op);
    int clean = vkb_vulkan_validation_errors() - before;
    CHECK(e <= 1e-4 && clean == 0, "%s kernels, every barrier: rel err %.3g, %d messages",
          kernels, e, clean);
    printf("%s kernels, every barrier: %d validation messages\n", kernels, clean);
    ops_pair_close(&op);

    setenv("VKB_TEST_DROP_BARRIER", "1", 1);
    if (ops_pair_open(&op, kernels) != VKB_OK) {
        CHECK(0, "%s kernels: cannot open Vulkan: %s", kernels, op.err);
        return;
    }
    int hazards0 = vkb_vulkan_sync_hazards();
    run_chain(&op); /* lavapipe still gets the numbers right: only the layer sees the hazard */
    int caught = vkb_vulkan_sync_hazards() - hazards0;
    CHECK(caught > 0, "%s kernels, first barrier dropped: the layer reported no hazard",
          kernels);
    printf("positive control, %s kernels, first barrier dropped: %d synchronization hazards "
           "reported (%s)\n", kernels, caught, caught > 0 ? "caught" : "MISSED");
    ops_pair_close(&op);
    unsetenv("VKB_TEST_DROP_BARRIER");
}

int main(void)
{
    tl_seed(15);
    const char *v = getenv("VKB_VALIDATION");
    if (!v || !*v)
        setenv("VKB_VALIDATION", "1", 1);
    vkb_device_info *devs = NULL;
    int n = 0;
    char err[256] = "";
    if (vkb_vulkan_devices(&devs, &n, err, sizeof err) != VKB_OK) {
        printf("SKIP test_vk_sync: no Vulkan device (%s)\n", err);
        return tl_finish();
    }
    free(devs);
    if (!vkb_vulkan_sync_validation()) {
        printf("SKIP test_vk_sync: no synchronization validation (VK_LAYER_KHRONOS_validation "
               "with VK_EXT_validation_features not installed: Debian vulkan-validationlayers)\n");
        return tl_finish();
    }
    printf("synchronization validation on\n");
    control("gpu");
    control("cpu");
    /* Every message of this process came from the dropped barriers: all hazards. */
    CHECK(vkb_vulkan_validation_errors() == vkb_vulkan_sync_hazards(),
          "%d validation messages, %d of them synchronization hazards",
          vkb_vulkan_validation_errors(), vkb_vulkan_sync_hazards());
    return tl_finish();
}

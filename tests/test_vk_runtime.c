/*
 * test_vk_runtime.c — the Vulkan runtime around the ops: device inventory, opening (twice,
 * bad index), memory accounting and sub-allocation, staging transfers, tensors larger than
 * maxStorageBufferRange, whole batches with barriers and timestamps, frees while recording,
 * and the on-disk pipeline cache. Any validation-layer message fails. No Vulkan: SKIP.
 */
#include "helper_ops.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_inventory(void)
{
    vkb_device_info *devs = NULL;
    int n = 0;
    char err[256] = "";
    int rc = vkb_vulkan_devices(&devs, &n, err, sizeof err);
    CHECK(rc == VKB_OK && n >= 1, "vkb_vulkan_devices: rc %d n %d (%s)", rc, n, err);
    for (int i = 0; i < n; i++) {
        const vkb_device_info *d = &devs[i];
        CHECK(d->index == i && d->name[0] && d->vendor[0] && d->type[0],
              "device %d: index %d name '%s' vendor '%s' type '%s'", i, d->index, d->name,
              d->vendor, d->type);
        unsigned a, b, c;
        CHECK(sscanf(d->api_version_str, "%u.%u.%u", &a, &b, &c) == 3 && d->api_version,
              "device %d api version '%s'", i, d->api_version_str);
        CHECK(d->subgroup_size >= 1 && (d->subgroup_ops & 1) && d->max_shared_memory >= 16384 &&
                  d->max_storage_buffer_range >= (1u << 27) && d->max_texel_buffer_elements,
              "device %d limits: subgroup %u ops %#x shared %u range %llu", i, d->subgroup_size,
              d->subgroup_ops, d->max_shared_memory,
              (unsigned long long)d->max_storage_buffer_range);
        CHECK(d->n_heaps >= 1 && d->heaps[0].size > 0, "device %d heaps %d", i, d->n_heaps);
        for (int h = 0; h < d->n_heaps; h++)
            CHECK(d->has_memory_budget || (d->heaps[h].budget == 0 && d->heaps[h].usage == 0),
                  "device %d heap %d: budget without VK_EXT_memory_budget", i, h);
    }
    free(devs);
    unsigned a, b, c;
    CHECK(sscanf(vkb_vulkan_loader_version(), "%u.%u.%u", &a, &b, &c) == 3,
          "loader version '%s'", vkb_vulkan_loader_version());
}

static void test_open(void)
{
    vkb_backend *b1 = NULL, *b2 = NULL, *bad = NULL;
    char err[256] = "";
    int rc1 = vkb_backend_open("vulkan:0", &b1, err, sizeof err);
    int rc2 = vkb_backend_open("vulkan:0", &b2, err, sizeof err);
    CHECK(rc1 == VKB_OK && rc2 == VKB_OK && b1 != b2, "open vulkan:0 twice: %d %d", rc1, rc2);
    if (b1 && b2) {
        CHECK(!strcmp(vkb_backend_id(b1), "vulkan:0") && vkb_backend_is_vulkan(b1) &&
                  vkb_backend_device_info(b1) && vkb_backend_device_name(b1)[0],
              "backend facts: id '%s'", vkb_backend_id(b1));
        /* The two replicas hold independent data. */
        float one = 1.0f, two = 2.0f, got1 = 0, got2 = 0;
        vkb_tensor *t1 = vkb_tensor_new(b1, VKB_F32, 1), *t2 = vkb_tensor_new(b2, VKB_F32, 1);
        vkb_tensor_upload(t1, 0, &one, 1);
        vkb_tensor_upload(t2, 0, &two, 1);
        vkb_tensor_download(t1, 0, &got1, 1);
        vkb_tensor_download(t2, 0, &got2, 1);
        CHECK(got1 == 1.0f && got2 == 2.0f, "replicas: %g %g", got1, got2);
        vkb_tensor_free(t1);
        vkb_tensor_free(t2);
    }
    vkb_backend_close(b1);
    vkb_backend_close(b2);
    int rc = vkb_backend_open("vulkan:99", &bad, err, sizeof err);
    CHECK(rc == VKB_EDEVICE && !bad && strstr(err, "99"), "vulkan:99: rc %d '%s'", rc, err);
}

/* Many tensors in few blocks: contents never overlap through alloc/free churn, and the
 * backend's byte counters follow. */
static void test_memory(vkb_backend *b)
{
    enum { N = 300 };
    vkb_tensor *t[N];
    uint64_t base = vkb_backend_bytes_in_use(b);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 37 % 1000);
        t[i] = vkb_tensor_new(b, VKB_I32, n);
        int32_t *v = malloc(n * sizeof *v);
        for (size_t k = 0; k < n; k++)
            v[k] = i * 100000 + (int32_t)k;
        vkb_tensor_upload(t[i], 0, v, n);
        free(v);
        total += n * 4;
    }
    CHECK(vkb_backend_bytes_in_use(b) == base + total, "bytes in use %llu, want %llu",
          (unsigned long long)vkb_backend_bytes_in_use(b), (unsigned long long)(base + total));
    for (int i = 0; i < N; i += 2) {
        vkb_tensor_free(t[i]);
        t[i] = vkb_tensor_new(b, VKB_I32, 2000); /* refills the holes (and more) */
        int32_t *v = calloc(2000, sizeof *v);
        vkb_tensor_upload(t[i], 0, v, 2000);
        free(v);
    }
    int intact = 1;
    for (int i = 1; i < N; i += 2) {
        size_t n = vkb_tensor_count(t[i]);
        int32_t *v = malloc(n * sizeof *v);
        vkb_tensor_download(t[i], 0, v, n);
        for (size_t k = 0; k < n; k++)
            intact &= v[k] == i * 100000 + (int32_t)k;
        free(v);
    }
    CHECK(intact, "sub-allocated tensors overwrote each other");
    uint64_t peak = vkb_backend_bytes_peak(b);
    for (int i = 0; i < N; i++)
        vkb_tensor_free(t[i]);
    CHECK(vkb_backend_bytes_in_use(b) == base && peak >= base + total,
          "after free: in use %llu peak %llu", (unsigned long long)vkb_backend_bytes_in_use(b),
          (unsigned long long)peak);
}

/* VKB_FORCE_STAGING=1: transfers through the staging buffer (in chunks past its 32 MiB). */
static void test_staging(void)
{
    setenv("VKB_FORCE_STAGING", "1", 1);
    ops_pair op;
    int rc = ops_pair_open(&op, "staging");
    unsetenv("VKB_FORCE_STAGING");
    CHECK(rc == VKB_OK, "open with staging: %s", op.err);
    if (rc != VKB_OK)
        return;
    size_t n = (40u << 20) / 4 + 123;
    float *v = ops_rand(n), *back = malloc(n * sizeof *back);
    vkb_tensor *t = vkb_tensor_new(op.vk, VKB_F32, n);
    int up = vkb_tensor_upload(t, 0, v, n);
    int down = vkb_tensor_download(t, 0, back, n);
    CHECK(up == VKB_OK && down == VKB_OK && !memcmp(v, back, n * sizeof *v),
          "staged 40 MiB round trip: %d %d", up, down);
    float part[5] = {0};
    vkb_tensor_download(t, n - 7, part, 5);
    CHECK(!memcmp(part, v + n - 7, sizeof part), "staged partial download");
    vkb_tensor_free(t);
    free(v);
    free(back);
    /* an op between staged upload and download */
    int M = 37, N = 29, K = 64;
    float *x = ops_rand((size_t)M * K), *w = ops_rand((size_t)N * K);
    ops_twin X = ops_twin_f32(&op, x, (size_t)M * K), W = ops_twin_f32(&op, w, (size_t)N * K);
    ops_twin Y = ops_twin_poison(&op, (size_t)M * N);
    vkb_op_matmul(op.cpu, Y.cpu, X.cpu, W.cpu, NULL, NULL, M, N, K, VKB_ACT_NONE);
    vkb_op_matmul(op.vk, Y.vk, X.vk, W.vk, NULL, NULL, M, N, K, VKB_ACT_NONE);
    double e = ops_compare(&Y, (size_t)M * N);
    CHECK(e <= 1e-4, "staged matmul rel err %.3g", e);
    ops_twin_free(&X);
    ops_twin_free(&W);
    ops_twin_free(&Y);
    free(x);
    free(w);
    ops_pair_close(&op);
}

/* One recorded batch: matmul -> layernorm(+residual) -> matmul -> pool, each reading the
 * previous output (barriers must be right), plus a scratch tensor freed before the end. */
static void test_batch(ops_pair *op)
{
    int B = 3, L = 11, C = 64, rows = B * L;
    float *x = ops_rand((size_t)rows * C), *w1 = ops_rand((size_t)C * C);
    float *w2 = ops_rand((size_t)C * C), *g = ops_rand(C), *bt = ops_rand(C);
    int32_t len[3] = {11, 4, 9};
    ops_twin X = ops_twin_f32(op, x, (size_t)rows * C), W1 = ops_twin_f32(op, w1, (size_t)C * C);
    ops_twin W2 = ops_twin_f32(op, w2, (size_t)C * C), G = ops_twin_f32(op, g, C);
    ops_twin Bt = ops_twin_f32(op, bt, C), N = ops_twin_i32(op, len, B);
    ops_twin H1 = ops_twin_poison(op, (size_t)rows * C), H2 = ops_twin_poison(op, (size_t)rows * C);
    ops_twin H3 = ops_twin_poison(op, (size_t)rows * C), O = ops_twin_poison(op, (size_t)B * C);
    vkb_backend *bs[2] = {op->cpu, op->vk};
    ops_twin *ts[] = {&X, &W1, &W2, &G, &Bt, &N, &H1, &H2, &H3, &O};
    int status[2];
    vkb_backend_set_timing(op->vk, 1);
    for (int k = 0; k < 2; k++) {
        vkb_backend *b = bs[k];
        vkb_tensor *t[10];
        for (int i = 0; i < 10; i++)
            t[i] = k ? ts[i]->vk : ts[i]->cpu;
        vkb_tensor *scratch = vkb_tensor_new(b, VKB_F32, (size_t)rows * C);
        int rc = vkb_batch_begin(b);
        rc |= vkb_op_matmul(b, scratch, t[0], t[1], NULL, NULL, rows, C, C, VKB_ACT_GELU_ERF);
        rc |= vkb_op_copy(b, t[6], 0, scratch, 0, (size_t)rows * C);
        vkb_tensor_free(scratch); /* freed while recorded work still reads it */
        rc |= vkb_op_layernorm(b, t[7], t[6], t[0], t[3], t[4], rows, C, 1e-5f);
        rc |= vkb_op_matmul(b, t[8], t[7], t[2], NULL, t[6], rows, C, C, VKB_ACT_NONE);
        rc |= vkb_op_pool(b, t[9], t[8], t[5], B, L, C, VKB_POOL_MEAN, 1);
        rc |= vkb_batch_end(b);
        status[k] = rc;
    }
    double e = ops_compare(&O, (size_t)B * C);
    CHECK(status[0] == VKB_OK && status[1] == VKB_OK && e <= 1e-4,
          "batch of 5 ops: rc %d/%d rel err %.3g", status[0], status[1], e);
    const char **names;
    const double *ms;
    int n = vkb_batch_timings(op->vk, &names, &ms);
    static const char *want[] = {"matmul", "copy", "layernorm", "matmul", "pool"};
    int ok = n == 5;
    for (int i = 0; ok && i < 5; i++)
        ok = !strcmp(names[i], want[i]) &&
             (vkb_backend_device_info(op->vk)->timestamps ? ms[i] >= 0 : ms[i] == -1);
    CHECK(ok, "batch timings: %d entries", n);
    /* Timing off (the default): the entries are still named, with no GPU time. */
    vkb_backend_set_timing(op->vk, 0);
    int rc = vkb_op_copy(op->vk, ts[6]->vk, 0, ts[7]->vk, 0, (size_t)rows * C);
    n = vkb_batch_timings(op->vk, &names, &ms);
    CHECK(rc == VKB_OK && n == 1 && !strcmp(names[0], "copy") && ms[0] == -1,
          "timing off: one untimed entry (%d, %s, %g)", n, n ? names[0] : "-", n ? ms[0] : 0.0);
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        ops_twin_free(ts[i]);
    free(x);
    free(w1);
    free(w2);
    free(g);
    free(bt);
}

/* roberta-large's word table, 50265 x 1024 f32 = 206 MB: more than lavapipe's 128 MiB
 * maxStorageBufferRange. Embeds ids from every part of it. */
static void test_big_table(ops_pair *op)
{
    int V = 50265, C = 1024, B = 2, L = 9, P = L + 2;
    size_t nw = (size_t)V * C;
    float *word = malloc(nw * sizeof *word);
    for (size_t i = 0; i < nw; i++) /* cheap but row-distinct values */
        word[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 0.999f;
    float *pos = ops_rand((size_t)P * C), *type = ops_rand(C), *g = ops_rand(C), *bt = ops_rand(C);
    int32_t ids[18] = {0, 1, 32767, 32768, 40000, 50264, 50263, 2, 25000,
                       50264, 1, 1, 1, 1, 1, 1, 1, 1};
    int32_t len[2] = {9, 1};
    ops_twin Wd = ops_twin_f32(op, word, nw), Ps = ops_twin_f32(op, pos, (size_t)P * C);
    ops_twin Ty = ops_twin_f32(op, type, C), G = ops_twin_f32(op, g, C);
    ops_twin Bt = ops_twin_f32(op, bt, C), I = ops_twin_i32(op, ids, 18);
    ops_twin N = ops_twin_i32(op, len, 2), Y = ops_twin_poison(op, (size_t)B * L * C);
    int rc_c = vkb_op_embed(op->cpu, Y.cpu, I.cpu, N.cpu, Wd.cpu, Ps.cpu, Ty.cpu, G.cpu, Bt.cpu,
                            B, L, C, VKB_POS_ROBERTA, 1, 1e-5f);
    int rc_v = vkb_op_embed(op->vk, Y.vk, I.vk, N.vk, Wd.vk, Ps.vk, Ty.vk, G.vk, Bt.vk, B, L, C,
                            VKB_POS_ROBERTA, 1, 1e-5f);
    double e = ops_compare(&Y, (size_t)B * L * C);
    CHECK(rc_c == VKB_OK && rc_v == VKB_OK && e <= 1e-4,
          "embed from a 206 MB table: rc %d/%d rel err %.3g", rc_c, rc_v, e);
    ops_twin *ts[] = {&Wd, &Ps, &Ty, &G, &Bt, &I, &N, &Y};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        ops_twin_free(ts[i]);
    free(word);
    free(pos);
    free(type);
    free(g);
    free(bt);
}

/* What the Vulkan kernels cannot do is refused with a status, never a crash. */
static void test_refusals(vkb_backend *b)
{
    int B = 1, L = 2, H = 1, d = 300;
    vkb_tensor *qkv = vkb_tensor_new(b, VKB_F32, (size_t)B * L * 3 * H * d);
    vkb_tensor *ctx = vkb_tensor_new(b, VKB_F32, (size_t)B * L * H * d);
    vkb_tensor *len = vkb_tensor_new(b, VKB_I32, 1);
    int rc = vkb_op_attention(b, ctx, qkv, len, B, L, H, d);
    CHECK(rc == VKB_EUNSUPPORTED, "attention with d=300: rc %d", rc);
    vkb_tensor_free(qkv);
    vkb_tensor_free(ctx);
    vkb_tensor_free(len);
}

/* After a backend that compiled pipelines closes, $XDG_CACHE_HOME/vkbridge holds the cache. */
static void test_pipeline_cache(const char *cache_home)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/vkbridge", cache_home);
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        found |= !strncmp(e->d_name, "pipelines-", 10);
    if (d)
        closedir(d);
    CHECK(found, "no pipelines-*.bin under %s", dir);
}

int main(void)
{
    tl_seed(3);
    char cache_home[] = "/tmp/vkb-test-cache-XXXXXX";
    if (!mkdtemp(cache_home)) {
        CHECK(0, "mkdtemp failed");
        return tl_finish();
    }
    setenv("XDG_CACHE_HOME", cache_home, 1);
    ops_pair op;
    if (ops_pair_open(&op, "runtime") != VKB_OK) {
        printf("SKIP test_vk_runtime: no Vulkan device (%s)\n", op.err);
        return tl_finish();
    }
    test_inventory();
    test_open();
    test_memory(op.vk);
    test_batch(&op);
    test_big_table(&op);
    test_refusals(op.vk);
    ops_pair_close(&op);
    test_pipeline_cache(cache_home);
    test_staging();
    CHECK(vkb_vulkan_validation_errors() == 0, "validation layer messages: %d",
          vkb_vulkan_validation_errors());
    /* leave no cache files behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_home);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", cache_home);
    return tl_finish();
}

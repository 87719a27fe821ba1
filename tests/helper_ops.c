/* helper_ops.c — CPU/Vulkan tensor twins for the op tests; see helper_ops.h. */
#include "helper_ops.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ops_pair_open(ops_pair *p, const char *name)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    int rc = vkb_backend_open("cpu", &p->cpu, p->err, sizeof p->err);
    if (rc == VKB_OK)
        rc = vkb_backend_open("vulkan", &p->vk, p->err, sizeof p->err);
    if (rc != VKB_OK) {
        vkb_backend_close(p->cpu);
        p->cpu = NULL;
    }
    return rc;
}

void ops_pair_close(ops_pair *p)
{
    vkb_backend_close(p->vk);
    vkb_backend_close(p->cpu);
    p->vk = p->cpu = NULL;
}

float *ops_rand(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = tl_randf(-1.0f, 1.0f);
    return v;
}

static vkb_tensor *upload(vkb_backend *b, vkb_dtype dt, const void *v, size_t n)
{
    vkb_tensor *t = vkb_tensor_new(b, dt, n);
    if (t && vkb_tensor_upload(t, 0, v, n) != VKB_OK) {
        vkb_tensor_free(t);
        t = NULL;
    }
    CHECK(t != NULL, "cannot create a tensor of %zu elements on %s", n, vkb_backend_id(b));
    return t;
}

ops_twin ops_twin_f32(ops_pair *p, const float *v, size_t n)
{
    return (ops_twin){upload(p->cpu, VKB_F32, v, n), upload(p->vk, VKB_F32, v, n)};
}

ops_twin ops_twin_f16(ops_pair *p, const float *v, size_t n)
{
    uint16_t *h = malloc(n * sizeof *h);
    for (size_t i = 0; h && i < n; i++)
        h[i] = vkb_f32_to_f16(v[i]);
    ops_twin t = {upload(p->cpu, VKB_F16, h, n), upload(p->vk, VKB_F16, h, n)};
    free(h);
    return t;
}

static vkb_tensor *weight(vkb_backend *b, vkb_dtype dt, const void *v, int N, int K,
                          int chunked)
{
    vkb_tensor *t = vkb_weight_new(b, dt, N, K);
    int step = vkb_weight_row_step(t), rc = t ? VKB_OK : VKB_ENOMEM;
    size_t row_bytes = (size_t)K * vkb_dtype_size(dt);
    for (int r = 0; rc == VKB_OK && r < N;) {
        int n = chunked && N - r > step ? step : N - r;
        rc = vkb_weight_upload_rows(t, r, n, (const char *)v + (size_t)r * row_bytes);
        r += n;
    }
    CHECK(rc == VKB_OK, "cannot create a %dx%d weight on %s: %s", N, K, vkb_backend_id(b),
          vkb_status_str(rc));
    if (rc != VKB_OK) {
        vkb_tensor_free(t);
        t = NULL;
    }
    return t;
}

ops_twin ops_twin_weight(ops_pair *p, const float *v, int N, int K, vkb_dtype dtype,
                         int chunked)
{
    size_t n = (size_t)N * K;
    uint16_t *h = dtype == VKB_F16 ? malloc(n * sizeof *h) : NULL;
    for (size_t i = 0; h && i < n; i++)
        h[i] = vkb_f32_to_f16(v[i]);
    const void *src = dtype == VKB_F16 ? (const void *)h : (const void *)v;
    ops_twin t = {weight(p->cpu, dtype, src, N, K, chunked),
                  weight(p->vk, dtype, src, N, K, chunked)};
    free(h);
    return t;
}

ops_twin ops_twin_i32(ops_pair *p, const int32_t *v, size_t n)
{
    return (ops_twin){upload(p->cpu, VKB_I32, v, n), upload(p->vk, VKB_I32, v, n)};
}

ops_twin ops_twin_poison(ops_pair *p, size_t n)
{
    float *nan = malloc(n * sizeof *nan);
    for (size_t i = 0; nan && i < n; i++)
        nan[i] = NAN;
    ops_twin t = ops_twin_f32(p, nan, n);
    free(nan);
    return t;
}

void ops_twin_free(ops_twin *t)
{
    vkb_tensor_free(t->cpu);
    vkb_tensor_free(t->vk);
    t->cpu = t->vk = NULL;
}

float *ops_download(const vkb_tensor *t)
{
    if (!t)
        return NULL;
    size_t n = vkb_tensor_count(t);
    float *v = malloc(n * sizeof *v);
    if (v && vkb_tensor_download(t, 0, v, n) != VKB_OK) {
        free(v);
        v = NULL;
    }
    return v;
}

double ops_compare(const ops_twin *t, size_t n)
{
    float *ref = ops_download(t->cpu), *got = ops_download(t->vk);
    double e = ref && got ? tl_rel_err(got, ref, n) : INFINITY;
    free(ref);
    free(got);
    return e;
}

/*
 * test_vk_limits.c — the device capability query (vkb_caps) and what model load does with it.
 *
 *   - vkb_backend_caps reports the device's limits (shared memory, invocations, subgroup
 *     size) and the attention limits derived from them; with VKB_TEST_MIN_LIMITS=1 every
 *     device reports the Vulkan minimums (16 KiB shared memory, 128 invocations) and so do
 *     the caps;
 *   - a model the kernels can run loads and computes the CPU backend's embeddings (within
 *     1e-4) on the Vulkan device, under those minimums too, with both kernel families;
 *   - the info line each opened device logs names the variant of every op (attention_rel
 *     included), for both kernel families;
 *   - a model they cannot run (head size 320 > 256) loads on the CPU backend and fails on
 *     Vulkan at model_replica_create, before any upload, with one line naming the backend,
 *     the op, the operand and the sizes.
 * (ctest also runs test_ops and the oracle under VKB_TEST_MIN_LIMITS=1: *_minlimits.)
 * No Vulkan: SKIP.
 */
#include "model.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[] = "/tmp/vkb-test-limits-XXXXXX";

static const char *gen(const char *name, const char *args)
{
    static char path[600];
    char cmd[1400];
    snprintf(path, sizeof path, "%s/%s", root, name);
    snprintf(cmd, sizeof cmd, "'%s' gen-model --out '%s' %s >/dev/null 2>&1", tl_binary(), path,
             args);
    CHECK(system(cmd) == 0, "gen-model %s", args);
    return path;
}

/* Embeds two texts on the backend named spec; vectors written to out (2 x dim). */
static int embed_on(vkb_model *m, const char *spec, float *out, char *err, size_t errlen)
{
    vkb_backend *b = NULL;
    model_replica *r = NULL;
    int rc = vkb_backend_open(spec, &b, err, errlen);
    if (rc == VKB_OK)
        rc = model_replica_create(m, b, &r, err, errlen);
    static const char *texts[2] = {"the device limits", "are read from the device and checked"};
    int32_t *ids[2] = {NULL, NULL};
    int lens[2];
    for (int i = 0; rc == VKB_OK && i < 2; i++)
        rc = model_tokenize_embed(m, texts[i], strlen(texts[i]), &ids[i], &lens[i]);
    if (rc == VKB_OK)
        rc = encoder_embed(r, (const int32_t *const *)ids, lens, 2, out);
    for (int i = 0; i < 2; i++)
        free(ids[i]);
    model_replica_free(r);
    vkb_backend_close(b);
    return rc;
}

static void check_caps(int faked)
{
    vkb_backend *b = NULL;
    char err[256] = "";
    if (vkb_backend_open("vulkan", &b, err, sizeof err) != VKB_OK) {
        CHECK(0, "open vulkan: %s", err);
        return;
    }
    const vkb_device_info *d = vkb_backend_device_info(b);
    vkb_caps caps;
    vkb_backend_caps(b, &caps);
    printf("%s limits%s: shared %u, invocations %u, workgroup %u x %u x %u, subgroup %u "
           "(%u-%u, size control %d); caps: seq %d, head %d\n", vkb_backend_id(b),
           faked ? " (faked to the Vulkan minimums)" : "", d->max_shared_memory,
           d->max_invocations, d->max_workgroup_size[0], d->max_workgroup_size[1],
           d->max_workgroup_size[2], d->subgroup_size, d->min_subgroup_size,
           d->max_subgroup_size, d->subgroup_size_control, caps.max_seq_len,
           caps.max_head_size);
    CHECK(caps.shared_memory == d->max_shared_memory &&
              caps.max_invocations == d->max_invocations &&
              caps.subgroup_size == d->subgroup_size && caps.max_seq_len == 8192 &&
              caps.max_head_size >= 64 && caps.max_head_size <= 256,
          "caps follow the device: shared %u invocations %u head %d", caps.shared_memory,
          caps.max_invocations, caps.max_head_size);
    CHECK(d->min_subgroup_size <= d->subgroup_size && d->subgroup_size <= d->max_subgroup_size,
          "subgroup range %u <= %u <= %u", d->min_subgroup_size, d->subgroup_size,
          d->max_subgroup_size);
    if (faked)
        CHECK(d->limits_faked && d->max_shared_memory == 16384 && d->max_invocations == 128 &&
                  d->max_workgroup_size[0] == 128 && d->max_workgroup_size[2] == 64,
              "VKB_TEST_MIN_LIMITS=1: shared %u invocations %u", d->max_shared_memory,
              d->max_invocations);
    else
        CHECK(!d->limits_faked && d->max_shared_memory >= 16384 && d->max_invocations >= 128,
              "real limits: shared %u invocations %u", d->max_shared_memory, d->max_invocations);
    vkb_backend_close(b);
}

/* `vkbridge embed --verbose` on the model in dir: the device's info line ("... kernels;
 * subgroup ...: matmul (...), ...") names a variant of each op, "op (" or "op_texel (". */
static void check_variant_line(const char *dir, const char *family)
{
    char cmd[1400], line[4096], found[4096] = "";
    snprintf(cmd, sizeof cmd, "VKB_KERNELS=%s '%s' embed --verbose --device vulkan:0 --model "
                              "'%s' 'the info line' 2>&1 >/dev/null", family, tl_binary(), dir);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen %s", cmd);
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "kernels; subgroup"))
            snprintf(found, sizeof found, "%s", line);
    pclose(f);
    static const char *ops[] = {"matmul", "attention", "attention_rel", "layernorm",
                                "embed", "pool", "greedy_match"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char plain[64], texel[64];
        snprintf(plain, sizeof plain, " %s (", ops[i]);
        snprintf(texel, sizeof texel, " %s_texel (", ops[i]);
        CHECK(strstr(found, plain) || strstr(found, texel),
              "%s kernels: the device's info line names %s's variant: '%s'", family, ops[i],
              found);
    }
    printf("%s kernels: %s", family, found);
}

static void check_models(void)
{
    char err[512] = "";
    /* Runs: MiniLM-like heads of 32 over 4 heads. */
    vkb_model *m = NULL;
    const char *ok_dir = gen("runs", "--shape tiny --hidden 128 --heads 4 --intermediate 256");
    int rc = model_load(ok_dir, NULL, &m, err, sizeof err);
    CHECK(rc == VKB_OK, "load %s: %s", ok_dir, err);
    if (rc == VKB_OK) {
        int dim = 128;
        float *want = calloc(2 * (size_t)dim, sizeof *want);
        float *got = calloc(2 * (size_t)dim, sizeof *got);
        rc = embed_on(m, "cpu", want, err, sizeof err);
        CHECK(rc == VKB_OK, "embed on cpu: %s", err);
        static const char *families[2] = {"gpu", "cpu"};
        for (int f = 0; f < 2; f++) {
            setenv("VKB_KERNELS", families[f], 1);
            for (int i = 0; i < 2 * dim; i++)
                got[i] = NAN;
            rc = embed_on(m, "vulkan", got, err, sizeof err);
            double e = tl_rel_err(got, want, 2 * (size_t)dim);
            CHECK(rc == VKB_OK && e <= 1e-4, "%s kernels: embed rc %d (%s), rel err %.3g",
                  families[f], rc, err, e);
            printf("%s kernels: embeddings match the CPU backend (rel err %.3g)\n", families[f],
                   e);
            check_variant_line(ok_dir, families[f]);
        }
        unsetenv("VKB_KERNELS");
        free(want);
        free(got);
        model_free(m);
    }
    /* Cannot run on Vulkan: head size 320 (4 heads of 1280). */
    m = NULL;
    const char *big_dir = gen("big-heads", "--shape tiny --hidden 1280 --heads 4 "
                                           "--intermediate 64 --layers 1");
    rc = model_load(big_dir, NULL, &m, err, sizeof err);
    CHECK(rc == VKB_OK, "load %s: %s", big_dir, err);
    if (rc != VKB_OK)
        return;
    vkb_backend *b = NULL;
    model_replica *r = NULL;
    rc = vkb_backend_open("cpu", &b, err, sizeof err);
    if (rc == VKB_OK)
        rc = model_replica_create(m, b, &r, err, sizeof err);
    CHECK(rc == VKB_OK, "head size 320 on the CPU backend: %s", err);
    model_replica_free(r);
    vkb_backend_close(b);
    r = NULL;
    b = NULL;
    err[0] = 0;
    rc = vkb_backend_open("vulkan", &b, err, sizeof err);
    uint64_t before = b ? vkb_backend_bytes_in_use(b) : 0;
    if (rc == VKB_OK)
        rc = model_replica_create(m, b, &r, err, sizeof err);
    CHECK(rc == VKB_EUNSUPPORTED && !r && strstr(err, "vulkan:") && strstr(err, "attention") &&
              strstr(err, "head size 320") && strstr(err, "256"),
          "head size 320 on Vulkan: rc %d, '%s'", rc, err);
    CHECK(b && vkb_backend_bytes_in_use(b) == before, "refused before any upload");
    printf("head size 320 on Vulkan: refused at load: %s\n", err);
    vkb_backend_close(b);
    model_free(m);
}

int main(void)
{
    vkb_device_info *devs = NULL;
    int n = 0;
    char err[256] = "";
    if (vkb_vulkan_devices(&devs, &n, err, sizeof err) != VKB_OK) {
        printf("SKIP test_vk_limits: no Vulkan device (%s)\n", err);
        return tl_finish();
    }
    free(devs);
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp");
        return tl_finish();
    }
    const char *faked = getenv("VKB_TEST_MIN_LIMITS");
    check_caps(faked && !strcmp(faked, "1"));
    check_models();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", root);
    CHECK(vkb_vulkan_validation_errors() == 0, "validation layer messages: %d",
          vkb_vulkan_validation_errors());
    return tl_finish();
}

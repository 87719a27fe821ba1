/*
 * test_safetensors.c — the safetensors reader on hand-made files: values of every float
 * dtype read back exactly, F16 conversion flags lost precision, and every kind of broken
 * header is refused with a message that says what is wrong (never a crash). Sharded
 * checkpoints: tensors found across shards; a shard name that leaves the folder is refused.
 */
#include "safetensors.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/vkb-st-XXXXXX";
static const char *dir = root; /* where write_st writes */

/* Writes a safetensors file: header text as given, then `data`. */
static void write_st(const char *name, const char *header, const void *data, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    uint64_t len = strlen(header);
    unsigned char l8[8];
    for (int i = 0; i < 8; i++)
        l8[i] = (unsigned char)(len >> (8 * i));
    fwrite(l8, 1, 8, f);
    fwrite(header, 1, len, f);
    if (n)
        fwrite(data, 1, n, f);
    fclose(f);
}

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Opens dir/name and expects failure with `needle` in the message. */
static void expect_error(const char *name, const char *needle)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    st_archive *a = NULL;
    int rc = st_open_file(path, &a, err, sizeof err);
    CHECK(rc != 0 && a == NULL, "%s: opened although broken", name);
    CHECK(strstr(err, needle) != NULL, "%s: message '%s' does not mention '%s'", name, err,
          needle);
    st_close(a);
}

static void test_values(void)
{
    /* a: F32 [2,2]; b: F16 [3]; c: BF16 [2]; d: I64 [1] (a buffer such as position_ids). */
    unsigned char data[16 + 6 + 4 + 8];
    float a[4] = {1.5f, -2.25f, 3.0e-3f, 65504.0f};
    uint16_t b[3] = {vkb_f32_to_f16(0.5f), vkb_f32_to_f16(-1.0f), vkb_f32_to_f16(2049.0f)};
    uint16_t c[2] = {0x3FC0 /* 1.5 */, 0x4780 /* 65536: beyond f16 */};
    int64_t d = 7;
    memcpy(data, a, 16);
    memcpy(data + 16, b, 6);
    memcpy(data + 22, c, 4);
    memcpy(data + 26, &d, 8);
    write_st("ok.safetensors",
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
             "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
             "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[22,26]},"
             "\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[26,34]}}",
             data, sizeof data);
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/ok.safetensors", dir);
    st_archive *ar = NULL;
    int rc = st_open_file(path, &ar, err, sizeof err);
    if (!CHECK(rc == 0, "open ok.safetensors: %s", err))
        return;
    CHECK(st_count(ar) == 4, "4 tensors, got %d", st_count(ar));
    const st_tensor *ta = st_find(ar, "a"), *tb = st_find(ar, "b"), *tc = st_find(ar, "c");
    const st_tensor *td = st_find(ar, "d");
    CHECK(ta && tb && tc && td && !st_find(ar, "e") && !st_find(ar, "__metadata__"), "lookup");
    if (ta && tb && tc && td) {
        CHECK(ta->dtype == ST_F32 && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 2 &&
                  ta->count == 4, "a's shape");
        CHECK(td->dtype == ST_OTHER && !strcmp(td->dtype_name, "I64"), "d's dtype I64");
        float f[4];
        st_read_f32(ta, 0, 4, f);
        CHECK(!memcmp(f, a, 16), "F32 values");
        st_read_f32(ta, 2, 2, f);
        CHECK(f[0] == a[2] && f[1] == a[3], "F32 values from an offset");
        st_read_f32(tb, 0, 3, f);
        CHECK(f[0] == 0.5f && f[1] == -1.0f && f[2] == 2048.0f, "F16 widened: %g %g %g", f[0],
              f[1], f[2]);
        st_read_f32(tc, 0, 2, f);
        CHECK(f[0] == 1.5f && f[1] == 65536.0f, "BF16 widened: %g %g", f[0], f[1]);
        uint16_t h[4];
        int inexact = 0;
        st_read_f16(tc, 0, 1, h, &inexact);
        CHECK(!inexact && vkb_f16_to_f32(h[0]) == 1.5f, "BF16 1.5 fits F16 exactly");
        st_read_f16(tc, 1, 1, h, &inexact);
        CHECK(inexact, "BF16 65536 overflows F16 and says so");
        inexact = 0;
        st_read_f16(ta, 0, 4, h, &inexact);
        CHECK(inexact, "F32 3e-3 loses bits in F16 and says so");
        CHECK(vkb_f16_to_f32(h[0]) == 1.5f && vkb_f16_to_f32(h[3]) == 65504.0f,
              "F32 -> F16 values");
    }
    st_close(ar);
}

static void test_broken(void)
{
    float z[4] = {0};
    write_text("short.safetensors", "abc");
    expect_error("short.safetensors", "too short");
    /* Header length (65535) larger than the file. */
    char path[256];
    snprintf(path, sizeof path, "%s/biglen.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite("\xff\xff\0\0\0\0\0\0{}", 1, 10, f);
    fclose(f);
    expect_error("biglen.safetensors", "header length");
    write_st("notjson.safetensors", "{\"a\": [1, 2", NULL, 0);
    expect_error("notjson.safetensors", "not a JSON object");
    write_st("array.safetensors", "[1, 2]", NULL, 0);
    expect_error("array.safetensors", "not a JSON object");
    write_st("dtype.safetensors",
             "{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4);
    expect_error("dtype.safetensors", "unknown dtype 'Q4'");
    write_st("range.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", z, 8);
    expect_error("range.safetensors", "outside");
    write_st("size.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", z, 16);
    expect_error("size.safetensors", "need 12");
    write_st("neg.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", z, 4);
    expect_error("neg.safetensors", "bad shape");
    write_st("missing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", z, 4);
    expect_error("missing.safetensors", "data_offsets");
    write_st("dup.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4);
    expect_error("dup.safetensors", "not a JSON object");
    write_st("huge.safetensors",
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
             "\"data_offsets\":[0,4]}}", z, 4);
    expect_error("huge.safetensors", "bad shape");
    char err[512] = "";
    st_archive *a = NULL;
    CHECK(st_open_file("/nonexistent/x.safetensors", &a, err, sizeof err) == VKB_ENOTFOUND &&
              strstr(err, "/nonexistent/x.safetensors"), "missing file: %s", err);
}

static void test_sharded(void)
{
    char sub[256], err[512] = "";
    snprintf(sub, sizeof sub, "%s/sharded", dir);
    CHECK(mkdir(sub, 0755) == 0, "mkdir");
    /* Two shards; the first also holds a tensor the index does not assign to it. */
    float v1[2] = {1, 2}, v2[3] = {3, 4, 5};
    dir = sub;
    write_st("s1.safetensors",
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", v1, 8);
    write_st("s2.safetensors",
             "{\"y\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", v2, 12);
    write_text("model.safetensors.index.json",
               "{\"metadata\":{},\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s2.safetensors\"}}");
    st_archive *a = NULL;
    int rc = st_open_dir(sub, &a, err, sizeof err);
    if (CHECK(rc == 0, "sharded open: %s", err)) {
        const st_tensor *x = st_find(a, "x"), *y = st_find(a, "y");
        float f[3];
        CHECK(x && y && st_count(a) == 2, "both tensors found");
        if (y) {
            st_read_f32(y, 0, 3, f);
            CHECK(f[0] == 3 && f[2] == 5 && strstr(y->file, "s2.safetensors"), "y from shard 2");
        }
    }
    st_close(a);
    write_text("model.safetensors.index.json",
               "{\"weight_map\":{\"x\":\"s1.safetensors\",\"z\":\"s1.safetensors\"}}");
    a = NULL;
    rc = st_open_dir(sub, &a, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "'z'"), "index naming an absent tensor: %s", err);
    write_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":\"../ok.safetensors\"}}");
    rc = st_open_dir(sub, &a, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "bad shard name"), "shard outside the folder: %s", err);
    write_text("model.safetensors.index.json", "{\"weight_map\":{\"x\":\"gone.safetensors\"}}");
    rc = st_open_dir(sub, &a, err, sizeof err);
    CHECK(rc == VKB_ENOTFOUND && strstr(err, "gone.safetensors"), "missing shard: %s", err);
    dir = root;
    rc = st_open_dir("/nonexistent", &a, err, sizeof err);
    CHECK(rc == VKB_ENOTFOUND && strstr(err, "model.safetensors"), "no checkpoint: %s", err);
}

/* A file truncated after open (a copy being replaced, a full disk) is a read error, not
 * SIGBUS: the reader uses pread, so there is no mapping to fault on. */
static void test_truncated_after_open(void)
{
    enum { N = 1 << 18 }; /* 1 MiB of F32: several pages past the header */
    float *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = (float)i;
    char header[256];
    snprintf(header, sizeof header,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
             "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[%d,%d]}}",
             N - 1, (N - 1) * 4, (N - 1) * 4, N * 4);
    write_st("trunc.safetensors", header, v, N * sizeof *v);
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/trunc.safetensors", dir);
    st_archive *a = NULL;
    CHECK(st_open_file(path, &a, err, sizeof err) == VKB_OK, "trunc: opens (%s)", err);
    const st_tensor *w = a ? st_find(a, "w") : NULL, *h = a ? st_find(a, "h") : NULL;
    if (w && h) {
        float f[4];
        CHECK(st_read_f32(w, 100000, 4, f) == VKB_OK && f[0] == 100000.0f, "trunc: read before");
        CHECK(truncate(path, 8 + (off_t)strlen(header) + 4096) == 0, "truncate");
        CHECK(st_read_f32(w, 0, 4, f) == VKB_OK && f[3] == 3.0f, "trunc: the part left reads");
        CHECK(st_read_f32(w, 200000, 4, f) == VKB_EIO, "trunc: F32 past the end is VKB_EIO");
        uint16_t x[4];
        CHECK(st_read_f16(w, 200000, 4, x, NULL) == VKB_EIO, "trunc: F32->F16 is VKB_EIO");
        CHECK(st_read_f32(h, 0, 2, f) == VKB_EIO, "trunc: F16->F32 is VKB_EIO");
    }
    st_close(a);
    free(v);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_values();
    test_broken();
    test_sharded();
    test_truncated_after_open();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return tl_finish();
}

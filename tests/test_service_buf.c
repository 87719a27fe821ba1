/* test_service_buf.c — the service's response writers: JSON strings, floats, base64. */
#include "svc_buf.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_strings(void)
{
    svc_buf b;
    svc_buf_init(&b);
    const char raw[] = "a\"b\\c\nd\x01\0e\xc3\xa9";
    svc_buf_json_string(&b, raw, sizeof(raw) - 1);
    CHECK(svc_buf_ok(&b) && !strcmp(b.data, "\"a\\\"b\\\\c\\nd\\u0001\\u0000e\xc3\xa9\""),
          "escapes: %s", b.data);
    /* round trip through a JSON parser */
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(v && json_string_length(v) == sizeof(raw) - 1 &&
              !memcmp(json_string_value(v), raw, sizeof(raw) - 1),
          "parses back to the same bytes");
    json_decref(v);
    svc_buf_free(&b);

    svc_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        svc_buf_printf(&b, "%04d,", i);
    CHECK(b.len == 5000 && !strncmp(b.data + 4995, "0999,", 5), "printf grows the buffer");
    size_t len;
    char *p = svc_buf_take(&b, &len);
    CHECK(p && len == 5000 && b.data == NULL, "take hands over the bytes");
    free(p);
}

static void test_floats(void)
{
    char tmp[32];
    svc_format_float(tmp, 0.1f);
    CHECK(!strcmp(tmp, "0.1"), "0.1f is written 0.1 (got %s)", tmp);
    svc_format_float(tmp, 1.0f);
    CHECK(!strcmp(tmp, "1"), "1 (got %s)", tmp);
    tl_seed(7);
    int exact = 1;
    for (int i = 0; i < 20000; i++) {
        uint32_t bits = tl_randu() ^ (tl_randu() << 16);
        float f;
        memcpy(&f, &bits, 4);
        if (!isfinite(f))
            continue;
        svc_format_float(tmp, f);
        if (strtof(tmp, NULL) != f) {
            exact = 0;
            CHECK(0, "float %a written as %s does not read back", (double)f, tmp);
            break;
        }
    }
    CHECK(exact, "every random float32 reads back exactly");
}

/* The fast formatter against its snprintf/strtof definition, byte for byte: random bit
 * patterns, embedding-like values, and every float within 40 ulps of each power of two and
 * of ten in and around the fast range (where rounding, ties, the closer lower neighbour of
 * a power of two and the carry into a new digit happen). A one-time sweep of every 61st bit
 * pattern (70M floats) agreed too (docs/PERF.md). */
static int same_as_ref(float f, int *shown)
{
    char fast[32], ref[32];
    int nf = svc_format_float(fast, f), nr = svc_format_float_ref(ref, f);
    if (nf == nr && !strcmp(fast, ref))
        return 1;
    if ((*shown)++ < 5)
        CHECK(0, "float %a: fast %s, reference %s", (double)f, fast, ref);
    return 0;
}

static void test_floats_fast(void)
{
    int shown = 0;
    long bad = 0, n = 0;
    tl_seed(11);
    for (int i = 0; i < 300000; i++, n++) {
        uint32_t bits = tl_randu() ^ (tl_randu() << 16);
        float f;
        memcpy(&f, &bits, 4);
        if (isfinite(f))
            bad += !same_as_ref(f, &shown);
    }
    for (int i = 0; i < 200000; i++, n++) /* unit-vector components */
        bad += !same_as_ref(tl_randf(-0.1f, 0.1f), &shown);
    float anchors[91 + 28];
    int n_anchors = 0;
    for (int e = -70; e <= 20; e++)
        anchors[n_anchors++] = ldexpf(1.0f, e);
    for (int e = -21; e <= 6; e++)
        anchors[n_anchors++] = (float)pow(10.0, e);
    for (int k = 0; k < n_anchors; k++) {
        uint32_t bits;
        memcpy(&bits, &anchors[k], 4);
        for (int u = -40; u <= 40; u++, n += 2) {
            uint32_t b2 = bits + (uint32_t)u;
            float f;
            memcpy(&f, &b2, 4);
            bad += !same_as_ref(f, &shown) + !same_as_ref(-f, &shown);
        }
    }
    float special[] = {0.0f, -0.0f, 1e-45f, 1e-38f, 8191.999f, 8192.0f, 1e5f, 123456.7f,
                       3.4e38f, 0.999999999f, 9.9999995f, 99999.99f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++, n++)
        bad += !same_as_ref(special[i], &shown);
    CHECK(bad == 0, "fast formatter = snprintf/strtof reference on %ld floats (%ld differ)",
          n, bad);
}

static void test_float_arrays(void)
{
    svc_buf b;
    svc_buf_init(&b);
    float v[4] = {0.5f, -2.25f, NAN, 3e-8f};
    svc_buf_json_floats(&b, v, 4);
    CHECK(!strcmp(b.data, "[0.5,-2.25,null,3e-08]"), "array: %s", b.data);
    svc_buf_free(&b);
}

static void test_base64(void)
{
    struct { const char *in, *out; } cases[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        svc_buf b;
        svc_buf_init(&b);
        svc_buf_base64(&b, cases[i].in, strlen(cases[i].in));
        CHECK(!strcmp(b.data ? b.data : "", cases[i].out), "base64(%s) = %s, got %s",
              cases[i].in, cases[i].out, b.data ? b.data : "");
        svc_buf_free(&b);
    }
    /* float32 little-endian: 1.0f = 00 00 80 3f */
    float one = 1.0f;
    svc_buf b;
    svc_buf_init(&b);
    svc_buf_base64(&b, &one, 4);
    CHECK(!strcmp(b.data, "AACAPw=="), "1.0f as base64: %s", b.data);
    svc_buf_free(&b);
}

int main(void)
{
    test_strings();
    test_floats();
    test_floats_fast();
    test_float_arrays();
    test_base64();
    return tl_finish();
}

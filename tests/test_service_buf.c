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
    test_base64();
    return tl_finish();
}

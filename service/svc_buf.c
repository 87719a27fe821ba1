/* svc_buf.c — see svc_buf.h. */
#include "svc_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void svc_buf_init(svc_buf *b) { memset(b, 0, sizeof(*b)); }

void svc_buf_free(svc_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int svc_buf_ok(const svc_buf *b) { return !b->failed; }

char *svc_buf_take(svc_buf *b, size_t *len)
{
    if (b->failed) {
        svc_buf_free(b);
        return NULL;
    }
    if (!b->data)
        svc_buf_reserve(b, 1);
    char *p = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof(*b));
    return p;
}

void svc_buf_reserve(svc_buf *b, size_t extra)
{
    if (b->failed)
        return;
    size_t need = b->len + extra + 1; /* +1 keeps room for the NUL */
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return;
    }
    b->data = p;
    b->cap = cap;
    b->data[b->len] = 0;
}

void svc_buf_append(svc_buf *b, const void *p, size_t n)
{
    svc_buf_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void svc_buf_puts(svc_buf *b, const char *s) { svc_buf_append(b, s, strlen(s)); }

void svc_buf_putc(svc_buf *b, char c) { svc_buf_append(b, &c, 1); }

void svc_buf_printf(svc_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        svc_buf_append(b, small, (size_t)n);
        return;
    }
    svc_buf_reserve(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void svc_buf_json_string(svc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    svc_buf_reserve(b, n + 2);
    svc_buf_putc(b, '"');
    size_t run = 0; /* bytes since the last escape, copied in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        svc_buf_append(b, s + i - run, run);
        run = 0;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        svc_buf_append(b, esc, len);
    }
    svc_buf_append(b, s + n - run, run);
    svc_buf_putc(b, '"');
}

void svc_buf_json_float(svc_buf *b, float f)
{
    if (!isfinite(f)) {
        svc_buf_append(b, "null", 4);
        return;
    }
    char tmp[32];
    int n = svc_format_float(tmp, f);
    svc_buf_append(b, tmp, (size_t)n);
}

void svc_buf_json_floats(svc_buf *b, const float *v, size_t n)
{
    svc_buf_reserve(b, n * 12 + 2);
    svc_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            svc_buf_putc(b, ',');
        svc_buf_json_float(b, v[i]);
    }
    svc_buf_putc(b, ']');
}

void svc_buf_base64(svc_buf *b, const void *p, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    svc_buf_reserve(b, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                     alphabet[v & 63]};
        svc_buf_append(b, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63],
                     i + 1 < n ? alphabet[(v >> 6) & 63] : '=', '='};
        svc_buf_append(b, q, 4);
    }
}

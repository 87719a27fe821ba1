/*
 * svc_buf.h — a growable byte buffer and the few writers the service's responses need:
 * JSON-escaped strings, float32 in the shortest form that reads back exactly, base64.
 *
 * Responses with thousands of floats are written straight into a buffer instead of
 * building a jansson tree (one json_t per float would cost more than the compute).
 * A failed allocation sets `failed`; every writer then does nothing, and the caller checks
 * once at the end (svc_buf_ok).
 */
#ifndef VKB_SVC_BUF_H
#define VKB_SVC_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct svc_buf {
    char *data;    /* NUL-terminated while len < cap; owned, free with svc_buf_free */
    size_t len;
    size_t cap;
    int failed;    /* 1 after an allocation failure */
} svc_buf;

void svc_buf_init(svc_buf *b);
void svc_buf_free(svc_buf *b);
int svc_buf_ok(const svc_buf *b);
/* Hands the bytes to the caller (free()); the buffer is left empty. NULL if failed. */
char *svc_buf_take(svc_buf *b, size_t *len);

void svc_buf_reserve(svc_buf *b, size_t extra);
void svc_buf_append(svc_buf *b, const void *p, size_t n);
void svc_buf_puts(svc_buf *b, const char *s);
void svc_buf_putc(svc_buf *b, char c);
void svc_buf_printf(svc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "…" with JSON escapes; s holds n bytes of UTF-8 (NUL bytes become \u0000). */
void svc_buf_json_string(svc_buf *b, const char *s, size_t n);
/* A float32 as a JSON number: the shortest decimal that parses back to the same float;
 * NaN and infinities (not JSON) are written as null. */
void svc_buf_json_float(svc_buf *b, float f);
/* [f0,f1,...] */
void svc_buf_json_floats(svc_buf *b, const float *v, size_t n);
/* Standard base64 (RFC 4648, with padding) of n bytes. */
void svc_buf_base64(svc_buf *b, const void *p, size_t n);

/* Shortest "%.Ng" (N = 6..9) of f that strtof reads back exactly; returns its length.
 * out must hold 32 bytes. svc_float.c: _ref is that definition in snprintf and strtof
 * (the reference the tests hold the fast one to). */
int svc_format_float(char *out, float f);
int svc_format_float_ref(char *out, float f);

#endif

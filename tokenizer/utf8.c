/*
 * utf8.c — UTF-8 in and out, and the growable arrays the pipeline passes around.
 *
 * The rule for bad input (documented in vkb_tokenizer.h): every byte that does not begin a
 * valid, shortest-form, non-surrogate sequence of at most U+10FFFF becomes one U+FFFD that
 * covers exactly that byte; decoding resumes at the next byte. So any byte string decodes,
 * nothing is read past len, and each char still maps to original bytes.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

int tk_grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*v, cap2 * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = cap2;
    return 0;
}

int tk_chars_reserve(tk_chars *c, size_t cap)
{
    return tk_grow((void **)&c->v, &c->cap, cap, sizeof(tk_char));
}

int tk_chars_push(tk_chars *c, uint32_t cp, uint32_t start, uint32_t end)
{
    if (c->n == c->cap && tk_chars_reserve(c, c->n + 1))
        return -1;
    c->v[c->n++] = (tk_char){cp, start, end};
    return 0;
}

void tk_chars_free(tk_chars *c)
{
    free(c->v);
    memset(c, 0, sizeof(*c));
}

int tk_spans_push(tk_spans *s, uint32_t begin, uint32_t end)
{
    if (s->n == s->cap && tk_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(tk_span)))
        return -1;
    s->v[s->n++] = (tk_span){begin, end};
    return 0;
}

int tk_tokens_push(tk_tokens *t, int32_t id, uint32_t start, uint32_t end, uint8_t special)
{
    if (t->n == t->cap && tk_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(tk_token)))
        return -1;
    t->v[t->n++] = (tk_token){id, start, end, 0, -1, special};
    return 0;
}

int tk_work_bytes(tk_work *w, size_t n)
{
    if (n <= w->bytes_cap)
        return 0;
    size_t cap = w->bytes_cap ? w->bytes_cap : 256;
    while (cap < n)
        cap *= 2;
    char *b = realloc(w->bytes, cap);
    if (!b)
        return -1;
    w->bytes = b;
    uint32_t *m = realloc(w->byte_char, cap * sizeof(uint32_t));
    if (!m)
        return -1;
    w->byte_char = m;
    w->bytes_cap = cap;
    return 0;
}

void tk_work_free(tk_work *w)
{
    tk_chars_free(&w->text);
    tk_chars_free(&w->norm);
    tk_chars_free(&w->scratch);
    free(w->words.v);
    free(w->tmp_spans[0].v);
    free(w->tmp_spans[1].v);
    free(w->raw_pieces.v);
    free(w->norm_pieces.v);
    free(w->bytes);
    free(w->byte_char);
    free(w->bpe_sym);
    free(w->bpe_heap);
    free(w->merge_out);
    free(w->uni_nodes);
    free(w->arena);
    memset(w, 0, sizeof(*w));
}

/* Length of the valid sequence at s (n bytes left) and its code point; 0 if invalid. */
int tk_utf8_next(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0; /* overlong, or a surrogate */
        *cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return 0;
    if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, or above U+10FFFF */
    *cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return 4;
}

int tk_utf8_decode(const char *s, size_t len, tk_chars *out)
{
    if (len == 0)
        return 0;
    if (tk_chars_reserve(out, out->n + len))
        return -1;
    tk_char *v = out->v + out->n;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            *v++ = (tk_char){c, (uint32_t)i, (uint32_t)i + 1};
            i++;
            continue;
        }
        uint32_t cp;
        int k = tk_utf8_next(s + i, len - i, &cp);
        if (k == 0) {
            cp = 0xFFFD;
            k = 1;
        }
        *v++ = (tk_char){cp, (uint32_t)i, (uint32_t)(i + k)};
        i += k;
    }
    out->n = (size_t)(v - out->v);
    return 0;
}

int tk_utf8_encode(uint32_t cp, char *dst)
{
    unsigned char *d = (unsigned char *)dst;
    if (cp < 0x80) {
        d[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xC0 | (cp >> 6));
        d[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (cp >> 12));
        d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

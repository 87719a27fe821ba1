/*
 * precompiled.c — the Precompiled normalizer: SentencePiece's compiled charsmap (nmt_nfkc and
 * the like) applied the way Hugging Face tokenizers applies it.
 *
 * The charsmap (base64 in tokenizer.json) is: a little-endian u32 N, then N/4 little-endian
 * u32 units of a Darts-clone double-array trie over UTF-8 bytes, then a blob of NUL-terminated
 * UTF-8 replacement strings that the trie's leaves point into.
 *
 * tokenizers does not use SentencePiece's longest-match rule. It splits the text into extended
 * grapheme clusters (UAX #29, here utf8proc's); a cluster shorter than 6 bytes is looked up
 * whole, taking the FIRST (shortest) key that prefixes it and replacing the whole cluster by
 * its string; otherwise, or if no key prefixes the cluster, every code point is looked up
 * alone. Nothing matches across clusters.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with '=' padding; returns the byte count or -1. out needs len*3/4+3. */
static long b64_decode(const char *s, size_t len, unsigned char *out)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < len && s[i] != '='; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    for (; i < len; i++)
        if (s[i] != '=')
            return -1; /* text after the padding */
    return (long)n;
}

int tk_charsmap_parse(tk_charsmap *m, const char *base64, size_t len, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    unsigned char *raw = malloc(len / 4 * 3 + 4);
    if (!raw) {
        tk_errf(err, errlen, "out of memory");
        return -1;
    }
    long n = b64_decode(base64, len, raw);
    if (n < 0) {
        tk_errf(err, errlen, "precompiled_charsmap is not valid base64");
        goto fail;
    }
    if (n < 4) {
        tk_errf(err, errlen, "precompiled_charsmap is too short (%ld bytes)", n);
        goto fail;
    }
    uint32_t trie_bytes = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                          (uint32_t)raw[3] << 24;
    if (trie_bytes % 4 || trie_bytes < 4 || trie_bytes > (uint64_t)n - 4) {
        tk_errf(err, errlen, "precompiled_charsmap: trie size %u does not fit its %ld bytes",
                trie_bytes, n);
        goto fail;
    }
    m->n_units = trie_bytes / 4;
    m->blob_len = (size_t)n - 4 - trie_bytes;
    m->units = malloc(m->n_units * sizeof(uint32_t));
    m->blob = malloc(m->blob_len + 1);
    if (!m->units || !m->blob) {
        tk_errf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->n_units; i++) {
        const unsigned char *u = raw + 4 + 4 * i;
        m->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                      (uint32_t)u[3] << 24;
    }
    memcpy(m->blob, raw + 4 + trie_bytes, m->blob_len);
    m->blob[m->blob_len] = 0; /* every offset inside the blob now ends in a NUL */
    free(raw);
    for (int c = 1; c < 128; c++) {
        char b = (char)c;
        m->ascii[c] = tk_charsmap_lookup(m, &b, 1);
    }
    return 0;
fail:
    free(raw);
    tk_charsmap_free(m);
    return -1;
}

void tk_charsmap_free(tk_charsmap *m)
{
    free(m->units);
    free(m->blob);
    memset(m, 0, sizeof(*m));
}

/* Darts-clone unit fields. */
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & 0x200) >> 6); }
static uint32_t unit_label(uint32_t u) { return u & 0x800000FFu; }
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }

const char *tk_charsmap_lookup(const tk_charsmap *m, const char *s, size_t n)
{
    if (!m->n_units)
        return NULL;
    uint32_t p = unit_offset(m->units[0]);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            break;
        p ^= c;
        if (p >= m->n_units)
            return NULL; /* a malformed trie points outside itself */
        uint32_t u = m->units[p];
        if (unit_label(u) != c)
            return NULL;
        p ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (p >= m->n_units)
                return NULL;
            uint32_t value = m->units[p] & 0x7FFFFFFFu;
            return value < m->blob_len ? m->blob + value : NULL;
        }
    }
    return NULL;
}

/* Appends the replacement string's chars, each covering original bytes [start, end). */
static int push_replacement(tk_chars *out, const char *r, uint32_t start, uint32_t end)
{
    size_t n = strlen(r);
    while (n) {
        uint32_t cp;
        int k = tk_utf8_next(r, n, &cp);
        if (k <= 0) {
            cp = 0xFFFD; /* a malformed table: one U+FFFD per bad byte */
            k = 1;
        }
        if (tk_chars_push(out, cp, start, end))
            return -1;
        r += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The cluster text->v[b..e): whole-cluster lookup if short, else code point by code point. */
static int apply_cluster(const tk_charsmap *m, const tk_char *c, size_t b, size_t e, tk_chars *out)
{
    char buf[8];
    size_t len = 0;
    int short_cluster = 1;
    for (size_t i = b; i < e && short_cluster; i++) {
        uint32_t cp = c[i].cp;
        size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (len + k >= 6)
            short_cluster = 0;
        else
            len += (size_t)tk_utf8_encode(cp, buf + len);
    }
    if (short_cluster) {
        const char *r = len == 1 ? m->ascii[(unsigned char)buf[0]] : tk_charsmap_lookup(m, buf, len);
        if (r) {
            uint32_t s = c[b].start, t = c[e - 1].end;
            for (size_t i = b; i < e; i++) {
                if (c[i].start < s)
                    s = c[i].start;
                if (c[i].end > t)
                    t = c[i].end;
            }
            return push_replacement(out, r, s, t);
        }
    }
    for (size_t i = b; i < e; i++) {
        const char *r;
        if (c[i].cp < 0x80) {
            r = m->ascii[c[i].cp];
        } else {
            int k = tk_utf8_encode(c[i].cp, buf);
            r = tk_charsmap_lookup(m, buf, (size_t)k);
        }
        if (r ? push_replacement(out, r, c[i].start, c[i].end)
              : tk_chars_push(out, c[i].cp, c[i].start, c[i].end))
            return -1;
    }
    return 0;
}

int tk_charsmap_apply(const tk_charsmap *m, const tk_chars *text, tk_chars *out)
{
    out->n = 0;
    if (tk_chars_reserve(out, text->n + 8))
        return -1;
    const tk_char *c = text->v;
    size_t n = text->n, b = 0;
    utf8proc_int32_t state = 0;
    while (b < n) {
        size_t e = b + 1;
        /* Extend the cluster while no grapheme break follows. Two ASCII chars always break
         * (except CR LF), which saves the property lookups on most text. */
        while (e < n) {
            uint32_t c1 = c[e - 1].cp, c2 = c[e].cp;
            if (c1 < 0x80 && c2 < 0x80) {
                state = 0;
                if (c1 == '\r' && c2 == '\n') {
                    e++;
                    continue;
                }
                break;
            }
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)c1, (utf8proc_int32_t)c2, &state))
                break;
            e++;
        }
        if (apply_cluster(m, c, b, e, out))
            return -1;
        b = e;
    }
    return 0;
}

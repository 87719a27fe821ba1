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

/* One application of the charsmap to a piece: the input chars, the output, and the lag.
 *
 * Alignment follows tokenizers' Precompiled: a rewrite of k old chars to m new ones gives new
 * char i the alignment of old char min(i, k-1) (the first replace in order, extra ones are
 * insertions after the last, a shorter rewrite's last char also removes the rest). A deletion
 * is recorded on the output char before it; when there is none yet (deletions at the start of
 * the piece) tokenizers records nothing, and every later char then takes the alignment of the
 * input char `lag` places before its own, lag being the number of those unrecorded deletions.
 * The ids do not depend on this; the offsets match tokenizers' this way. */
typedef struct apply_ctx {
    const tk_charsmap *m;
    const tk_char *in;
    tk_chars *out;
    size_t lag;
} apply_ctx;

/* Appends cp aligned with input char j (shifted by the lag). */
static int emit(apply_ctx *x, uint32_t cp, size_t j)
{
    const tk_char *from = &x->in[j - x->lag]; /* j >= lag: the lag counts chars before j */
    return tk_chars_push(x->out, cp, from->start, from->end);
}

/* The replacement string r for input chars [j, j + k). */
static int replace_part(apply_ctx *x, const char *r, size_t j, size_t k)
{
    size_t n = strlen(r), i = 0;
    if (n == 0 && x->out->n == 0)
        x->lag += k; /* a deletion with no char before it to record it on */
    while (n) {
        uint32_t cp;
        int len = tk_utf8_next(r, n, &cp);
        if (len <= 0) {
            cp = 0xFFFD; /* a malformed table: one U+FFFD per bad byte */
            len = 1;
        }
        if (emit(x, cp, j + (i < k ? i : k - 1)))
            return -1;
        r += len;
        n -= (size_t)len;
        i++;
    }
    return 0;
}

/* The cluster in[b..e): whole-cluster lookup if short, else code point by code point. */
static int apply_cluster(apply_ctx *x, size_t b, size_t e)
{
    const tk_char *c = x->in;
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
        const char *r = len == 1 ? x->m->ascii[(unsigned char)buf[0]]
                                 : tk_charsmap_lookup(x->m, buf, len);
        if (r)
            return replace_part(x, r, b, e - b);
    }
    for (size_t i = b; i < e; i++) {
        const char *r;
        if (c[i].cp < 0x80) {
            r = x->m->ascii[c[i].cp];
        } else {
            int k = tk_utf8_encode(c[i].cp, buf);
            r = tk_charsmap_lookup(x->m, buf, (size_t)k);
        }
        if (r ? replace_part(x, r, i, 1) : emit(x, c[i].cp, i))
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
    apply_ctx x = {m, c, out, 0};
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
        if (apply_cluster(&x, b, e))
            return -1;
        b = e;
    }
    return 0;
}

/*
 * decode.c — ids back to text through the tokenizer's decoder: WordPiece ("##" pieces glued
 * to the previous one, spaces elsewhere, then tokenizers' cleanup of spaces before
 * punctuation and contractions), ByteLevel (chars back to bytes, invalid UTF-8 replaced the
 * way Rust's from_utf8_lossy does), pieces (ByteFallback: runs of <0xHH> tokens become their
 * bytes, or one U+FFFD per byte when those are not UTF-8; Metaspace: the replacement char
 * becomes a space, and is dropped in the first piece unless prepend_scheme is never), or
 * none (tokens joined with spaces).
 */
#include "tk_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static int sb_add(sbuf *b, const char *s, size_t n)
{
    if (n > SIZE_MAX / 4 || b->n > SIZE_MAX / 4)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

/* Replaces every occurrence of from by to in b->s[start..], left to right. */
static int replace_all(sbuf *b, size_t start, const char *from, const char *to)
{
    size_t lf = strlen(from), lt = strlen(to);
    sbuf out = {0};
    if (sb_add(&out, b->s, start))
        return -1;
    size_t i = start;
    while (i < b->n) {
        if (b->n - i >= lf && !memcmp(b->s + i, from, lf)) {
            if (sb_add(&out, to, lt))
                goto fail;
            i += lf;
        } else {
            if (sb_add(&out, b->s + i, 1))
                goto fail;
            i++;
        }
    }
    free(b->s);
    *b = out;
    return 0;
fail:
    free(out.s);
    return -1;
}

/* tokenizers' wordpiece cleanup, applied to one decoded token (with its leading space). */
static int cleanup(sbuf *b, size_t start)
{
    static const char *const rules[][2] = {
        {" .", "."},     {" ?", "?"},     {" !", "!"},           {" ,", ","},
        {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"},         {" do not", " don't"},
        {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strstr(b->s + start, rules[i][0]) && replace_all(b, start, rules[i][0], rules[i][1]))
            return -1;
    return 0;
}

/* Length of the longest prefix of s that could start a valid UTF-8 sequence (Rust's
 * "maximal subpart"), at least 1: one U+FFFD replaces it. */
static size_t invalid_run(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 1;
    size_t i = 1;
    if (i < n && s[i] >= lo && s[i] <= hi) {
        i++;
        while (i < need && i < n && (s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static int lossy_utf8(sbuf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int k = tk_utf8_next(s + i, n - i, &cp);
        if (k > 0) {
            if (sb_add(out, s + i, (size_t)k))
                return -1;
            i += (size_t)k;
            continue;
        }
        if (sb_add(out, "\xEF\xBF\xBD", 3))
            return -1;
        i += invalid_run((const unsigned char *)s + i, n - i);
    }
    return 0;
}

/* Appends the bytes a byte-level token stands for (its own UTF-8 if some char is not a
 * byte char, as tokenizers does). */
static int bytelevel_token(sbuf *raw, const char *tok)
{
    size_t len = strlen(tok);
    char *tmp = malloc(len + 1);
    if (!tmp)
        return -1;
    int n = tk_bytelevel_to_raw(tok, len, tmp);
    int rc = n >= 0 ? sb_add(raw, tmp, (size_t)n) : sb_add(raw, tok, len);
    free(tmp);
    return rc;
}

/* The byte a "<0xHH>" token stands for (hex of either case, as tokenizers reads it), or -1. */
static int byte_token(const char *tok)
{
    if (strlen(tok) != 6 || strncmp(tok, "<0x", 3) || tok[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = tok[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One decoded piece through Metaspace (if set): the replacement char becomes a space, or
 * vanishes in the first piece. */
static int metaspace_piece(const tk_decoder *d, sbuf *out, const char *s, size_t n, int first)
{
    if (!d->metaspace)
        return sb_add(out, s, n);
    char rep[4];
    int lr = tk_utf8_encode(d->replacement, rep);
    size_t i = 0;
    while (i < n) {
        if (n - i >= (size_t)lr && !memcmp(s + i, rep, (size_t)lr)) {
            if (!(first && d->prepend != TK_PREPEND_NEVER) && sb_add(out, " ", 1))
                return -1;
            i += (size_t)lr;
            continue;
        }
        if (sb_add(out, s + i, 1))
            return -1;
        i++;
    }
    return 0;
}

/* Flushes the pending <0xHH> bytes as one piece (UTF-8) or one U+FFFD piece per byte. */
static int flush_bytes(const tk_decoder *d, sbuf *out, sbuf *bytes, int *pieces)
{
    if (!bytes->n)
        return 0;
    int ok = 1;
    for (size_t i = 0; i < bytes->n && ok;) {
        uint32_t cp;
        int k = tk_utf8_next(bytes->s + i, bytes->n - i, &cp);
        ok = k > 0;
        i += (size_t)(k > 0 ? k : 1);
    }
    int rc = 0;
    if (ok)
        rc = metaspace_piece(d, out, bytes->s, bytes->n, (*pieces)++ == 0);
    else
        for (size_t i = 0; i < bytes->n && !rc; i++)
            rc = metaspace_piece(d, out, "\xEF\xBF\xBD", 3, (*pieces)++ == 0);
    bytes->n = 0;
    return rc;
}

/* The pieces decoders: ByteFallback first, then Metaspace on each resulting piece. */
static int decode_pieces(const tk_decoder *d, sbuf *out, sbuf *bytes, int *pieces, const char *tok)
{
    int b = d->byte_fallback ? byte_token(tok) : -1;
    if (b >= 0) {
        char c = (char)b;
        return sb_add(bytes, &c, 1);
    }
    if (flush_bytes(d, out, bytes, pieces))
        return -1;
    return metaspace_piece(d, out, tok, strlen(tok), (*pieces)++ == 0);
}

char *vkb_tokenizer_decode(const vkb_tokenizer *t, const int32_t *ids, int n, int skip_special)
{
    if (!t || (n > 0 && !ids))
        return NULL;
    sbuf out = {0}, raw = {0};
    if (sb_add(&out, "", 0))
        return NULL;
    int emitted = 0, pieces = 0;
    for (int i = 0; i < n; i++) {
        const char *tok = vkb_tokenizer_id_to_token(t, ids[i]);
        if (!tok || (skip_special && tk_added_is_special_id(&t->added, ids[i])))
            continue;
        int first = emitted++ == 0;
        switch (t->decoder.kind) {
        case TK_DEC_NONE:
            if ((!first && sb_add(&out, " ", 1)) || sb_add(&out, tok, strlen(tok)))
                goto fail;
            break;
        case TK_DEC_WORDPIECE: {
            size_t start = out.n;
            size_t lp = strlen(t->decoder.prefix);
            if (!first && !strncmp(tok, t->decoder.prefix, lp))
                tok += lp;
            else if (!first && sb_add(&out, " ", 1))
                goto fail;
            if (sb_add(&out, tok, strlen(tok)) || (t->decoder.cleanup && cleanup(&out, start)))
                goto fail;
            break;
        }
        case TK_DEC_BYTELEVEL:
            if (bytelevel_token(&raw, tok))
                goto fail;
            break;
        case TK_DEC_PIECES:
            if (decode_pieces(&t->decoder, &out, &raw, &pieces, tok))
                goto fail;
            break;
        }
    }
    if (t->decoder.kind == TK_DEC_PIECES && flush_bytes(&t->decoder, &out, &raw, &pieces))
        goto fail;
    if (t->decoder.kind == TK_DEC_BYTELEVEL && lossy_utf8(&out, raw.s ? raw.s : "", raw.n))
        goto fail;
    free(raw.s);
    return out.s;
fail:
    free(raw.s);
    free(out.s);
    return NULL;
}

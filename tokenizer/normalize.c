/*
 * normalize.c — the normalizers of tokenizer.json (BertNormalizer, Lowercase, NFD/NFKD/NFC/
 * NFKC, StripAccents, Strip, Replace, Prepend, Precompiled (precompiled.c), and Sequence as a
 * list of these), applied to a char array.
 *
 * Each step reads text and writes scratch, then the two swap; every output char keeps the
 * original byte range of the char it came from (see tk_internal.h).
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

static void swap(tk_chars *a, tk_chars *b)
{
    tk_chars t = *a;
    *a = *b;
    *b = t;
}

/* Lowercase via Rust's char::to_lowercase; optionally drops Mn chars first. */
static int lower_filter(tk_chars *text, tk_chars *out, int lower, int drop_mn)
{
    out->n = 0;
    if (tk_chars_reserve(out, text->n + 8))
        return -1;
    for (size_t i = 0; i < text->n; i++) {
        tk_char c = text->v[i];
        if (drop_mn && tk_is_mark_nonspacing(c.cp))
            continue;
        uint32_t low[2];
        int k = lower ? tk_to_lower(c.cp, low) : (low[0] = c.cp, 1);
        for (int j = 0; j < k; j++)
            if (tk_chars_push(out, low[j], c.start, c.end))
                return -1;
    }
    swap(text, out);
    return 0;
}

/* BertNormalizer: clean text (drop NUL, U+FFFD and "other" chars except \t\n\r; whitespace
 * becomes ' '), spaces around CJK ideographs, then NFD + drop Mn when stripping accents,
 * then lowercase. The all-ASCII case takes one pass.
 * As in Hugging Face's bert.rs the control filter runs before the whitespace map, so a char
 * that is both Cc and White_Space (U+000B, U+000C, U+0085) is deleted, not turned into a
 * space: "form\ffeed" is one word. Only \t, \n, \r escape the filter. */
static int bert(const tk_norm_step *st, tk_chars *text, tk_chars *out)
{
    out->n = 0;
    if (tk_chars_reserve(out, text->n + 16))
        return -1;
    int ascii_only = 1;
    for (size_t i = 0; i < text->n; i++) {
        tk_char c = text->v[i];
        if (st->clean_text) {
            if (c.cp == 0 || c.cp == 0xFFFD)
                continue;
            int tnr = c.cp == '\t' || c.cp == '\n' || c.cp == '\r';
            if (!tnr && tk_is_other(c.cp))
                continue;
            if (tnr || tk_is_whitespace(c.cp))
                c.cp = ' ';
        }
        if (c.cp >= 0x80)
            ascii_only = 0;
        if (st->handle_chinese && tk_is_chinese(c.cp)) {
            if (tk_chars_push(out, ' ', c.start, c.end) || tk_chars_push(out, c.cp, c.start, c.end) ||
                tk_chars_push(out, ' ', c.start, c.end))
                return -1;
            continue;
        }
        if (ascii_only && st->lowercase && c.cp >= 'A' && c.cp <= 'Z')
            c.cp += 32;
        if (tk_chars_push(out, c.cp, c.start, c.end))
            return -1;
    }
    swap(text, out);
    if (ascii_only)
        return 0; /* already lowercased; ASCII has no accents to strip */
    if (st->strip_accents) {
        out->n = 0;
        if (tk_unorm(TK_NORM_NFD, text->v, text->n, out))
            return -1;
        swap(text, out);
    }
    if (st->strip_accents || st->lowercase)
        return lower_filter(text, out, st->lowercase, st->strip_accents);
    return 0;
}

static int strip(const tk_norm_step *st, tk_chars *text)
{
    size_t b = 0, e = text->n;
    if (st->strip_left)
        while (b < e && tk_is_whitespace(text->v[b].cp))
            b++;
    if (st->strip_right)
        while (e > b && tk_is_whitespace(text->v[e - 1].cp))
            e--;
    if (b > 0 && e > b)
        memmove(text->v, text->v + b, (e - b) * sizeof(tk_char));
    text->n = e - b;
    return 0;
}

/* Replace: every match of p in text becomes content (the new chars cover the match's original
 * bytes); text -> out, swapped. */
static int replace(const tk_pattern *p, const uint32_t *content, size_t n_content, tk_chars *text,
                   tk_chars *out)
{
    tk_matches m = {0};
    int rc = -1;
    if (tk_pattern_find(p, text->v, 0, (uint32_t)text->n, &m))
        goto cleanup;
    if (m.n == 1 && !m.v[0].is_match) {
        rc = 0; /* nothing to replace */
        goto cleanup;
    }
    out->n = 0;
    if (tk_chars_reserve(out, text->n + 8))
        goto cleanup;
    for (size_t i = 0; i < m.n; i++) {
        const tk_match *x = &m.v[i];
        if (!x->is_match) {
            for (uint32_t k = x->begin; k < x->end; k++)
                if (tk_chars_push(out, text->v[k].cp, text->v[k].start, text->v[k].end))
                    goto cleanup;
            continue;
        }
        /* The new chars take the alignment of the char before them once the match is gone:
         * its last char (tokenizers' replace: the match removed, then each new char inserted
         * with the alignment of the char before it; an empty match at 0 gets none). */
        uint32_t s = 0, e = 0;
        if (x->end > 0) {
            s = text->v[x->end - 1].start;
            e = text->v[x->end - 1].end;
        }
        for (size_t k = 0; k < n_content; k++)
            if (tk_chars_push(out, content[k], s, e))
                goto cleanup;
    }
    swap(text, out);
    rc = 0;
cleanup:
    free(m.v);
    return rc;
}

/* Prepend: content before a non-empty text, aligned with its first char (as tokenizers'
 * NormalizedString::prepend aligns it). */
static int prepend(const tk_norm_step *st, tk_chars *text, tk_chars *out)
{
    if (text->n == 0)
        return 0;
    out->n = 0;
    if (tk_chars_reserve(out, text->n + st->n_content))
        return -1;
    for (size_t k = 0; k < st->n_content; k++)
        out->v[out->n++] = (tk_char){st->content[k], text->v[0].start, text->v[0].end};
    memcpy(out->v + out->n, text->v, text->n * sizeof(tk_char));
    out->n += text->n;
    swap(text, out);
    return 0;
}

void tk_normalizer_free(tk_normalizer *nz)
{
    for (int i = 0; i < nz->n; i++) {
        tk_norm_step *st = &nz->steps[i];
        if (st->charsmap) {
            tk_charsmap_free(st->charsmap);
            free(st->charsmap);
        }
        tk_pattern_free(&st->pattern);
        free(st->content);
    }
    free(nz->steps);
    nz->steps = NULL;
    nz->n = 0;
}

int tk_normalize(const tk_normalizer *nz, tk_chars *text, tk_chars *scratch)
{
    for (int i = 0; i < nz->n; i++) {
        const tk_norm_step *st = &nz->steps[i];
        int rc = 0;
        switch (st->kind) {
        case TK_NORM_BERT:
            rc = bert(st, text, scratch);
            break;
        case TK_NORM_LOWERCASE:
            rc = lower_filter(text, scratch, 1, 0);
            break;
        case TK_NORM_STRIP_ACCENTS:
            rc = lower_filter(text, scratch, 0, 1);
            break;
        case TK_NORM_STRIP:
            rc = strip(st, text);
            break;
        case TK_NORM_PRECOMPILED:
            rc = tk_charsmap_apply(st->charsmap, text, scratch);
            if (!rc)
                swap(text, scratch);
            break;
        case TK_NORM_REPLACE:
            rc = replace(&st->pattern, st->content, st->n_content, text, scratch);
            break;
        case TK_NORM_PREPEND:
            rc = prepend(st, text, scratch);
            break;
        case TK_NORM_NFD:
        case TK_NORM_NFKD:
        case TK_NORM_NFC:
        case TK_NORM_NFKC:
            scratch->n = 0;
            rc = tk_unorm(st->kind, text->v, text->n, scratch);
            if (!rc)
                swap(text, scratch);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

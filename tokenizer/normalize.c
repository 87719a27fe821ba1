/*
 * normalize.c — the normalizers of tokenizer.json (BertNormalizer, Lowercase, NFD/NFKD/NFC/
 * NFKC, StripAccents, Strip, and Sequence as a list of these), applied to a char array.
 *
 * Each step reads text and writes scratch, then the two swap; every output char keeps the
 * original byte range of the char it came from (see tk_internal.h).
 */
#include "tk_internal.h"

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

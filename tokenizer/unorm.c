/*
 * unorm.c — Unicode normalization forms (NFD, NFKD, NFC, NFKC) that keep track of where each
 * output char came from, built on utf8proc's decomposition and composition.
 *
 * Decomposition maps every char to its decomposition, each part keeping the source char's
 * byte range; canonical reordering then sorts runs of combining marks (stable, ranges travel
 * with their chars). Composition works per segment: a segment starts at a char of combining
 * class 0 and takes every following char that is a combining mark or that composes with the
 * segment (a Hangul vowel or trailing jamo, a few Indic vowel signs). Composition never
 * crosses a segment boundary, so composing segment by segment equals composing the whole
 * text, and every char of a composed segment takes the union of the segment's ranges.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int ccc(uint32_t cp)
{
    return cp < 0x300 ? 0 : utf8proc_get_property((utf8proc_int32_t)cp)->combining_class;
}

static int decompose(int compat, const tk_char *in, size_t n, tk_chars *out)
{
    utf8proc_option_t opt = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
    for (size_t i = 0; i < n; i++) {
        if (in[i].cp < 0xC0) {
            if (!compat || in[i].cp < 0xA0) {
                if (tk_chars_push(out, in[i].cp, in[i].start, in[i].end))
                    return -1;
                continue;
            }
        }
        utf8proc_int32_t buf[32];
        int last_boundclass = 0;
        utf8proc_ssize_t k =
            utf8proc_decompose_char((utf8proc_int32_t)in[i].cp, buf, 32, opt, &last_boundclass);
        if (k < 1 || k > 32) { /* cannot happen for valid code points; keep the char */
            buf[0] = (utf8proc_int32_t)in[i].cp;
            k = 1;
        }
        for (utf8proc_ssize_t j = 0; j < k; j++)
            if (tk_chars_push(out, (uint32_t)buf[j], in[i].start, in[i].end))
                return -1;
    }
    return 0;
}

/* Stable insertion sort of each run of non-starters by combining class. */
static void reorder(tk_char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (ccc(v[i].cp) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && ccc(v[j].cp) != 0)
            j++;
        for (size_t a = i + 1; a < j; a++) {
            tk_char x = v[a];
            int cx = ccc(x.cp);
            size_t b = a;
            while (b > i && ccc(v[b - 1].cp) > cx) {
                v[b] = v[b - 1];
                b--;
            }
            v[b] = x;
        }
        i = j;
    }
}

/* Canonical composition of buf[0..n) in place; returns the new length. */
static size_t compose_cps(utf8proc_int32_t *buf, size_t n)
{
    utf8proc_ssize_t r = utf8proc_normalize_utf32(buf, (utf8proc_ssize_t)n,
                                                  UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    return r < 0 ? n : (size_t)r;
}

/* Grows the segment buffer and its scratch copy, which share one capacity (*cap code points;
 * trial may hold more after a failure), to hold n. 0 or -1 (out of memory). */
static int grow_segment(utf8proc_int32_t **seg, utf8proc_int32_t **trial, size_t *cap, size_t n)
{
    /* tk_grow takes void pointers: these copies are what it gets, so compose's own pointers
     * never have their address passed out (the compiler keeps them in registers). */
    void *s = *seg, *t = *trial;
    size_t seg_cap = *cap, trial_cap = *cap;
    int rc = tk_grow(&t, &trial_cap, n, sizeof(**trial));
    if (rc == 0)
        rc = tk_grow(&s, &seg_cap, n, sizeof(**seg));
    *seg = s;
    *trial = t;
    *cap = seg_cap;
    return rc;
}

static int compose(const tk_char *v, size_t n, tk_chars *out)
{
    utf8proc_int32_t *seg = NULL, *trial = NULL; /* the segment's code points; a scratch copy */
    size_t cap = 0;
    int rc = -1;
    size_t i = 0;
    while (i < n) {
        /* Grow the segment [i, j). */
        size_t j = i + 1;
        while (j < n) {
            if (ccc(v[j].cp) != 0) {
                j++;
                continue;
            }
            if (v[j].cp < 0x80)
                break; /* no composition has an ASCII second char */
            size_t len = j - i + 1;
            if (len > cap && grow_segment(&seg, &trial, &cap, len))
                goto cleanup;
            for (size_t k = 0; k < len; k++)
                seg[k] = (utf8proc_int32_t)v[i + k].cp;
            memcpy(trial, seg, (len - 1) * sizeof(*seg));
            size_t without = compose_cps(trial, len - 1);
            size_t with = compose_cps(seg, len);
            if (with < without + 1)
                j++;
            else
                break;
        }
        size_t len = j - i;
        if (len > cap && grow_segment(&seg, &trial, &cap, len))
            goto cleanup;
        uint32_t start = v[i].start, end = v[i].end;
        for (size_t k = 0; k < len; k++) {
            seg[k] = (utf8proc_int32_t)v[i + k].cp;
            if (v[i + k].start < start)
                start = v[i + k].start;
            if (v[i + k].end > end)
                end = v[i + k].end;
        }
        size_t m = len == 1 ? 1 : compose_cps(seg, len);
        for (size_t k = 0; k < m; k++)
            if (tk_chars_push(out, (uint32_t)seg[k], len == 1 ? v[i].start : start,
                              len == 1 ? v[i].end : end))
                goto cleanup;
        i = j;
    }
    rc = 0;
cleanup:
    free(seg);
    free(trial);
    return rc;
}

int tk_unorm(tk_norm_kind form, const tk_char *in, size_t n, tk_chars *out)
{
    int compat = form == TK_NORM_NFKD || form == TK_NORM_NFKC;
    int comp = form == TK_NORM_NFC || form == TK_NORM_NFKC;
    if (n == 0)
        return 0;
    if (!comp) {
        size_t first = out->n;
        if (decompose(compat, in, n, out))
            return -1;
        reorder(out->v + first, out->n - first);
        return 0;
    }
    tk_chars d = {0};
    int rc = -1;
    if (decompose(compat, in, n, &d))
        goto cleanup;
    reorder(d.v, d.n);
    if (compose(d.v, d.n, out))
        goto cleanup;
    rc = 0;
cleanup:
    tk_chars_free(&d);
    return rc;
}

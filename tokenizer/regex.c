/*
 * regex.c — the String / Regex patterns of the Replace normalizer and the Split pre-tokenizer,
 * and their match lists (tokenizers' Pattern::find_matches).
 *
 * Regexes run on Oniguruma with its default (Ruby) syntax over UTF-8, which is what tokenizers'
 * SysRegex is built on, so \p{L}, lookarounds and the like mean the same. The text is chars, so
 * a piece is encoded to UTF-8 with a byte -> char map, searched, and the byte offsets mapped
 * back. Empty matches right after the previous match are skipped one char on, as the onig
 * crate's find_iter does.
 */
#include "tk_internal.h"

#include <oniguruma.h>
#include <stdlib.h>
#include <string.h>

struct tk_regex {
    regex_t *re;
    /* The pattern is one literal char repeated at least run_min times ("c{n,}", the " {2,}"
     * every SentencePiece converter writes): matched without Oniguruma, same result. */
    uint32_t run_cp;
    uint32_t run_min; /* 0: not of that form */
};

/* Recognises "c{n,}" with c a char that is literal in a regex (no escape, no class). */
static void detect_run(tk_regex *r, const char *pattern)
{
    uint32_t cp;
    int k = tk_utf8_next(pattern, strlen(pattern), &cp);
    if (k <= 0 || strchr("\\^$.|?*+()[]{}#", (int)cp) || cp == 0 || pattern[k] != '{')
        return;
    const char *p = pattern + k + 1;
    uint32_t n = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 6) {
        n = n * 10 + (uint32_t)(*p++ - '0');
        digits++;
    }
    if (digits && n > 0 && p[0] == ',' && p[1] == '}' && p[2] == 0) {
        r->run_cp = cp;
        r->run_min = n;
    }
}

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;

static void onig_setup(void)
{
    OnigEncoding enc = ONIG_ENCODING_UTF8;
    onig_initialize(&enc, 1);
}

tk_regex *tk_regex_new(const char *pattern, char *err, size_t errlen)
{
    pthread_once(&onig_once, onig_setup);
    tk_regex *r = calloc(1, sizeof(*r));
    if (!r) {
        tk_errf(err, errlen, "out of memory");
        return NULL;
    }
    OnigErrorInfo info;
    const UChar *p = (const UChar *)pattern;
    int rc = onig_new(&r->re, p, p + strlen(pattern), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                      ONIG_SYNTAX_DEFAULT, &info);
    if (rc != ONIG_NORMAL) {
        UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &info);
        tk_errf(err, errlen, "regex '%s': %s", pattern, (const char *)msg);
        free(r);
        return NULL;
    }
    detect_run(r, pattern);
    return r;
}

void tk_regex_free(tk_regex *re)
{
    if (!re)
        return;
    onig_free(re->re);
    free(re);
}

void tk_pattern_free(tk_pattern *p)
{
    free(p->lit);
    tk_regex_free(p->re);
    memset(p, 0, sizeof(*p));
}

static int push_match(tk_matches *m, uint32_t b, uint32_t e, int is_match)
{
    if (m->n == m->cap && tk_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(tk_match)))
        return -1;
    m->v[m->n++] = (tk_match){b, e, (uint8_t)is_match};
    return 0;
}

/* Adds the match [s, e) after the non-match since *prev. */
static int add_found(tk_matches *m, uint32_t *prev, uint32_t s, uint32_t e)
{
    if (*prev != s && push_match(m, *prev, s, 0))
        return -1;
    if (push_match(m, s, e, 1))
        return -1;
    *prev = e;
    return 0;
}

/* A literal: left to right, non-overlapping (tokenizers escapes it into a regex). */
static int find_literal(const tk_pattern *p, const tk_char *t, uint32_t b, uint32_t e,
                        tk_matches *out)
{
    uint32_t prev = b;
    if (p->n_lit == 0)
        return push_match(out, b, e, 0); /* tokenizers: an empty string matches nothing */
    for (uint32_t i = b; i + p->n_lit <= e;) {
        size_t k = 0;
        while (k < p->n_lit && t[i + k].cp == p->lit[k])
            k++;
        if (k < p->n_lit) {
            i++;
            continue;
        }
        if (add_found(out, &prev, i, i + (uint32_t)p->n_lit))
            return -1;
        i += (uint32_t)p->n_lit;
    }
    if (prev != e && push_match(out, prev, e, 0))
        return -1;
    return 0;
}

/* "c{n,}": every maximal run of c at least n long, left to right (what a greedy search
 * finds). */
static int find_run(const tk_regex *re, const tk_char *t, uint32_t b, uint32_t e, tk_matches *out)
{
    uint32_t prev = b;
    for (uint32_t i = b; i < e;) {
        if (t[i].cp != re->run_cp) {
            i++;
            continue;
        }
        uint32_t j = i + 1;
        while (j < e && t[j].cp == re->run_cp)
            j++;
        if (j - i >= re->run_min && add_found(out, &prev, i, j))
            return -1;
        i = j;
    }
    if (prev != e && push_match(out, prev, e, 0))
        return -1;
    return 0;
}

static int find_regex(const tk_regex *re, const tk_char *t, uint32_t b, uint32_t e,
                      tk_matches *out)
{
    if (re->run_min)
        return find_run(re, t, b, e, out);
    size_t n = e - b;
    char *bytes = malloc(n * 4 + 1);
    uint32_t *char_at = malloc((n * 4 + 1) * sizeof(uint32_t)); /* byte -> char index */
    OnigRegion *region = onig_region_new();
    int rc = -1;
    if (!bytes || !char_at || !region)
        goto cleanup;
    size_t len = 0;
    for (uint32_t i = b; i < e; i++) {
        int k = tk_utf8_encode(t[i].cp, bytes + len);
        for (int j = 0; j < k; j++)
            char_at[len + (size_t)j] = i;
        len += (size_t)k;
    }
    char_at[len] = e;
    const UChar *s = (const UChar *)bytes, *end = s + len;
    size_t at = 0;
    long last_match_end = -1;
    uint32_t prev = b;
    while (at <= len) {
        onig_region_clear(region);
        int r = onig_search(re->re, s, end, s + at, end, region, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH)
            break;
        if (r < 0)
            goto cleanup;
        size_t ms = (size_t)region->beg[0], me = (size_t)region->end[0];
        if (ms == me && last_match_end == (long)me) {
            /* no empty match right after the previous one: step one char on */
            size_t step = 1;
            while (at + step < len && ((unsigned char)bytes[at + step] & 0xC0) == 0x80)
                step++;
            at += step;
            continue;
        }
        at = me;
        last_match_end = (long)me;
        if (add_found(out, &prev, char_at[ms], char_at[me]))
            goto cleanup;
        if (ms == me && me == len)
            break;
    }
    if (prev != e && push_match(out, prev, e, 0))
        goto cleanup;
    rc = 0;
cleanup:
    if (region)
        onig_region_free(region, 1);
    free(bytes);
    free(char_at);
    return rc;
}

int tk_pattern_find(const tk_pattern *p, const tk_char *text, uint32_t b, uint32_t e,
                    tk_matches *out)
{
    out->n = 0;
    if (b >= e)
        return push_match(out, b, b, 0);
    return p->re ? find_regex(p->re, text, b, e, out) : find_literal(p, text, b, e, out);
}

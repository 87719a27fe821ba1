/*
 * pretokenize.c — pre-tokenizers: split a normalized piece of text into the words the model
 * sees. BertPreTokenizer, ByteLevel (optional prefix space, GPT-2 pattern), Whitespace
 * (\w+|[^\w\s]+), WhitespaceSplit, Punctuation (with its delimiter behaviour), Digits,
 * Split (a String or Regex pattern with a behaviour), Metaspace (metaspace.c), and Sequence
 * as a list of these, each step splitting every word of the previous one.
 */
#include "tk_internal.h"

#include <stdlib.h>

/* Splits [b, e) at the chars where is_delim holds, keeping delimiters as behavior says
 * (tokenizers' SplitDelimiterBehavior; every delimiter char is its own match). */
static int split_by(const tk_char *t, uint32_t b, uint32_t e, int (*is_delim)(uint32_t),
                    tk_split_behavior behavior, tk_spans *out)
{
    size_t first = out->n;
    int prev_delim = 0;
    uint32_t run = b; /* start of the pending non-delimiter run */
    for (uint32_t i = b; i < e; i++) {
        if (!is_delim(t[i].cp)) {
            prev_delim = 0;
            continue;
        }
        int have_run = run < i;
        switch (behavior) {
        case TK_SPLIT_REMOVED:
            if (have_run && tk_spans_push(out, run, i))
                return -1;
            break;
        case TK_SPLIT_ISOLATED:
            if ((have_run && tk_spans_push(out, run, i)) || tk_spans_push(out, i, i + 1))
                return -1;
            break;
        case TK_SPLIT_CONTIGUOUS:
            if (have_run && tk_spans_push(out, run, i))
                return -1;
            if (prev_delim && !have_run && out->n > first)
                out->v[out->n - 1].end = i + 1;
            else if (tk_spans_push(out, i, i + 1))
                return -1;
            break;
        case TK_SPLIT_MERGED_WITH_PREVIOUS:
            if (have_run) {
                if (tk_spans_push(out, run, i + 1))
                    return -1;
            } else if (!prev_delim && out->n > first) {
                out->v[out->n - 1].end = i + 1;
            } else if (tk_spans_push(out, i, i + 1)) {
                return -1;
            }
            break;
        case TK_SPLIT_MERGED_WITH_NEXT:
            /* A delimiter joins the run after it, unless another delimiter follows it. */
            if (have_run && tk_spans_push(out, run, i))
                return -1;
            if (i + 1 < e && !is_delim(t[i + 1].cp)) {
                run = i; /* the delimiter opens the next run */
                prev_delim = 1;
                continue;
            }
            if (tk_spans_push(out, i, i + 1))
                return -1;
            break;
        }
        prev_delim = 1;
        run = i + 1;
    }
    if (run < e && tk_spans_push(out, run, e))
        return -1;
    return 0;
}

/* BertPreTokenizer: whitespace removed, then every punctuation char isolated (one pass). */
static int bert_split(const tk_char *t, uint32_t b, uint32_t e, tk_spans *out)
{
    uint32_t run = b;
    for (uint32_t i = b; i < e; i++) {
        uint32_t cp = t[i].cp;
        if (tk_is_whitespace(cp)) {
            if (run < i && tk_spans_push(out, run, i))
                return -1;
            run = i + 1;
        } else if (tk_is_bert_punct(cp)) {
            if ((run < i && tk_spans_push(out, run, i)) || tk_spans_push(out, i, i + 1))
                return -1;
            run = i + 1;
        }
    }
    if (run < e && tk_spans_push(out, run, e))
        return -1;
    return 0;
}

/* Whitespace pre-tokenizer: the matches of \w+|[^\w\s]+. */
static int whitespace_split(const tk_char *t, uint32_t b, uint32_t e, tk_spans *out)
{
    uint32_t i = b;
    while (i < e) {
        if (tk_is_whitespace(t[i].cp)) {
            i++;
            continue;
        }
        int word = tk_is_word_char(t[i].cp) != 0;
        uint32_t j = i + 1;
        while (j < e && !tk_is_whitespace(t[j].cp) && (tk_is_word_char(t[j].cp) != 0) == word)
            j++;
        if (tk_spans_push(out, i, j))
            return -1;
        i = j;
    }
    return 0;
}

/* ByteLevel: a leading space if asked (and the piece lacks one), then the GPT-2 pattern. */
static int bytelevel_split(const tk_pre_step *st, int prefix_override, tk_chars *text, uint32_t b,
                           uint32_t e, tk_spans *out)
{
    int prefix = prefix_override >= 0 ? prefix_override : st->add_prefix_space;
    if (prefix && b < e && text->v[b].cp != ' ') {
        /* Copy the piece after a new space; the space covers no original bytes. */
        uint32_t nb = (uint32_t)text->n, len = e - b;
        if (tk_chars_reserve(text, text->n + len + 1))
            return -1;
        uint32_t at = text->v[b].start;
        text->v[text->n++] = (tk_char){' ', at, at};
        for (uint32_t i = 0; i < len; i++)
            text->v[text->n++] = text->v[b + i];
        b = nb;
        e = nb + len + 1;
    }
    if (!st->use_regex)
        return tk_spans_push(out, b, e);
    return tk_gpt2_split(text->v, b, e, out);
}

/* Drops the empty spans of out[first..] (tokenizers never keeps an empty split). */
static void drop_empty(tk_spans *out, size_t first)
{
    size_t k = first;
    for (size_t i = first; i < out->n; i++)
        if (out->v[i].begin < out->v[i].end)
            out->v[k++] = out->v[i];
    out->n = k;
}

int tk_split_matches(const tk_matches *m, tk_split_behavior behavior, int invert, tk_spans *out)
{
    size_t first = out->n;
    int prev = 0;
    if (behavior == TK_SPLIT_MERGED_WITH_NEXT) {
        /* Right to left, a match takes the split after it; then the order is restored. */
        for (size_t i = m->n; i-- > 0;) {
            int is_match = m->v[i].is_match != invert;
            if (is_match && !prev && out->n > first)
                out->v[out->n - 1].begin = m->v[i].begin;
            else if (tk_spans_push(out, m->v[i].begin, m->v[i].end))
                return -1;
            prev = is_match;
        }
        for (size_t a = first, z = out->n; a + 1 < z; a++, z--) {
            tk_span t = out->v[a];
            out->v[a] = out->v[z - 1];
            out->v[z - 1] = t;
        }
        drop_empty(out, first);
        return 0;
    }
    for (size_t i = 0; i < m->n; i++) {
        int is_match = m->v[i].is_match != invert;
        int extend = 0;
        switch (behavior) {
        case TK_SPLIT_REMOVED:
            if (is_match)
                continue;
            break;
        case TK_SPLIT_ISOLATED:
            break;
        case TK_SPLIT_CONTIGUOUS:
            extend = is_match == prev;
            break;
        case TK_SPLIT_MERGED_WITH_PREVIOUS:
            extend = is_match && !prev;
            break;
        case TK_SPLIT_MERGED_WITH_NEXT:
            break; /* handled above */
        }
        prev = is_match;
        if (extend && out->n > first)
            out->v[out->n - 1].end = m->v[i].end;
        else if (tk_spans_push(out, m->v[i].begin, m->v[i].end))
            return -1;
    }
    drop_empty(out, first);
    return 0;
}

/* Split: the pattern's matches over [b, e), split by the step's behaviour. */
static int pattern_split(const tk_pre_step *st, const tk_char *t, uint32_t b, uint32_t e,
                         tk_spans *out)
{
    tk_matches m = {0};
    int rc = tk_pattern_find(&st->pattern, t, b, e, &m);
    if (!rc)
        rc = tk_split_matches(&m, st->behavior, st->invert, out);
    free(m.v);
    return rc;
}

/* Metaspace: spaces replaced, the replacement prepended as the scheme says, then (split) a
 * cut before every replacement char. */
static int metaspace_split(const tk_pre_step *st, int first, tk_chars *text, uint32_t b,
                           uint32_t e, tk_spans *out)
{
    uint32_t nb, ne;
    if (tk_metaspace(st, first, text, b, e, &nb, &ne))
        return -1;
    if (!st->split)
        return tk_spans_push(out, nb, ne);
    uint32_t run = nb;
    for (uint32_t i = nb + 1; i < ne; i++) {
        if (text->v[i].cp != st->replacement)
            continue;
        if (tk_spans_push(out, run, i))
            return -1;
        run = i;
    }
    return run < ne ? tk_spans_push(out, run, ne) : 0;
}

static int run_step(const tk_pre_step *st, int prefix_override, int first, tk_chars *text,
                    uint32_t b, uint32_t e, tk_spans *out)
{
    switch (st->kind) {
    case TK_PRE_BERT:
        return bert_split(text->v, b, e, out);
    case TK_PRE_BYTELEVEL:
        return bytelevel_split(st, prefix_override, text, b, e, out);
    case TK_PRE_WHITESPACE:
        return whitespace_split(text->v, b, e, out);
    case TK_PRE_WHITESPACE_SPLIT:
        return split_by(text->v, b, e, tk_is_whitespace, TK_SPLIT_REMOVED, out);
    case TK_PRE_PUNCTUATION:
        return split_by(text->v, b, e, tk_is_bert_punct, st->behavior, out);
    case TK_PRE_DIGITS:
        return split_by(text->v, b, e, tk_is_number,
                        st->individual_digits ? TK_SPLIT_ISOLATED : TK_SPLIT_CONTIGUOUS, out);
    case TK_PRE_SPLIT:
        return pattern_split(st, text->v, b, e, out);
    case TK_PRE_METASPACE:
        return metaspace_split(st, first, text, b, e, out);
    }
    return -1;
}

void tk_pretokenizer_free(tk_pretokenizer *pt)
{
    for (int i = 0; i < pt->n; i++)
        tk_pattern_free(&pt->steps[i].pattern);
    free(pt->steps);
    pt->steps = NULL;
    pt->n = 0;
}

int tk_pretokenize(const tk_pretokenizer *pt, int prefix_override, int at_start, tk_chars *text,
                   uint32_t begin, uint32_t end, tk_spans *out, tk_spans tmp[2])
{
    if (begin >= end)
        return 0;
    if (pt->n == 0)
        return tk_spans_push(out, begin, end);
    if (pt->n == 1)
        return run_step(&pt->steps[0], prefix_override, at_start, text, begin, end, out);
    /* Several steps: words go back and forth between tmp[0] and tmp[1]; the last step
     * writes to out. */
    tk_spans *cur = &tmp[0], *next = &tmp[1];
    cur->n = 0;
    if (tk_spans_push(cur, begin, end))
        return -1;
    for (int s = 0; s < pt->n; s++) {
        tk_spans *dst = s == pt->n - 1 ? out : next;
        if (dst == next)
            next->n = 0;
        for (size_t i = 0; i < cur->n; i++) {
            /* "first": the word that starts the piece that starts the input */
            int first = at_start && (s == 0 || (i == 0 && cur->v[0].begin == begin));
            if (run_step(&pt->steps[s], prefix_override, first, text, cur->v[i].begin,
                         cur->v[i].end, dst))
                return -1;
        }
        tk_spans *t = cur;
        cur = next;
        next = t;
    }
    return 0;
}

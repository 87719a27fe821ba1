/*
 * encode.c — the encoding pipeline (see tk_internal.h for the stages) and the public
 * vkb_tokenizer_encode: text in, ids / special mask / byte offsets out, with the
 * post-processor's tokens and truncation that keeps them.
 */
#include "tk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Saves the UTF-8 of chars [b, e) in the work arena as the token's string. */
static int save_value(tk_work *w, tk_token *tok, const tk_char *c, uint32_t b, uint32_t e)
{
    size_t need = w->arena_len + (size_t)(e - b) * 4;
    if (need > w->arena_cap) {
        size_t cap = w->arena_cap ? w->arena_cap : 256;
        while (cap < need)
            cap *= 2;
        char *a = realloc(w->arena, cap);
        if (!a)
            return -1;
        w->arena = a;
        w->arena_cap = cap;
    }
    tok->value_off = (uint32_t)w->arena_len;
    for (uint32_t i = b; i < e; i++)
        w->arena_len += (size_t)tk_utf8_encode(c[i].cp, w->arena + w->arena_len);
    tok->value_len = (int32_t)(w->arena_len - tok->value_off);
    return 0;
}

int tk_work_save_value(tk_work *w, tk_token *tok, const char *s, size_t n)
{
    if (!w->want_strings)
        return 0;
    if (w->arena_len + n > w->arena_cap) {
        size_t cap = w->arena_cap ? w->arena_cap : 256;
        while (cap < w->arena_len + n)
            cap *= 2;
        char *a = realloc(w->arena, cap);
        if (!a)
            return -1;
        w->arena = a;
        w->arena_cap = cap;
    }
    tok->value_off = (uint32_t)w->arena_len;
    memcpy(w->arena + w->arena_len, s, n);
    w->arena_len += n;
    tok->value_len = (int32_t)n;
    return 0;
}

/* Original byte range of chars [b, e): from the first char's start to the last one's end,
 * widened to cover every char (normalization can reorder marks). */
static void byte_range(const tk_char *c, uint32_t b, uint32_t e, uint32_t *start, uint32_t *end)
{
    uint32_t s = c[b].start, t = c[e - 1].end;
    for (uint32_t i = b; i < e; i++) {
        if (c[i].start < s)
            s = c[i].start;
        if (c[i].end > t)
            t = c[i].end;
    }
    *start = s;
    *end = t;
}

static int emit_added(const vkb_tokenizer *t, tk_work *w, const tk_chars *text,
                      const tk_added_match *m, tk_tokens *out)
{
    const tk_added_token *tok = &t->added.tokens[m->token];
    uint32_t s, e;
    byte_range(text->v, m->begin, m->end, &s, &e);
    if (tk_tokens_push(out, tok->id, s, e, tok->special))
        return -1;
    if (w->want_strings)
        return save_value(w, &out->v[out->n - 1], text->v, m->begin, m->end);
    return 0;
}

/* Runs the model on word [b, e) of text and turns its tokens' char indices into byte offsets. */
static int model_word(const vkb_tokenizer *t, tk_work *w, const tk_chars *text, uint32_t b,
                      uint32_t e, tk_tokens *out)
{
    size_t nchars = e - b;
    if (tk_work_bytes(w, nchars * 4))
        return -1;
    size_t len = 0;
    for (uint32_t i = b; i < e; i++) {
        uint32_t cp = text->v[i].cp;
        if (cp < 0x80) {
            w->byte_char[len] = i - b;
            w->bytes[len++] = (char)cp;
            continue;
        }
        int k = tk_utf8_encode(cp, w->bytes + len);
        for (int j = 0; j < k; j++)
            w->byte_char[len + (size_t)j] = i - b;
        len += (size_t)k;
    }
    size_t first = out->n;
    int rc = t->kind == TK_MODEL_WORDPIECE ? tk_wordpiece_word(&t->wordpiece, w, len, nchars, out)
             : t->kind == TK_MODEL_UNIGRAM ? tk_unigram_word(&t->unigram, &t->vocab, w, len, out)
                                           : tk_bpe_word((tk_bpe *)&t->bpe, w, len, out);
    if (rc)
        return rc;
    const tk_char *c = text->v + b;
    for (size_t i = first; i < out->n; i++) {
        tk_token *tok = &out->v[i];
        uint32_t c0 = tok->start, c1 = tok->end;
        if (t->post.trim_offsets) {
            /* Offsets leave out the spaces a byte-level token starts or ends with. */
            while (c0 < c1 && tk_is_whitespace(c[c0].cp))
                c0++;
            while (c1 > c0 && tk_is_whitespace(c[c1 - 1].cp))
                c1--;
            if (c0 == c1) {
                tok->start = tok->end = c[tok->end - 1].end;
                continue;
            }
        }
        byte_range(c, c0, c1, &tok->start, &tok->end);
    }
    return 0;
}

/* Pre-tokenizes piece [b, e) of text and runs the model on every word. at_start: the piece
 * starts the input. */
static int encode_piece(const vkb_tokenizer *t, tk_work *w, tk_chars *text, uint32_t b,
                        uint32_t e, int at_start, tk_tokens *out)
{
    w->words.n = 0;
    if (tk_pretokenize(&t->pre, t->add_prefix_space, at_start, text, b, e, &w->words,
                       w->tmp_spans))
        return -1;
    for (size_t i = 0; i < w->words.n; i++) {
        int rc = model_word(t, w, text, w->words.v[i].begin, w->words.v[i].end, out);
        if (rc)
            return rc;
    }
    return 0;
}

int tk_encode_tokens(const vkb_tokenizer *t, tk_work *w, const char *text, size_t len,
                     tk_tokens *out)
{
    w->text.n = 0;
    if (tk_utf8_decode(text, len, &w->text))
        return -1;
    uint32_t n = (uint32_t)w->text.n;
    w->raw_pieces.n = 0;
    if (tk_added_split(&t->added, 0, w->text.v, 0, n, &w->raw_pieces))
        return -1;
    int has_normalizer = t->normalizer.n > 0;
    for (size_t p = 0; p < w->raw_pieces.n; p++) {
        tk_added_match raw = w->raw_pieces.v[p];
        if (raw.token >= 0) {
            if (emit_added(t, w, &w->text, &raw, out))
                return -1;
            continue;
        }
        /* Normalize the piece (into w->norm), or work on the text itself when there is no
         * normalizer (a ByteLevel prefix space then appends to w->text, past the input). */
        tk_chars *nt = &w->text;
        uint32_t nb = raw.begin, ne = raw.end;
        if (has_normalizer) {
            nt = &w->norm;
            nt->n = 0;
            if (tk_chars_reserve(nt, raw.end - raw.begin))
                return -1;
            memcpy(nt->v, w->text.v + raw.begin, (raw.end - raw.begin) * sizeof(tk_char));
            nt->n = raw.end - raw.begin;
            if (tk_normalize(&t->normalizer, nt, &w->scratch))
                return -1;
            nb = 0;
            ne = (uint32_t)nt->n;
        }
        w->norm_pieces.n = 0;
        if (tk_added_split(&t->added, 1, nt->v, nb, ne, &w->norm_pieces))
            return -1;
        for (size_t q = 0; q < w->norm_pieces.n; q++) {
            tk_added_match m = w->norm_pieces.v[q];
            int at_start = raw.begin == 0 && m.begin == nb;
            int rc = m.token >= 0 ? emit_added(t, w, nt, &m, out)
                                  : encode_piece(t, w, nt, m.begin, m.end, at_start, out);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Builds the final encoding: prefix specials, the tokens (cut to fit max_len), suffix
 * specials. strings (optional) gets each token's string, lens (optional, with strings) each
 * string's byte length (an unknown Unigram piece may hold U+0000). */
static int finish(const vkb_tokenizer *t, const tk_work *w, const tk_tokens *toks,
                  int add_special, int max_len, vkb_encoding *out, char ***strings,
                  size_t **lens)
{
    int n_pre = add_special ? t->post.n_prefix : 0;
    int n_suf = add_special ? t->post.n_suffix : 0;
    size_t content = toks->n;
    if (max_len > 0) {
        if (max_len < n_pre + n_suf)
            return -EINVAL;
        if (content > (size_t)(max_len - n_pre - n_suf))
            content = (size_t)(max_len - n_pre - n_suf);
    }
    if (content > (size_t)INT32_MAX - (size_t)(n_pre + n_suf))
        return -EOVERFLOW;
    int n = (int)content + n_pre + n_suf;
    size_t alloc = n ? (size_t)n : 1;
    out->ids = malloc(alloc * sizeof(int32_t));
    out->special_mask = malloc(alloc);
    out->offsets = malloc(alloc * 2 * sizeof(uint32_t));
    char **s = strings ? calloc(alloc, sizeof(char *)) : NULL;
    size_t *L = lens ? malloc(alloc * sizeof(size_t)) : NULL;
    if (!out->ids || !out->special_mask || !out->offsets || (strings && !s) || (lens && !L))
        goto fail;
    out->n = n;
    int k = 0;
    for (int i = 0; i < n_pre; i++, k++) {
        out->ids[k] = t->post.prefix_ids[i];
        out->special_mask[k] = 1;
        out->offsets[2 * k] = out->offsets[2 * k + 1] = 0;
        if (s && !(s[k] = strdup(t->post.prefix_tokens[i])))
            goto fail;
        if (L)
            L[k] = strlen(s[k]);
    }
    for (size_t i = 0; i < content; i++, k++) {
        const tk_token *tok = &toks->v[i];
        out->ids[k] = tok->id;
        out->special_mask[k] = tok->special;
        out->offsets[2 * k] = tok->start;
        out->offsets[2 * k + 1] = tok->end;
        if (!s)
            continue;
        const char *vocab_str = vkb_tokenizer_id_to_token(t, tok->id);
        const char *src = tok->value_len >= 0 ? w->arena + tok->value_off : vocab_str ? vocab_str : "";
        size_t len = tok->value_len >= 0 ? (size_t)tok->value_len : strlen(src);
        if (!(s[k] = malloc(len + 1)))
            goto fail;
        memcpy(s[k], src, len); /* by length: a matched text may hold U+0000 */
        s[k][len] = 0;
        if (L)
            L[k] = len;
    }
    for (int i = 0; i < n_suf; i++, k++) {
        out->ids[k] = t->post.suffix_ids[i];
        out->special_mask[k] = 1;
        out->offsets[2 * k] = out->offsets[2 * k + 1] = 0;
        if (s && !(s[k] = strdup(t->post.suffix_tokens[i])))
            goto fail;
        if (L)
            L[k] = strlen(s[k]);
    }
    if (strings)
        *strings = s;
    if (lens)
        *lens = L;
    return 0;
fail:
    if (s)
        vkb_tokens_free(s, n);
    free(L);
    vkb_encoding_free(out);
    return -ENOMEM;
}

static int encode(const vkb_tokenizer *t, const char *text, size_t len, int add_special,
                  int max_len, vkb_encoding *out, char ***strings, size_t **lens)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (strings)
        *strings = NULL;
    if (lens)
        *lens = NULL;
    if (!t || (!text && len) || max_len < 0)
        return -EINVAL;
    if (len >= UINT32_MAX / 2)
        return -E2BIG; /* offsets are 32-bit */
    tk_work w = {0};
    w.want_strings = strings != NULL;
    tk_tokens toks = {0};
    int rc = tk_encode_tokens(t, &w, text ? text : "", len, &toks);
    if (rc == -2)
        rc = -ENOENT; /* the model needed its unknown token and the vocabulary lacks it */
    else if (rc)
        rc = -ENOMEM;
    if (!rc)
        rc = finish(t, &w, &toks, add_special, max_len, out, strings, lens);
    free(toks.v);
    tk_work_free(&w);
    return rc;
}

int vkb_tokenizer_encode(const vkb_tokenizer *t, const char *text, size_t len, int add_special,
                         int max_len, vkb_encoding *out)
{
    return encode(t, text, len, add_special, max_len, out, NULL, NULL);
}

int vkb_tokenizer_encode_tokens(const vkb_tokenizer *t, const char *text, size_t len,
                                int add_special, int max_len, vkb_encoding *out, char ***tokens)
{
    if (!tokens)
        return -EINVAL;
    return encode(t, text, len, add_special, max_len, out, tokens, NULL);
}

int vkb_tokenizer_encode_tokens_len(const vkb_tokenizer *t, const char *text, size_t len,
                                    int add_special, int max_len, vkb_encoding *out,
                                    char ***tokens, size_t **lens)
{
    if (!tokens || !lens)
        return -EINVAL;
    return encode(t, text, len, add_special, max_len, out, tokens, lens);
}

void vkb_tokens_free(char **tokens, int n)
{
    if (!tokens)
        return;
    for (int i = 0; i < n; i++)
        free(tokens[i]);
    free(tokens);
}

void vkb_encoding_free(vkb_encoding *e)
{
    if (!e)
        return;
    free(e->ids);
    free(e->special_mask);
    free(e->offsets);
    memset(e, 0, sizeof(*e));
}

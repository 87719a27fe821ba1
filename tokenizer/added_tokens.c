/*
 * added_tokens.c — added and special tokens ([CLS], <mask>, ...) found literally in the text.
 *
 * As in tokenizers' AddedVocabulary: tokens with normalized=false are matched on the raw text
 * before normalization, tokens with normalized=true on each normalized piece (their content
 * normalized the same way). Matching is leftmost-longest and non-overlapping; a match of a
 * single_word token is dropped unless it stands between non-word chars; lstrip / rstrip
 * widen a match over the whitespace before / after it.
 *
 * The trie is over code points; each node keeps its edges sorted for binary search.
 * first_mask filters the positions where no token can start (most of them) in one lookup.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

static int64_t trie_node(tk_cp_trie *t)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        tk_cp_trie_node *v = realloc(t->nodes, cap * sizeof(*v));
        if (!v)
            return -1;
        t->nodes = v;
        t->cap = cap;
    }
    t->nodes[t->n] = (tk_cp_trie_node){NULL, NULL, 0, 0, -1};
    return t->n++;
}

/* Child of node along cp, or 0 (the root is never a child). */
static uint32_t trie_child(const tk_cp_trie_node *nd, uint32_t cp, uint32_t *pos)
{
    uint32_t lo = 0, hi = nd->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (nd->cps[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < nd->n && nd->cps[lo] == cp ? nd->children[lo] : 0;
}

static int trie_insert(tk_cp_trie *t, const tk_char *cps, size_t n, int32_t token)
{
    if (n == 0)
        return 0;
    if (t->n == 0 && trie_node(t) < 0)
        return -1;
    t->first_mask[(cps[0].cp & 1023) >> 6] |= 1ull << (cps[0].cp & 63);
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos;
        uint32_t c = trie_child(&t->nodes[node], cps[i].cp, &pos);
        if (!c) {
            int64_t nn = trie_node(t);
            if (nn < 0)
                return -1;
            tk_cp_trie_node *nd = &t->nodes[node];
            if (nd->n == nd->cap) {
                uint32_t cap = nd->cap ? nd->cap * 2 : 2;
                uint32_t *a = realloc(nd->cps, cap * sizeof(uint32_t));
                if (!a)
                    return -1;
                nd->cps = a;
                a = realloc(nd->children, cap * sizeof(uint32_t));
                if (!a)
                    return -1;
                nd->children = a;
                nd->cap = cap;
            }
            memmove(nd->cps + pos + 1, nd->cps + pos, (nd->n - pos) * sizeof(uint32_t));
            memmove(nd->children + pos + 1, nd->children + pos, (nd->n - pos) * sizeof(uint32_t));
            nd->cps[pos] = cps[i].cp;
            nd->children[pos] = (uint32_t)nn;
            nd->n++;
            c = (uint32_t)nn;
        }
        node = c;
    }
    if (t->nodes[node].token < 0)
        t->nodes[node].token = token; /* two tokens with the same content: the first wins */
    return 0;
}

static void trie_free(tk_cp_trie *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->nodes[i].cps);
        free(t->nodes[i].children);
    }
    free(t->nodes);
    memset(t, 0, sizeof(*t));
}

int tk_added_add(tk_added *a, const char *content, int32_t id, int special, int lstrip,
                 int rstrip, int single_word, int normalized)
{
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 8;
        tk_added_token *v = realloc(a->tokens, (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        a->tokens = v;
        a->cap = cap;
    }
    char *c = strdup(content);
    if (!c)
        return -1;
    a->tokens[a->n++] = (tk_added_token){c, id, (uint8_t)!!special, (uint8_t)!!lstrip,
                                         (uint8_t)!!rstrip, (uint8_t)!!single_word,
                                         (uint8_t)!!normalized};
    return 0;
}

int tk_added_build(tk_added *a, const tk_normalizer *nz)
{
    tk_chars text = {0}, scratch = {0};
    int rc = -1;
    for (int i = 0; i < a->n; i++) {
        const tk_added_token *tok = &a->tokens[i];
        size_t len = strlen(tok->content);
        if (tk_strmap_get(&a->by_content, tok->content, len) < 0 &&
            tk_strmap_put(&a->by_content, tok->content, len, tok->id))
            goto cleanup;
        if (tok->special && tok->id >= a->n_special_id) {
            int32_t n = tok->id + 1;
            uint8_t *v = realloc(a->special_id, (size_t)n);
            if (!v)
                goto cleanup;
            memset(v + a->n_special_id, 0, (size_t)(n - a->n_special_id));
            a->special_id = v;
            a->n_special_id = n;
        }
        if (tok->special)
            a->special_id[tok->id] = 1;
        text.n = 0;
        if (tk_utf8_decode(tok->content, strlen(tok->content), &text))
            goto cleanup;
        if (tok->normalized && tk_normalize(nz, &text, &scratch))
            goto cleanup;
        if (trie_insert(tok->normalized ? &a->norm_trie : &a->raw_trie, text.v, text.n, i))
            goto cleanup;
    }
    rc = 0;
cleanup:
    tk_chars_free(&text);
    tk_chars_free(&scratch);
    return rc;
}

static int push_piece(tk_added_matches *out, uint32_t b, uint32_t e, int32_t token)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        tk_added_match *v = realloc(out->v, cap * sizeof(*v));
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = (tk_added_match){b, e, token};
    return 0;
}

static int is_word(uint32_t cp) { return cp == '_' || tk_is_alnum(cp); }

/* Longest token starting at text[i]: its char length (0: none) and index. */
static uint32_t longest_at(const tk_cp_trie *t, const tk_char *text, uint32_t i, uint32_t end,
                           int32_t *token)
{
    uint32_t node = 0, best = 0;
    for (uint32_t j = i; j < end; j++) {
        uint32_t pos;
        node = trie_child(&t->nodes[node], text[j].cp, &pos);
        if (!node)
            break;
        if (t->nodes[node].token >= 0) {
            best = j - i + 1;
            *token = t->nodes[node].token;
        }
    }
    return best;
}

int tk_added_split(const tk_added *a, int normalized, const tk_char *text, uint32_t begin,
                   uint32_t end, tk_added_matches *out)
{
    const tk_cp_trie *t = normalized ? &a->norm_trie : &a->raw_trie;
    uint32_t done = begin; /* text before this has been emitted */
    uint32_t i = begin;
    while (t->n && i < end) {
        uint32_t cp = text[i].cp;
        if (!(t->first_mask[(cp & 1023) >> 6] & (1ull << (cp & 63)))) {
            i++;
            continue;
        }
        int32_t token = -1;
        uint32_t len = longest_at(t, text, i, end, &token);
        if (!len) {
            i++;
            continue;
        }
        const tk_added_token *tok = &a->tokens[token];
        uint32_t s = i, e = i + len;
        i = e; /* the search resumes after the match, whatever happens to it */
        if (tok->single_word) {
            int space_before = s == begin || !is_word(text[s - 1].cp);
            int space_after = e == end || !is_word(text[e].cp);
            if (!space_before || !space_after)
                continue;
        }
        if (tok->lstrip)
            while (s > begin && tk_is_whitespace(text[s - 1].cp))
                s--;
        if (s < done)
            s = done; /* never take back text a previous match already covered */
        if (tok->rstrip)
            while (e < end && tk_is_whitespace(text[e].cp))
                e++;
        if (e <= done)
            continue;
        if (done < s && push_piece(out, done, s, -1))
            return -1;
        if (push_piece(out, s, e, token))
            return -1;
        done = e;
    }
    if (done < end && push_piece(out, done, end, -1))
        return -1;
    return 0;
}

int tk_added_is_special_id(const tk_added *a, int32_t id)
{
    return id >= 0 && id < a->n_special_id && a->special_id[id];
}

int32_t tk_added_id(const tk_added *a, const char *content)
{
    return tk_strmap_get(&a->by_content, content, strlen(content));
}

void tk_added_free(tk_added *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->tokens[i].content);
    free(a->tokens);
    trie_free(&a->raw_trie);
    trie_free(&a->norm_trie);
    tk_strmap_free(&a->by_content);
    free(a->special_id);
    memset(a, 0, sizeof(*a));
}

/*
 * bpe.c — the BPE model: a word starts as one symbol per char (per byte for byte-level
 * vocabularies), then adjacent pairs merge by rank until no pair has a merge.
 *
 * The merge order is Hugging Face's: a min-heap of candidate merges ordered by (rank,
 * position of the left symbol); a popped candidate is skipped if either symbol has changed
 * since it was pushed. (This can differ from merging every occurrence of the best pair at
 * once, as the original GPT-2 code does; tokenizers is the reference.)
 *
 * Results are cached per word (the same words recur constantly) in word_cache.c's cache.
 */
#include "tk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One symbol of the word being merged: bytes [start, start+len), neighbours by index. */
typedef struct sym {
    int32_t id;
    uint32_t start, len;
    int32_t prev, next;
} sym;

typedef struct cand {
    uint32_t rank, pos;
    int32_t new_id;
} cand;

/* ---- merges table: (left, right) -> (rank, new id) ---- */

static uint32_t merge_slot(uint64_t key, uint32_t cap)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

const tk_merge *tk_bpe_find_merge(const tk_bpe *bpe, int32_t a, int32_t b)
{
    if (!bpe->merge_cap)
        return NULL;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t s = merge_slot(key, bpe->merge_cap);
    for (;;) {
        const tk_merge *m = &bpe->merges[s];
        if (m->pair == key)
            return m;
        if (m->pair == 0)
            return NULL;
        s = (s + 1) & (bpe->merge_cap - 1);
    }
}

static int merges_grow(tk_bpe *bpe)
{
    uint32_t cap = bpe->merge_cap ? bpe->merge_cap * 2 : 1024;
    tk_merge *m = calloc(cap, sizeof(tk_merge));
    if (!m)
        return -1;
    for (uint32_t i = 0; i < bpe->merge_cap; i++) {
        if (!bpe->merges[i].pair)
            continue;
        uint32_t s = merge_slot(bpe->merges[i].pair, cap);
        while (m[s].pair)
            s = (s + 1) & (cap - 1);
        m[s] = bpe->merges[i];
    }
    free(bpe->merges);
    bpe->merges = m;
    bpe->merge_cap = cap;
    return 0;
}

int tk_bpe_add_merge(tk_bpe *bpe, int32_t a, int32_t b, uint32_t rank, int32_t new_id)
{
    tk_merge *old = (tk_merge *)tk_bpe_find_merge(bpe, a, b);
    if (old) { /* listed twice: the later line wins, as in tokenizers' merge map */
        old->rank = rank;
        old->new_id = new_id;
        return 0;
    }
    if ((bpe->n_merges + 1) * 2 > bpe->merge_cap && merges_grow(bpe))
        return -1;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t s = merge_slot(key, bpe->merge_cap);
    while (bpe->merges[s].pair)
        s = (s + 1) & (bpe->merge_cap - 1);
    bpe->merges[s] = (tk_merge){key, rank, new_id};
    bpe->n_merges++;
    return 0;
}

/* ---- merging ---- */

static int cand_less(const cand *a, const cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n)
{
    cand top = h[0];
    cand last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= *n)
            break;
        size_t m = (l + 1 < *n && cand_less(&h[l + 1], &h[l])) ? l + 1 : l;
        if (!cand_less(&h[m], &last))
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = last;
    return top;
}

/* Looks a unit up, with the continuing-subword prefix / end-of-word suffix it takes. */
static int32_t unit_id(const tk_bpe *bpe, const tk_strmap *vocab, const char *u, size_t len,
                       int first, int last, char *buf, size_t bufcap, size_t *slen)
{
    const char *pre = !first && bpe->prefix ? bpe->prefix : "";
    const char *suf = last && bpe->suffix ? bpe->suffix : "";
    size_t lp = strlen(pre), ls = strlen(suf);
    if (lp == 0 && ls == 0) {
        *slen = len;
        memcpy(buf, u, len);
        if (bpe->byte_level && len == 1)
            return bpe->byte_id[(unsigned char)u[0]];
        return tk_strmap_get(vocab, u, len);
    }
    if (lp + len + ls > bufcap) {
        *slen = 0;
        return -1;
    }
    memcpy(buf, pre, lp);
    memcpy(buf + lp, u, len);
    memcpy(buf + lp + len, suf, ls);
    *slen = lp + len + ls;
    return tk_strmap_get(vocab, buf, *slen);
}

/* Builds the initial symbols (HF's merge_word before merging). Returns the count or -1. */
static int64_t initial_symbols(tk_bpe *bpe, const tk_strmap *vocab, tk_work *w, size_t len)
{
    size_t nsym = 0;
    int32_t unk_id = -1;
    uint32_t unk_start = 0, unk_len = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t ulen = bpe->byte_level ? 1 : (size_t)tk_utf8_next(w->bytes + i, len - i, &cp);
        if (ulen == 0)
            ulen = 1;
        char buf[256];
        size_t slen;
        int32_t id = unit_id(bpe, vocab, w->bytes + i, ulen, i == 0, i + ulen == len, buf,
                             sizeof(buf), &slen);
        if (tk_grow(&w->bpe_sym, &w->bpe_sym_cap, nsym + slen + 2, sizeof(sym)))
            return -1;
        sym *s = w->bpe_sym;
        if (id >= 0) {
            if (unk_id >= 0) {
                s[nsym++] = (sym){unk_id, unk_start, unk_len, 0, 0};
                unk_id = -1;
            }
            s[nsym++] = (sym){id, (uint32_t)i, (uint32_t)ulen, 0, 0};
            i += ulen;
            continue;
        }
        if (bpe->byte_fallback && slen > 0) {
            int ok = 1;
            for (size_t k = 0; k < slen && ok; k++)
                ok = bpe->byte_fallback_id[(unsigned char)buf[k]] >= 0;
            if (ok) {
                for (size_t k = 0; k < slen; k++) {
                    uint32_t at = (uint32_t)(i + (k < ulen ? k : ulen - 1));
                    s[nsym++] = (sym){bpe->byte_fallback_id[(unsigned char)buf[k]], at,
                                      k < ulen ? 1u : 0u, 0, 0};
                }
                i += ulen;
                continue;
            }
        }
        if (bpe->unk_id >= 0) {
            if (unk_id >= 0 && bpe->fuse_unk) {
                unk_len += (uint32_t)ulen;
            } else {
                if (unk_id >= 0)
                    s[nsym++] = (sym){unk_id, unk_start, unk_len, 0, 0};
                unk_id = bpe->unk_id;
                unk_start = (uint32_t)i;
                unk_len = (uint32_t)ulen;
            }
        }
        /* no unk token: the unit is dropped, as tokenizers does */
        i += ulen;
    }
    if (unk_id >= 0) {
        if (tk_grow(&w->bpe_sym, &w->bpe_sym_cap, nsym + 1, sizeof(sym)))
            return -1;
        ((sym *)w->bpe_sym)[nsym++] = (sym){unk_id, unk_start, unk_len, 0, 0};
    }
    return (int64_t)nsym;
}

static void push_cand(const tk_bpe *bpe, cand *heap, size_t *nh, const sym *s, int32_t left)
{
    int32_t right = s[left].next;
    if (right < 0)
        return;
    const tk_merge *m = tk_bpe_find_merge(bpe, s[left].id, s[right].id);
    if (m)
        heap_push(heap, nh, (cand){m->rank, (uint32_t)left, m->new_id});
}

/* Merges in place; returns the number of surviving symbols, written compactly to ids/lens. */
static int merge_word(const tk_bpe *bpe, tk_work *w, size_t nsym, int32_t *ids, uint32_t *lens)
{
    sym *s = w->bpe_sym;
    for (size_t i = 0; i < nsym; i++) {
        s[i].prev = (int32_t)i - 1;
        s[i].next = i + 1 < nsym ? (int32_t)i + 1 : -1;
    }
    if (tk_grow(&w->bpe_heap, &w->bpe_heap_cap, nsym * 2 + 2, sizeof(cand)))
        return -1;
    cand *heap = w->bpe_heap;
    size_t nh = 0;
    for (size_t i = 0; i + 1 < nsym; i++)
        push_cand(bpe, heap, &nh, s, (int32_t)i);
    while (nh) {
        cand c = heap_pop(heap, &nh);
        sym *l = &s[c.pos];
        if (l->len == 0 || l->next < 0)
            continue;
        sym *r = &s[l->next];
        const tk_merge *m = tk_bpe_find_merge(bpe, l->id, r->id);
        if (!m || m->new_id != c.new_id)
            continue; /* stale: one side changed since this candidate was pushed */
        l->id = c.new_id;
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = (int32_t)c.pos;
        r->len = 0;
        r->id = -1;
        /* Each merge removes a symbol and adds at most two candidates: the heap stays
         * within nsym * 2 entries. */
        if (l->prev >= 0)
            push_cand(bpe, heap, &nh, s, l->prev);
        push_cand(bpe, heap, &nh, s, (int32_t)c.pos);
    }
    int n = 0;
    for (int32_t i = nsym ? 0 : -1; i >= 0; i = s[i].next) {
        ids[n] = s[i].id;
        lens[n] = s[i].len;
        n++;
    }
    return n;
}

int tk_bpe_word(tk_bpe *bpe, tk_work *w, size_t len, tk_tokens *out)
{
    if (len == 0)
        return 0;
    const tk_strmap *vocab = bpe->byte_level ? &bpe->vocab_raw : bpe->vocab;
    if (bpe->ignore_merges) {
        int32_t id = tk_strmap_get(vocab, w->bytes, len);
        if (id >= 0)
            return tk_tokens_push(out, id, w->byte_char[0], w->byte_char[len - 1] + 1, 0);
    }
    uint64_t h = 0;
    int cacheable = len <= TK_WORD_CACHE_MAX_WORD && bpe->cache.ready;
    if (cacheable) {
        int err = 0;
        h = tk_hash(w->bytes, len);
        if (tk_word_cache_get(&bpe->cache, h, w->bytes, (uint32_t)len, w->byte_char, out, &err))
            return err;
    }
    int64_t nsym = initial_symbols(bpe, vocab, w, len);
    if (nsym < 0)
        return -1;
    /* merge_out: ids in the first half, byte lengths in the second. */
    size_t half = (size_t)nsym + 1;
    if (tk_grow((void **)&w->merge_out, &w->merge_out_cap, half * 2, sizeof(uint32_t)))
        return -1;
    int32_t *ids = (int32_t *)w->merge_out;
    uint32_t *lens = w->merge_out + half;
    int n = merge_word(bpe, w, (size_t)nsym, ids, lens);
    if (n < 0)
        return -1;
    if (cacheable)
        tk_word_cache_put(&bpe->cache, h, w->bytes, (uint32_t)len, ids, lens, (uint32_t)n);
    return tk_word_pieces_emit(out, w->byte_char, len, ids, lens, (uint32_t)n);
}

void tk_bpe_free(tk_bpe *bpe)
{
    free(bpe->unk_token);
    free(bpe->prefix);
    free(bpe->suffix);
    tk_strmap_free(&bpe->vocab_raw);
    free(bpe->merges);
    tk_word_cache_free(&bpe->cache);
    memset(bpe, 0, sizeof(*bpe));
}

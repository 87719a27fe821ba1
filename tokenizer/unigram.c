/*
 * unigram.c — the Unigram model (SentencePiece's, as Hugging Face tokenizers runs it): the
 * segmentation of a word into vocabulary pieces with the highest total score.
 *
 * Viterbi over the word's bytes, after tokenizers' Unigram::encode_optimized: lattice[p] holds
 * the best score of a path ending at byte p, where that path's last piece starts, and its id.
 * Start positions are visited in order; every piece that prefixes the rest of the word
 * (shortest first, one trie walk) offers best[start] + score to its end, taken if that end has
 * no path yet or the offer is strictly greater (ties keep the earlier). A code point no
 * one-char piece covers is offered as unknown at min(scores) - 10. Backtracking yields the
 * pieces; consecutive unknowns fuse into one token whose string is looked up again (it may be
 * a piece), then falls back to <0xHH> byte pieces (byte_fallback) or the unknown id.
 * Scores are doubles summed in double, as tokenizers does. Words whose pieces are all in the
 * vocab are remembered in the word cache (word_cache.c), as tokenizers' Unigram cache does.
 */
#include "tk_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One lattice position. */
typedef struct uni_node {
    double score;
    int32_t start; /* byte where the last piece of the best path starts; -1: no path yet */
    int32_t id;
} uni_node;

/* The value of an uppercase hex digit, or -1. */
static int hex_upper(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int tk_unigram_build(tk_unigram *u, char *err, size_t errlen)
{
    if (u->n <= 0) {
        tk_errf(err, errlen, "Unigram model has an empty vocab");
        return -1;
    }
    if (u->unk_id >= u->n) {
        tk_errf(err, errlen, "Unigram unk_id %d is outside the vocab (%d pieces)", u->unk_id, u->n);
        return -1;
    }
    double min = INFINITY;
    for (int32_t i = 0; i < u->n; i++) {
        if (!isfinite(u->scores[i])) {
            tk_errf(err, errlen, "Unigram piece %d has a score that is not finite", i);
            return -1;
        }
        if (u->scores[i] < min)
            min = u->scores[i];
        size_t len = strlen(u->pieces[i]);
        if (len && tk_trie_insert(&u->trie, u->pieces[i], len, i)) {
            tk_errf(err, errlen, "out of memory building the Unigram vocabulary");
            return -1;
        }
    }
    u->unk_score = min - 10.0;
    if (tk_word_cache_init(&u->cache)) {
        tk_errf(err, errlen, "out of memory building the Unigram word cache");
        return -1;
    }
    for (int b = 0; b < 256; b++)
        u->byte_id[b] = -1;
    for (int32_t i = 0; i < u->n; i++) {
        const char *p = u->pieces[i];
        /* exactly "<0xHH>", uppercase hex: the string tokenizers looks up for a byte */
        int hi, lo; /* each test reads one byte further only if the previous one passed */
        if (!strncmp(p, "<0x", 3) && (hi = hex_upper(p[3])) >= 0 && (lo = hex_upper(p[4])) >= 0 &&
            p[5] == '>' && !p[6])
            u->byte_id[hi * 16 + lo] = i; /* a piece listed twice: the later id, as the map */
    }
    return 0;
}

void tk_unigram_free(tk_unigram *u)
{
    for (int32_t i = 0; i < u->n; i++)
        free(u->pieces[i]);
    free(u->pieces);
    free(u->scores);
    tk_trie_free(&u->trie);
    tk_word_cache_free(&u->cache);
    memset(u, 0, sizeof(*u));
}

static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Emits the piece bytes [s, e) of the word: its id if it is a piece, else its bytes as
 * <0xHH> pieces (byte_fallback, when all exist), else the unknown id with the text. */
static int emit(const tk_unigram *u, const tk_strmap *vocab, tk_work *w, uint32_t s, uint32_t e,
                int32_t id, int known, tk_tokens *out)
{
    uint32_t c0 = w->byte_char[s], c1 = w->byte_char[e - 1] + 1;
    if (!known) {
        id = tk_strmap_get(vocab, w->bytes + s, e - s);
        known = id >= 0;
    }
    if (known)
        return tk_tokens_push(out, id, c0, c1, 0);
    if (u->byte_fallback) {
        int all = 1;
        for (uint32_t i = s; i < e && all; i++)
            all = u->byte_id[(unsigned char)w->bytes[i]] >= 0;
        if (all) {
            for (uint32_t i = s; i < e; i++)
                if (tk_tokens_push(out, u->byte_id[(unsigned char)w->bytes[i]], c0, c1, 0))
                    return -1;
            return 0;
        }
    }
    if (u->unk_id < 0)
        return -2;
    if (tk_tokens_push(out, u->unk_id, c0, c1, 0))
        return -1;
    return tk_work_save_value(w, &out->v[out->n - 1], w->bytes + s, e - s);
}

int tk_unigram_word(const tk_unigram *u, const tk_strmap *vocab, tk_work *w, size_t len,
                    tk_tokens *out)
{
    if (len == 0)
        return 0;
    uint64_t h = 0;
    int cacheable = len <= TK_WORD_CACHE_MAX_WORD && u->cache.ready;
    if (cacheable) {
        int err = 0;
        h = tk_hash(w->bytes, len);
        if (tk_word_cache_get((tk_word_cache *)&u->cache, h, w->bytes, (uint32_t)len, w->byte_char,
                              out, &err))
            return err;
    }
    if (len + 1 > w->uni_cap &&
        tk_grow(&w->uni_nodes, &w->uni_cap, len + 1, sizeof(uni_node)))
        return -1;
    uni_node *lat = w->uni_nodes;
    const unsigned char *b = (const unsigned char *)w->bytes;
    lat[0] = (uni_node){0.0, 0, -1};
    for (size_t i = 1; i <= len; i++)
        lat[i].start = -1;
    for (size_t pos = 0; pos < len;) {
        size_t mblen = utf8_len(b[pos]);
        if (pos + mblen > len)
            mblen = len - pos;
        double base = lat[pos].score;
        int has_single = 0;
        uint32_t node = 0;
        for (size_t k = pos; k < len; k++) {
            node = tk_trie_child(&u->trie, node, b[k]);
            if (!node)
                break;
            int32_t id = u->trie.node_id[node];
            if (id < 0)
                continue;
            uni_node *t = &lat[k + 1];
            double cand = base + u->scores[id];
            if (t->start < 0 || cand > t->score)
                *t = (uni_node){cand, (int32_t)pos, id};
            if (k + 1 - pos == mblen)
                has_single = 1;
        }
        if (!has_single) {
            uni_node *t = &lat[pos + mblen];
            double cand = base + u->unk_score;
            if (t->start < 0 || cand > t->score) {
                if (u->unk_id < 0)
                    return -2;
                *t = (uni_node){cand, (int32_t)pos, u->unk_id};
            }
        }
        pos += mblen;
    }
    /* Backtrack: pieces come out last first, as (start, end, id) triples in merge_out, an
     * unknown run fused into one with id -1 (emit looks it up). */
    if (tk_grow((void **)&w->merge_out, &w->merge_out_cap, 3 * (len + 1), sizeof(uint32_t)))
        return -1;
    uint32_t *seg = w->merge_out;
    size_t n = 0;
    int all_known = 1;
    for (uint32_t end = (uint32_t)len; end > 0; n++) {
        uint32_t start = (uint32_t)lat[end].start;
        int32_t id = lat[end].id;
        if (id == u->unk_id) {
            while (u->fuse_unk && start > 0 && lat[start].id == u->unk_id)
                start = (uint32_t)lat[start].start;
            id = -1;
            all_known = 0;
        }
        seg[3 * n] = start;
        seg[3 * n + 1] = end;
        seg[3 * n + 2] = (uint32_t)id;
        end = start;
    }
    for (size_t i = n; i-- > 0;) {
        int32_t id = (int32_t)seg[3 * i + 2];
        int rc = emit(u, vocab, w, seg[3 * i], seg[3 * i + 1], id, id >= 0, out);
        if (rc)
            return rc;
    }
    if (cacheable && all_known) {
        /* The lattice is done with: its space (16 bytes a byte) holds ids and byte lengths. */
        int32_t *ids = w->uni_nodes;
        uint32_t *lens = (uint32_t *)(ids + n);
        for (size_t i = 0; i < n; i++) {
            size_t k = n - 1 - i;
            ids[i] = (int32_t)seg[3 * k + 2];
            lens[i] = seg[3 * k + 1] - seg[3 * k];
        }
        tk_word_cache_put((tk_word_cache *)&u->cache, h, w->bytes, (uint32_t)len, ids, lens,
                          (uint32_t)n);
    }
    return 0;
}

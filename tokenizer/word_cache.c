/*
 * word_cache.c — the per-word result cache of the BPE and Unigram models (the same words recur
 * constantly, and both models spend most of their time inside a word).
 *
 * A word's bytes map to its tokens as (id, byte length) pieces. The cache is shared by all
 * threads: 16 shards, each under its own mutex; a shard that fills up is emptied, which bounds
 * memory.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

int tk_word_cache_init(tk_word_cache *c)
{
    for (int i = 0; i < TK_WORD_CACHE_SHARDS; i++) {
        tk_word_cache_shard *sh = &c->shards[i];
        sh->slots = calloc(TK_WORD_CACHE_SLOTS, sizeof(tk_word_cache_entry));
        if (!sh->slots || pthread_mutex_init(&sh->lock, NULL)) {
            free(sh->slots);
            sh->slots = NULL;
            return -1; /* shards before i are freed by tk_word_cache_free */
        }
        sh->n = 0;
    }
    c->ready = 1;
    return 0;
}

static void shard_clear(tk_word_cache_shard *sh)
{
    for (uint32_t i = 0; i < TK_WORD_CACHE_SLOTS; i++) {
        free(sh->slots[i].word);
        sh->slots[i] = (tk_word_cache_entry){0};
    }
    sh->n = 0;
}

void tk_word_cache_free(tk_word_cache *c)
{
    for (int i = 0; i < TK_WORD_CACHE_SHARDS; i++) {
        tk_word_cache_shard *sh = &c->shards[i];
        if (!sh->slots)
            continue;
        shard_clear(sh);
        free(sh->slots);
        pthread_mutex_destroy(&sh->lock);
    }
    memset(c, 0, sizeof(*c));
}

static tk_word_cache_shard *shard_of(tk_word_cache *c, uint64_t h)
{
    return &c->shards[(h >> 56) % TK_WORD_CACHE_SHARDS];
}

int tk_word_pieces_emit(tk_tokens *out, const uint32_t *byte_char, size_t len, const int32_t *ids,
                        const uint32_t *lens, uint32_t n)
{
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t b = at < len ? at : len - 1;
        size_t last = lens[i] ? at + lens[i] - 1 : b;
        if (last >= len)
            last = len - 1;
        if (tk_tokens_push(out, ids[i], byte_char[b], byte_char[last] + 1, 0))
            return -1;
        at += lens[i];
    }
    return 0;
}

int tk_word_cache_get(tk_word_cache *c, uint64_t h, const char *word, uint32_t len,
                      const uint32_t *byte_char, tk_tokens *out, int *err)
{
    tk_word_cache_shard *sh = shard_of(c, h);
    int found = 0;
    pthread_mutex_lock(&sh->lock);
    uint32_t s = (uint32_t)h & (TK_WORD_CACHE_SLOTS - 1);
    for (;;) {
        tk_word_cache_entry *e = &sh->slots[s];
        if (!e->word)
            break;
        if (e->hash == h && e->word_len == len && !memcmp(e->word, word, len)) {
            *err = tk_word_pieces_emit(out, byte_char, len, e->ids, e->lens, e->n);
            found = 1;
            break;
        }
        s = (s + 1) & (TK_WORD_CACHE_SLOTS - 1);
    }
    pthread_mutex_unlock(&sh->lock);
    return found;
}

void tk_word_cache_put(tk_word_cache *c, uint64_t h, const char *word, uint32_t len,
                       const int32_t *ids, const uint32_t *lens, uint32_t n)
{
    /* One block: word bytes, then ids, then lens (ids aligned to 4 bytes). */
    size_t word_space = (len + 3u) & ~3u;
    char *block = malloc(word_space + (size_t)n * 8);
    if (!block)
        return; /* the cache is an optimisation: skip it when memory is short */
    memcpy(block, word, len);
    int32_t *cids = (int32_t *)(void *)(block + word_space);
    uint32_t *clens = (uint32_t *)(void *)(block + word_space + (size_t)n * 4);
    memcpy(cids, ids, (size_t)n * 4);
    memcpy(clens, lens, (size_t)n * 4);
    tk_word_cache_shard *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    if ((sh->n + 1) * 2 > TK_WORD_CACHE_SLOTS)
        shard_clear(sh);
    uint32_t s = (uint32_t)h & (TK_WORD_CACHE_SLOTS - 1);
    while (sh->slots[s].word) {
        tk_word_cache_entry *e = &sh->slots[s];
        if (e->hash == h && e->word_len == len && !memcmp(e->word, word, len)) {
            pthread_mutex_unlock(&sh->lock); /* another thread was first */
            free(block);
            return;
        }
        s = (s + 1) & (TK_WORD_CACHE_SLOTS - 1);
    }
    sh->slots[s] = (tk_word_cache_entry){h, block, len, n, cids, clens};
    sh->n++;
    pthread_mutex_unlock(&sh->lock);
}

/*
 * vocab.c — the string -> id hash map used for vocabularies and the byte-level raw vocabulary.
 *
 * Layout: entries are numbered in insertion order (key_off/key_len/val/hash are parallel
 * arrays, keys live back to back in one arena); slots is an open-addressing table of
 * entry index + 1 (0 = empty) with linear probing, kept at most half full.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return x;
}

uint64_t tk_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)len * 0xFF51AFD7ED558CCDull);
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h = (h ^ (k * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    uint64_t k = 0;
    memcpy(&k, p, len);
    h ^= k * 0x87C37B91114253D5ull;
    return mix64(h);
}

static int rehash(tk_strmap *m, uint32_t cap)
{
    uint32_t *slots = calloc(cap, sizeof(uint32_t));
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t s = (uint32_t)m->hash[i] & (cap - 1);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int grow_entries(tk_strmap *m)
{
    size_t cap = m->ent_cap ? (size_t)m->ent_cap * 2 : 64;
    uint32_t *ko = realloc(m->key_off, cap * sizeof(uint32_t));
    if (!ko)
        return -1;
    m->key_off = ko;
    uint32_t *kl = realloc(m->key_len, cap * sizeof(uint32_t));
    if (!kl)
        return -1;
    m->key_len = kl;
    int32_t *v = realloc(m->val, cap * sizeof(int32_t));
    if (!v)
        return -1;
    m->val = v;
    uint64_t *h = realloc(m->hash, cap * sizeof(uint64_t));
    if (!h)
        return -1;
    m->hash = h;
    m->ent_cap = (uint32_t)cap;
    return 0;
}

static int64_t find(const tk_strmap *m, const char *key, size_t len, uint64_t h)
{
    if (!m->cap)
        return -1;
    uint32_t s = (uint32_t)h & (m->cap - 1);
    for (;;) {
        uint32_t e = m->slots[s];
        if (!e)
            return -1;
        e--;
        if (m->hash[e] == h && m->key_len[e] == len && !memcmp(m->arena + m->key_off[e], key, len))
            return e;
        s = (s + 1) & (m->cap - 1);
    }
}

int32_t tk_strmap_get(const tk_strmap *m, const char *key, size_t len)
{
    int64_t e = find(m, key, len, tk_hash(key, len));
    return e < 0 ? -1 : m->val[e];
}

int tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val)
{
    uint64_t h = tk_hash(key, len);
    int64_t e = find(m, key, len, h);
    if (e >= 0) {
        m->val[e] = val;
        return 0;
    }
    if (len > UINT32_MAX / 2 || m->n >= UINT32_MAX / 4)
        return -1;
    if ((size_t)(m->n + 1) * 2 > m->cap && rehash(m, m->cap ? m->cap * 2 : 128))
        return -1;
    if (m->n == m->ent_cap && grow_entries(m))
        return -1;
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap : 4096;
        while (cap < m->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(m->arena, cap);
        if (!a)
            return -1;
        m->arena = a;
        m->arena_cap = cap;
    }
    if (m->arena_len > UINT32_MAX - len - 1)
        return -1;
    memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = 0;
    uint32_t i = m->n++;
    m->key_off[i] = (uint32_t)m->arena_len;
    m->key_len[i] = (uint32_t)len;
    m->val[i] = val;
    m->hash[i] = h;
    m->arena_len += len + 1;
    uint32_t s = (uint32_t)h & (m->cap - 1);
    while (m->slots[s])
        s = (s + 1) & (m->cap - 1);
    m->slots[s] = i + 1;
    return 0;
}

void tk_strmap_free(tk_strmap *m)
{
    free(m->slots);
    free(m->key_off);
    free(m->key_len);
    free(m->val);
    free(m->hash);
    free(m->arena);
    memset(m, 0, sizeof(*m));
}

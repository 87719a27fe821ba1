/*
 * trie.c — a byte trie for greedy longest-prefix matching (WordPiece's "longest token that
 * starts here"). One walk finds the longest match in time linear in its length, instead of
 * hashing every candidate substring from the longest down.
 *
 * Layout: nodes are numbered, node 0 is the root; node_id[n] is the token ending at n (-1:
 * none). The root's edges are a direct 256-entry table; other edges live in one open-
 * addressing hash table keyed by (node << 8 | byte) + 1 (0 = empty), at most half full.
 */
#include "tk_internal.h"

#include <stdlib.h>
#include <string.h>

/* The same hash as tk_trie_child (tk_internal.h) uses. */
static uint32_t edge_slot(uint64_t key, uint32_t cap)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static uint32_t edge_get(const tk_trie *t, uint32_t node, unsigned char b)
{
    if (node == 0)
        return t->root_child[b];
    if (!t->edge_cap)
        return 0;
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    uint32_t s = edge_slot(key, t->edge_cap);
    for (;;) {
        uint64_t k = t->edge_key[s];
        if (k == key)
            return t->edge_child[s];
        if (k == 0)
            return 0;
        s = (s + 1) & (t->edge_cap - 1);
    }
}

static int edge_grow(tk_trie *t)
{
    uint32_t cap = t->edge_cap ? t->edge_cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof(uint64_t));
    uint32_t *child = malloc(cap * sizeof(uint32_t));
    if (!keys || !child) {
        free(keys);
        free(child);
        return -1;
    }
    for (uint32_t i = 0; i < t->edge_cap; i++) {
        if (!t->edge_key[i])
            continue;
        uint32_t s = edge_slot(t->edge_key[i], cap);
        while (keys[s])
            s = (s + 1) & (cap - 1);
        keys[s] = t->edge_key[i];
        child[s] = t->edge_child[i];
    }
    free(t->edge_key);
    free(t->edge_child);
    t->edge_key = keys;
    t->edge_child = child;
    t->edge_cap = cap;
    return 0;
}

static int64_t new_node(tk_trie *t)
{
    if (t->n_nodes == t->node_cap) {
        uint32_t cap = t->node_cap ? t->node_cap * 2 : 1024;
        int32_t *ids = realloc(t->node_id, cap * sizeof(int32_t));
        if (!ids)
            return -1;
        t->node_id = ids;
        t->node_cap = cap;
    }
    t->node_id[t->n_nodes] = -1;
    return t->n_nodes++;
}

static int edge_put(tk_trie *t, uint32_t node, unsigned char b, uint32_t child)
{
    if (node == 0) {
        t->root_child[b] = child;
        return 0;
    }
    if ((t->edge_n + 1) * 2 > t->edge_cap && edge_grow(t))
        return -1;
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    uint32_t s = edge_slot(key, t->edge_cap);
    while (t->edge_key[s])
        s = (s + 1) & (t->edge_cap - 1);
    t->edge_key[s] = key;
    t->edge_child[s] = child;
    t->edge_n++;
    return 0;
}

int tk_trie_insert(tk_trie *t, const char *key, size_t len, int32_t id)
{
    if (t->n_nodes == 0 && new_node(t) < 0)
        return -1;
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)key[i];
        uint32_t c = edge_get(t, node, b);
        if (!c) {
            int64_t n = new_node(t);
            if (n < 0 || n > (int64_t)(UINT32_MAX >> 9) || edge_put(t, node, b, (uint32_t)n))
                return -1;
            c = (uint32_t)n;
        }
        node = c;
    }
    if (len > 0)
        t->node_id[node] = id;
    return 0;
}

size_t tk_trie_longest(const tk_trie *t, const char *s, size_t n, int32_t *id)
{
    size_t best = 0;
    if (t->n_nodes == 0)
        return 0;
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = edge_get(t, node, (unsigned char)s[i]);
        if (!node)
            break;
        if (t->node_id[node] >= 0) {
            best = i + 1;
            *id = t->node_id[node];
        }
    }
    return best;
}

void tk_trie_free(tk_trie *t)
{
    free(t->edge_key);
    free(t->edge_child);
    free(t->node_id);
    memset(t, 0, sizeof(*t));
}

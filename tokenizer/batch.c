/*
 * batch.c — many texts at once, padded into (batch, len) arrays for the encoder.
 */
#include "tk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vkb_batch_encoding_free(vkb_batch_encoding *b)
{
    if (!b)
        return;
    free(b->ids);
    free(b->attention_mask);
    free(b->special_mask);
    free(b->offsets);
    free(b->lengths);
    memset(b, 0, sizeof(*b));
}

int vkb_tokenizer_encode_batch(const vkb_tokenizer *t, const char *const *texts, const size_t *lens,
                               int n, int add_special, int max_len, int pad_to,
                               vkb_batch_encoding *out)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!t || n < 0 || (n > 0 && (!texts || !lens)) || max_len < 0 || pad_to < 0)
        return -EINVAL;
    int limit = max_len;
    if (pad_to > 0 && (limit == 0 || limit > pad_to))
        limit = pad_to;
    vkb_encoding *encs = calloc(n ? (size_t)n : 1, sizeof(*encs));
    if (!encs)
        return -ENOMEM;
    int rc = 0, longest = 0;
    for (int i = 0; i < n && !rc; i++) {
        rc = vkb_tokenizer_encode(t, texts[i], lens[i], add_special, limit, &encs[i]);
        if (!rc && encs[i].n > longest)
            longest = encs[i].n;
    }
    if (rc)
        goto cleanup;
    int L = pad_to > 0 ? pad_to : longest;
    size_t cells = (size_t)n * (size_t)L;
    out->ids = malloc(cells ? cells * sizeof(int32_t) : 1);
    out->attention_mask = calloc(cells ? cells : 1, 1);
    out->special_mask = malloc(cells ? cells : 1);
    out->offsets = calloc(cells ? cells * 2 : 1, sizeof(uint32_t));
    out->lengths = malloc(n ? (size_t)n * sizeof(int) : 1);
    if (!out->ids || !out->attention_mask || !out->special_mask || !out->offsets || !out->lengths) {
        rc = -ENOMEM;
        goto cleanup;
    }
    int32_t pad = t->pad_id >= 0 ? t->pad_id : 0;
    for (int i = 0; i < n; i++) {
        const vkb_encoding *e = &encs[i];
        size_t row = (size_t)i * (size_t)L;
        for (int j = 0; j < L; j++) {
            int real = j < e->n;
            out->ids[row + j] = real ? e->ids[j] : pad;
            out->attention_mask[row + j] = (uint8_t)real;
            out->special_mask[row + j] = real ? e->special_mask[j] : 1;
            if (real) {
                out->offsets[2 * (row + j)] = e->offsets[2 * j];
                out->offsets[2 * (row + j) + 1] = e->offsets[2 * j + 1];
            }
        }
        out->lengths[i] = e->n;
    }
    out->batch = n;
    out->len = L;
cleanup:
    for (int i = 0; i < n; i++)
        vkb_encoding_free(&encs[i]);
    free(encs);
    if (rc)
        vkb_batch_encoding_free(out);
    return rc;
}

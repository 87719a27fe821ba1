/*
 * load_unigram.c — a tokenizer.json Unigram model: "vocab" (a list of [piece, score]; the id
 * is the index), "unk_id" (an index or null) and "byte_fallback" (absent before tokenizers
 * 0.14: false). The scores jansson parsed are replaced by the same numbers re-read from the
 * file text the way tokenizers reads them (json_number.c).
 */
#include "tk_json.h"

#include <stdlib.h>
#include <string.h>

int tk_load_unigram(vkb_tokenizer *t, json_t *model, const char *json, size_t len,
                    const char *path, char *err, size_t errlen)
{
    tk_unigram *u = &t->unigram;
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_array(vocab)) {
        tk_errf(err, errlen, "%s: Unigram model.vocab is not a list of [piece, score]", path);
        return -1;
    }
    size_t n = json_array_size(vocab);
    if (n == 0) {
        tk_errf(err, errlen, "%s: Unigram model has an empty vocab", path);
        return -1;
    }
    if (n >= TK_MAX_IDS) {
        tk_errf(err, errlen, "%s: Unigram vocab of %zu pieces is too large", path, n);
        return -1;
    }
    json_t *unk = json_object_get(model, "unk_id");
    if (unk && !json_is_null(unk) &&
        (!json_is_integer(unk) || json_integer_value(unk) < 0 ||
         (size_t)json_integer_value(unk) >= n)) {
        tk_errf(err, errlen, "%s: Unigram unk_id is not an index into the vocab (%zu pieces)",
                path, n);
        return -1;
    }
    u->unk_id = json_is_integer(unk) ? (int32_t)json_integer_value(unk) : -1;
    u->byte_fallback = tk_json_bool(model, "byte_fallback", 0);
    u->fuse_unk = 1; /* tokenizers' Unigram always fuses unknowns */
    u->pieces = calloc(n, sizeof(char *));
    u->scores = malloc(n * sizeof(double));
    if (!u->pieces || !u->scores)
        goto oom;
    u->n = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *piece = json_array_get(e, 0), *score = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(piece) ||
            !json_is_number(score)) {
            tk_errf(err, errlen, "%s: Unigram vocab entry %zu is not [piece, score]", path, i);
            return -1;
        }
        size_t plen = json_string_length(piece);
        if (memchr(json_string_value(piece), 0, plen)) {
            tk_errf(err, errlen, "%s: Unigram vocab entry %zu holds a NUL", path, i);
            return -1;
        }
        if (!(u->pieces[i] = strdup(json_string_value(piece))) ||
            tk_strmap_put(&t->vocab, u->pieces[i], plen, (int32_t)i))
            goto oom;
        u->scores[i] = json_number_value(score);
    }
    char why[256];
    if (tk_unigram_raw_scores(json, len, u->scores, n, why, sizeof(why))) {
        tk_errf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    return 0;
oom:
    tk_errf(err, errlen, "%s: out of memory", path);
    return -1;
}

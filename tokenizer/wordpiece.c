/*
 * wordpiece.c — the WordPiece model: greedy longest-match-first over a word, continuation
 * pieces carrying the "##" prefix; a word longer than max_input_chars_per_word chars, or one
 * with a part no token covers, becomes a single unknown token.
 *
 * Two tries make each step one walk: start_trie holds every token, cont_trie every token that
 * begins with the prefix, keyed without it (so "##ing" is found by walking "ing").
 */
#include "tk_internal.h"

#include <stdlib.h>

/* Appends the token covering bytes [b, e) of the word; start/end hold char indices
 * (relative to the word) until encode.c turns them into byte offsets. */
static int push_piece(tk_tokens *out, int32_t id, const uint32_t *byte_char, size_t b, size_t e)
{
    return tk_tokens_push(out, id, byte_char[b], byte_char[e - 1] + 1, 0);
}

int tk_wordpiece_word(const tk_wordpiece *wp, tk_work *w, size_t len, size_t nchars,
                      tk_tokens *out)
{
    size_t first = out->n;
    if (nchars <= (size_t)wp->max_chars) {
        size_t start = 0;
        while (start < len) {
            int32_t id = -1;
            const tk_trie *trie = start == 0 ? &wp->start_trie : &wp->cont_trie;
            size_t m = tk_trie_longest(trie, w->bytes + start, len - start, &id);
            if (m == 0)
                break;
            if (push_piece(out, id, w->byte_char, start, start + m))
                return -1;
            start += m;
        }
        if (start == len)
            return 0;
    }
    /* Too long, or some part matched nothing: the whole word is the unknown token. */
    out->n = first;
    if (wp->unk_id < 0)
        return -2;
    return tk_tokens_push(out, wp->unk_id, 0, (uint32_t)nchars, 0);
}

void tk_wordpiece_free(tk_wordpiece *wp)
{
    free(wp->unk_token);
    free(wp->prefix);
    tk_trie_free(&wp->start_trie);
    tk_trie_free(&wp->cont_trie);
}

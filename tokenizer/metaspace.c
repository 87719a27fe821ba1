/*
 * metaspace.c — the Metaspace pre-tokenizer's rewrite (SentencePiece's "▁" word marker):
 * every U+0020 becomes the replacement char, and the replacement is put in front of a piece
 * that does not start with one (prepend_scheme always; first: only the piece that starts the
 * input; never). The split before each replacement char is in pretokenize.c.
 */
#include "tk_internal.h"

int tk_metaspace(const tk_pre_step *st, int first, tk_chars *text, uint32_t b, uint32_t e,
                 uint32_t *nb, uint32_t *ne)
{
    for (uint32_t i = b; i < e; i++)
        if (text->v[i].cp == ' ')
            text->v[i].cp = st->replacement;
    *nb = b;
    *ne = e;
    int prepend = st->prepend == TK_PREPEND_ALWAYS || (st->prepend == TK_PREPEND_FIRST && first);
    if (!prepend || b >= e || text->v[b].cp == st->replacement)
        return 0;
    /* Copy the piece after a new replacement char, aligned with the piece's first char (as
     * tokenizers' NormalizedString::prepend aligns it). */
    uint32_t at = (uint32_t)text->n, len = e - b;
    if (tk_chars_reserve(text, text->n + len + 1))
        return -1;
    tk_char head = text->v[b];
    text->v[text->n++] = (tk_char){st->replacement, head.start, head.end};
    for (uint32_t i = 0; i < len; i++)
        text->v[text->n++] = text->v[b + i];
    *nb = at;
    *ne = at + len + 1;
    return 0;
}

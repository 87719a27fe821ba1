/*
 * gpt2_split.c — GPT-2's pre-tokenisation pattern, written out over Unicode categories:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * The alternatives are tried in order at each position, as the regex engine does. The only
 * backtracking case is \s+(?!\S): a whitespace run followed by a non-space gives back its last
 * char (which then starts the next match, e.g. as the space of " word").
 */
#include "tk_internal.h"

enum { C_LETTER = 1, C_NUMBER = 2, C_SPACE = 4 };

static int cls(uint32_t cp)
{
    if (tk_is_letter(cp))
        return C_LETTER;
    if (tk_is_number(cp))
        return C_NUMBER;
    if (tk_is_whitespace(cp))
        return C_SPACE;
    return 0;
}

/* Length of a contraction ('s 't 're 've 'm 'll 'd) at t[i], 0 if none. */
static uint32_t contraction(const tk_char *t, uint32_t i, uint32_t end)
{
    if (t[i].cp != '\'' || i + 1 >= end)
        return 0;
    uint32_t a = t[i + 1].cp;
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (i + 2 < end) {
        uint32_t b = t[i + 2].cp;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    return 0;
}

int tk_gpt2_split(const tk_char *t, uint32_t begin, uint32_t end, tk_spans *out)
{
    uint32_t i = begin;
    while (i < end) {
        uint32_t n = contraction(t, i, end);
        if (n) {
            if (tk_spans_push(out, i, i + n))
                return -1;
            i += n;
            continue;
        }
        /* ' ?' then a run of one class: letters, numbers, or neither-letter-number-space. */
        uint32_t j = i;
        if (t[j].cp == ' ' && j + 1 < end && cls(t[j + 1].cp) != C_SPACE)
            j++;
        int c = cls(t[j].cp);
        if (c != C_SPACE) {
            uint32_t k = j + 1;
            while (k < end && cls(t[k].cp) == c)
                k++;
            if (tk_spans_push(out, i, k))
                return -1;
            i = k;
            continue;
        }
        /* Whitespace run [i, k): all of it at the end of the text, else all but its last char
         * (which begins the next match), else (a single char before a non-space) just it. */
        uint32_t k = i + 1;
        while (k < end && tk_is_whitespace(t[k].cp))
            k++;
        if (k < end && k - i > 1)
            k--;
        if (tk_spans_push(out, i, k))
            return -1;
        i = k;
    }
    return 0;
}

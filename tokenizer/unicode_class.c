/*
 * unicode_class.c — the character classes Hugging Face tokenizers uses, with an ASCII table in
 * front (most text is ASCII, and these run once or more per char). Letters, numbers and case
 * come from utf8proc; "other", punctuation and nonspacing marks from the frozen tables in
 * unicode_hf_tables.c (see there why).
 */
#include "tk_internal.h"

#include <utf8proc.h>

enum {
    A_WS = 1,      /* White_Space */
    A_OTHER = 2,   /* category Cc (\t \n \r included: BertNormalizer exempts them itself) */
    A_PUNCT = 4,   /* ASCII punctuation (Rust is_ascii_punctuation) */
    A_LETTER = 8,
    A_DIGIT = 16,
    A_WORD = 32,   /* regex \w */
};

static unsigned char ascii_class(uint32_t c)
{
    unsigned char k = 0;
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20)
        k |= A_WS;
    if (c < 0x20 || c == 0x7F)
        k |= A_OTHER;
    if ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
        (c >= 0x7B && c <= 0x7E))
        k |= A_PUNCT;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        k |= A_LETTER | A_WORD;
    if (c >= '0' && c <= '9')
        k |= A_DIGIT | A_WORD;
    if (c == '_')
        k |= A_WORD;
    return k;
}

/* Filled once before main() so lookups never race with initialisation. */
static unsigned char ascii_tab[128];

__attribute__((constructor)) static void init_ascii_tab(void)
{
    for (uint32_t c = 0; c < 128; c++)
        ascii_tab[c] = ascii_class(c);
}

int tk_is_whitespace(uint32_t cp)
{
    if (cp < 128)
        return ascii_tab[cp] & A_WS;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int tk_is_other(uint32_t cp)
{
    return cp < 128 ? ascii_tab[cp] & A_OTHER : tk_hf_is_other(cp);
}

int tk_is_bert_punct(uint32_t cp)
{
    return cp < 128 ? ascii_tab[cp] & A_PUNCT : tk_hf_is_punct(cp);
}

int tk_is_letter(uint32_t cp)
{
    if (cp < 128)
        return ascii_tab[cp] & A_LETTER;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

int tk_is_number(uint32_t cp)
{
    if (cp < 128)
        return ascii_tab[cp] & A_DIGIT;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

int tk_is_mark_nonspacing(uint32_t cp)
{
    return cp >= 0x300 && tk_hf_is_mn(cp);
}

int tk_is_chinese(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int tk_is_word_char(uint32_t cp)
{
    if (cp < 128)
        return ascii_tab[cp] & A_WORD;
    if (cp == 0x200C || cp == 0x200D)
        return 1;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}

int tk_is_alnum(uint32_t cp)
{
    return tk_is_letter(cp) || tk_is_number(cp);
}

int tk_to_lower(uint32_t cp, uint32_t out[2])
{
    if (cp < 128) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (cp == 0x130) { /* the one unconditional multi-char lowercase mapping */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    return 1;
}

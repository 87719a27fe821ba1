/*
 * bytelevel.c — GPT-2's byte <-> printable char map. Bytes that are printable Latin-1
 * ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves; the other 68 bytes take
 * U+0100, U+0101, ... in byte order (so the space 0x20 is U+0120 'Ġ').
 *
 * Byte-level vocabularies are written in these chars. The tokenizer converts them to the raw
 * bytes once at load time, so encoding runs on the text's bytes with no mapping at all.
 */
#include "tk_internal.h"

static int self_mapped(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

static uint32_t byte_cp[256];      /* byte -> char */
static int16_t cp_byte[256 + 68];  /* char -> byte, -1 where no byte maps */

/* Filled once before main() so lookups never race with initialisation. */
__attribute__((constructor)) static void init_maps(void)
{
    unsigned next = 256;
    for (unsigned i = 0; i < 256 + 68; i++)
        cp_byte[i] = -1;
    for (unsigned b = 0; b < 256; b++) {
        byte_cp[b] = self_mapped(b) ? b : next++;
        cp_byte[byte_cp[b]] = (int16_t)b;
    }
}

int tk_cp_to_byte(uint32_t cp)
{
    return cp < 256 + 68 ? cp_byte[cp] : -1;
}

int tk_bytelevel_to_raw(const char *s, size_t len, char *out)
{
    size_t i = 0;
    int n = 0;
    while (i < len) {
        uint32_t cp;
        int k = tk_utf8_next(s + i, len - i, &cp);
        if (k == 0)
            return -1;
        int b = tk_cp_to_byte(cp);
        if (b < 0)
            return -1;
        out[n++] = (char)b;
        i += (size_t)k;
    }
    return n;
}

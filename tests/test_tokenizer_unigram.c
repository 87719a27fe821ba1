/*
 * test_tokenizer_unigram.c — the SentencePiece-family pieces on small hand-written tokenizers
 * (no shared test data): the Unigram model (best segmentation, ties, unknown runs, byte
 * fallback), the Precompiled normalizer on a charsmap built here (per grapheme cluster,
 * shortest key), Replace / Prepend / Strip, the Metaspace pre-tokenizer in every
 * serialisation, Split / Digits, the Metaspace and ByteFallback decoders, the post-processors,
 * serde_json's float reading, and malformed files failing the load with a message.
 *
 * Unknown pieces report their own text as the token string (as tokenizers does), so a
 * vocabulary that lacks a text's chars shows exactly what normalization and pre-tokenization
 * made of it.
 */
#include "tk_internal.h"
#include "tokenizer_testutil.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

#define SP "\xe2\x96\x81" /* U+2581, Metaspace's replacement */

/* A Unigram tokenizer.json: <unk>=0 <s>=1 </s>=2, then the pieces of `vocab` (JSON list items
 * after those three). */
static const char *uni_json(const char *normalizer, const char *pre, const char *vocab,
                            const char *unk_id, int byte_fallback, const char *post,
                            const char *decoder)
{
    static char buf[1 << 16];
    snprintf(buf, sizeof(buf),
             "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
             " \"added_tokens\": ["
             "  {\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 1, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 2, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}],"
             " \"normalizer\": %s, \"pre_tokenizer\": %s, \"post_processor\": %s, \"decoder\": %s,"
             " \"model\": {\"type\": \"Unigram\", \"unk_id\": %s, \"byte_fallback\": %s,"
             "   \"vocab\": [[\"<unk>\", 0.0], [\"<s>\", 0.0], [\"</s>\", 0.0]%s%s]}}",
             normalizer, pre, post, decoder, unk_id, byte_fallback ? "true" : "false",
             *vocab ? ", " : "", vocab);
    return buf;
}

static const char *metaspace = "{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\", \"split\": true}";

/* ids 3.. : ▁ a b ab ▁ab c cc a▁b */
static const char *model_vocab =
    "[\"" SP "\", -2.0], [\"a\", -3.0], [\"b\", -3.0], [\"ab\", -4.0], [\"" SP "ab\", -5.0],"
    " [\"c\", -1.0], [\"cc\", -2.0], [\"a" SP "b\", -1.0]";

static void expect_ids(const vkb_tokenizer *t, const char *text, const int32_t *want, int n, int line)
{
    if (!t)
        return;
    vkb_encoding e;
    int rc = vkb_tokenizer_encode(t, text, strlen(text), 0, 0, &e);
    int ok = rc == 0 && e.n == n;
    for (int i = 0; ok && i < n; i++)
        ok = e.ids[i] == want[i];
    tl_check(ok, __FILE__, line, "ids of \"%s\" (rc %d, n %d)", text, rc, e.n);
    vkb_encoding_free(&e);
}

static void test_model(void)
{
    vkb_tokenizer *t = tt_load_json(uni_json("null", metaspace, model_vocab, "0", 0, "null", "null"), -1);
    if (!t)
        return;
    CHECK(!strcmp(vkb_tokenizer_kind(t), "unigram") && vkb_tokenizer_vocab_size(t) == 11, "kind, size");
    /* best total score: ab (-4) over a+b (-6); ▁ab (-5) over ▁+ab (-6) */
    TT_EXPECT(t, "ab", 0, SP "ab");
    TT_EXPECT(t, "b ab", 0, SP "|b|" SP "ab");
    /* cc (-2) ties c+c (-2): the first offer to a position stays (shortest piece first) */
    TT_EXPECT(t, "cc", 0, SP "|cc");
    TT_EXPECT(t, "ccc", 0, SP "|c|cc"); /* c+cc and cc+c tie at -3: c then cc arrives first */
    /* unknown code points: min score - 10 each, consecutive ones fused, text as the string */
    TT_EXPECT(t, "xyz", 0, SP "|xyz");
    TT_EXPECT(t, "axyb", 0, SP "|a|xy|b");
    TT_EXPECT(t, "\xc3\xa9t\xc3\xa9", 0, SP "|\xc3\xa9t\xc3\xa9");
    const int32_t unk_ids[] = {3, 0};
    expect_ids(t, "xyz", unk_ids, 2, __LINE__);
    /* a literal special-token string is cut out as the added token before the model runs */
    TT_EXPECT(t, "q<s>", 0, SP "|q|<s>");
    vkb_tokenizer_free(t);

    /* no unk_id: a text the vocab covers encodes, an unknown char is -ENOENT, never a crash */
    t = tt_load_json(uni_json("null", metaspace, model_vocab, "null", 0, "null", "null"), -1);
    if (t) {
        TT_EXPECT(t, "ab", 0, SP "ab");
        vkb_encoding e;
        CHECK(vkb_tokenizer_encode(t, "x", 1, 0, 0, &e) == -ENOENT, "unknown without unk_id");
        vkb_tokenizer_free(t);
    }

    /* byte_fallback: an unknown run becomes its bytes as <0xHH> (all with the run's offsets);
     * if a byte piece is missing the run stays one unknown token */
    t = tt_load_json(uni_json("null", metaspace,
                              "[\"" SP "\", -1.0], [\"<0x7A>\", 0.0], [\"<0x79>\", 0.0], [\"<0xC3>\", 0.0], [\"a\", -1.0]",
                              "0", 1, "null", "null"),
                     -1);
    if (t) {
        TT_EXPECT(t, "azy", 0, SP "|a|<0x7A>|<0x79>");
        TT_EXPECT(t, "a\xc3\xa9", 0, SP "|a|\xc3\xa9"); /* <0xA9> missing */
        vkb_encoding e;
        if (CHECK(vkb_tokenizer_encode(t, "azy", 3, 0, 0, &e) == 0 && e.n == 4, "byte offsets")) {
            CHECK(e.offsets[4] == 1 && e.offsets[5] == 3 && e.offsets[6] == 1 && e.offsets[7] == 3,
                  "byte pieces share the run's offsets: [%u,%u) [%u,%u)", e.offsets[4], e.offsets[5],
                  e.offsets[6], e.offsets[7]);
            vkb_encoding_free(&e);
        }
        vkb_tokenizer_free(t);
    }

    /* a piece listed twice: the later id wins for lookups (tokenizers' token_to_ids) */
    t = tt_load_json(uni_json("null", "null", "[\"a\", -1.0], [\"a\", -1.0]", "0", 0, "null", "null"), -1);
    if (t) {
        const int32_t later[] = {4};
        expect_ids(t, "a", later, 1, __LINE__);
        CHECK(vkb_tokenizer_id_to_token(t, 3) && !strcmp(vkb_tokenizer_id_to_token(t, 3), "a"),
              "both ids name the piece");
        vkb_tokenizer_free(t);
    }
}

/* ---- Metaspace in its serialisations ---- */

static void test_metaspace(void)
{
    static const struct {
        const char *pre;
        const char *text;
        const char *want;
    } cases[] = {
        /* current: prepend always, split */
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\", \"split\": true}",
         "ab<s>ab", SP "ab|<s>|" SP "ab"},
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"first\", \"split\": true}",
         "ab<s>ab", SP "ab|<s>|ab"},
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"never\", \"split\": true}",
         "ab<s>ab", "ab|<s>|ab"},
        /* split false keeps ▁a▁b one word, so the piece a▁b can match */
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\", \"split\": false}",
         "a b", SP "|a" SP "b"},
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\", \"split\": true}",
         "a b", SP "|a|" SP "|b"},
        /* 2020: str_rep (ignored) + add_prefix_space; split missing means true */
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"str_rep\": \"" SP "\", \"add_prefix_space\": true}",
         "a b", SP "|a|" SP "|b"},
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"add_prefix_space\": false}", "a b",
         "a|" SP "|b"},
        /* 0.15 */
        {"{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"add_prefix_space\": true, \"prepend_scheme\": \"always\"}",
         " a", SP "|a"},
        /* a piece that already starts with ▁ gets no second one; runs split before each ▁ */
        {"{\"type\": \"Metaspace\"}", "a  b", SP "|a|" SP "|" SP "|b"},
        /* wrapped in a Sequence, as DeBERTa writes it */
        {"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Metaspace\", \"replacement\": \"" SP "\","
         " \"prepend_scheme\": \"first\", \"split\": true}]}",
         "ab<s>ab", SP "ab|<s>|ab"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vkb_tokenizer *t = tt_load_json(uni_json("null", cases[i].pre, model_vocab, "0", 0, "null", "null"), -1);
        tt_expect_len(t, cases[i].text, strlen(cases[i].text), 0, cases[i].want, __LINE__);
        vkb_tokenizer_free(t);
    }
}

/* ---- a charsmap built here: a Darts-clone double array over the keys' bytes ---- */

typedef struct dbuild {
    uint32_t units[4096];
    uint8_t used[4096];
    uint8_t base_used[4096]; /* each base serves one node, so a label check finds its parent */
    char blob[512];
    size_t blob_len;
} dbuild;

typedef struct dkey {
    const char *key, *value;
} dkey;

/* Places the children of the node for prefix[0..depth) (at position pos) among keys. */
static int place(dbuild *d, const dkey *keys, int n, const char *prefix, int depth, uint32_t pos)
{
    int labels[257], nl = 0, leaf = -1;
    for (int i = 0; i < n; i++) {
        const char *k = keys[i].key;
        if ((int)strlen(k) < depth || memcmp(k, prefix, (size_t)depth))
            continue;
        if ((int)strlen(k) == depth) {
            leaf = i;
            continue;
        }
        int c = (unsigned char)k[depth], seen = 0;
        for (int j = 0; j < nl; j++)
            seen |= labels[j] == c;
        if (!seen)
            labels[nl++] = c;
    }
    if (leaf >= 0)
        labels[nl++] = 0;
    if (!nl)
        return 0;
    uint32_t base = 1;
    for (;; base++) {
        int ok = base < 2048 && !d->base_used[base];
        for (int j = 0; j < nl && ok; j++)
            ok = (base ^ (uint32_t)labels[j]) != 0 && !d->used[base ^ (uint32_t)labels[j]];
        if (ok)
            break;
        if (base >= 2048)
            return -1;
    }
    d->base_used[base] = 1;
    uint32_t off = pos ^ base;
    d->units[pos] |= off << 10 | (leaf >= 0 ? 1u << 8 : 0);
    for (int j = 0; j < nl; j++)
        d->used[base ^ (uint32_t)labels[j]] = 1;
    if (leaf >= 0) {
        d->units[base] = (uint32_t)d->blob_len | 0x80000000u;
        size_t vl = strlen(keys[leaf].value) + 1;
        memcpy(d->blob + d->blob_len, keys[leaf].value, vl);
        d->blob_len += vl;
    }
    char next[64];
    memcpy(next, prefix, (size_t)depth);
    for (int j = 0; j < nl; j++) {
        if (!labels[j])
            continue;
        uint32_t child = base ^ (uint32_t)labels[j];
        d->units[child] = (uint32_t)labels[j];
        next[depth] = (char)labels[j];
        if (place(d, keys, n, next, depth + 1, child))
            return -1;
    }
    return 0;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = 0;
}

/* base64 of a charsmap for keys (units: 2048, the trie's 8 KiB). */
static char *charsmap(const dkey *keys, int n)
{
    static dbuild d;
    memset(&d, 0, sizeof(d));
    d.used[0] = 1;
    if (!CHECK(place(&d, keys, n, "", 0, 0) == 0, "charsmap builder"))
        return NULL;
    size_t units = 2048, raw_len = 4 + units * 4 + d.blob_len;
    unsigned char *raw = calloc(1, raw_len);
    uint32_t nb = (uint32_t)(units * 4);
    memcpy(raw, (unsigned char[]){nb & 255, (nb >> 8) & 255, (nb >> 16) & 255, nb >> 24}, 4);
    for (size_t i = 0; i < units; i++)
        for (int k = 0; k < 4; k++)
            raw[4 + 4 * i + (size_t)k] = (unsigned char)(d.units[i] >> (8 * k));
    memcpy(raw + 4 + units * 4, d.blob, d.blob_len);
    char *out = malloc(raw_len * 4 / 3 + 8);
    b64(raw, raw_len, out);
    free(raw);
    return out;
}

static void test_precompiled(void)
{
    static const dkey keys[] = {
        {"x", "y"},
        {"e\xcc\x81", "\xc3\xa9"},     /* e + U+0301 -> é */
        {"e\xcc\x81\xcc\xa7", "E"},    /* longer key: never reached (the first key wins) */
        {"\xef\xac\x81", "fi"},        /* U+FB01 ligature */
        {"\t", " "},
        {"q", ""},                     /* deleted */
        {"\xef\xbd\xb6\xef\xbe\x9e", "\xe3\x82\xac"}, /* halfwidth ka + voicing mark -> ガ */
    };
    char *map = charsmap(keys, (int)(sizeof(keys) / sizeof(keys[0])));
    if (!map)
        return;
    char norm[32768];
    snprintf(norm, sizeof(norm), "{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"%s\"}", map);
    free(map);
    vkb_tokenizer *t = tt_load_json(uni_json(norm, "null", "", "0", 0, "null", "null"), -1);
    if (!t)
        return;
    TT_EXPECT(t, "axbx", 0, "ayby");
    TT_EXPECT(t, "aqb\tc", 0, "ab c");
    /* a cluster under 6 bytes is looked up whole: the shortest key wins and what follows it
     * inside the cluster is lost */
    TT_EXPECT(t, "e\xcc\x81\xcc\xa7", 0, "\xc3\xa9");
    TT_EXPECT(t, "\xef\xac\x81\xcc\x81", 0, "fi");
    /* 6+ bytes: code point by code point, so e + U+0301 is not composed */
    TT_EXPECT(t, "e\xcc\x81\xcc\x81\xcc\x81", 0, "e\xcc\x81\xcc\x81\xcc\x81");
    /* nothing across clusters: halfwidth ka and its voicing mark are one cluster (the mark
     * extends it) of 6 bytes, so the 6-byte key is not applied */
    TT_EXPECT(t, "\xef\xbd\xb6\xef\xbe\x9e", 0, "\xef\xbd\xb6\xef\xbe\x9e");
    /* U+0000 is never rewritten and does not end the text: one token over all 3 bytes */
    vkb_encoding e;
    char **strs = NULL;
    if (CHECK(vkb_tokenizer_encode_tokens(t, "x\0x", 3, 0, 0, &e, &strs) == 0 && e.n == 1, "NUL text")) {
        CHECK(e.offsets[0] == 0 && e.offsets[1] == 3, "NUL kept: [%u, %u)", e.offsets[0], e.offsets[1]);
        vkb_tokens_free(strs, e.n);
        vkb_encoding_free(&e);
    }
    vkb_tokenizer_free(t);
}

/* ---- other normalizers and pre-tokenizers (the unknown text shows their output) ---- */

static void test_normalizers(void)
{
    static const struct {
        const char *norm, *text, *want;
    } cases[] = {
        {"{\"type\": \"Replace\", \"pattern\": {\"String\": \"ab\"}, \"content\": \"X\"}", "abcabab", "XcXX"},
        {"{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \"" SP "\"}", "a  b   c d",
         "a" SP "b" SP "c d"},
        /* a regex run through Oniguruma (not the literal-run shortcut) */
        {"{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\p{N}+\"}, \"content\": \"#\"}", "a12b\xd9\xa3x",
         "a#b#x"},
        {"{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(?<=a)b\"}, \"content\": \"\"}", "abcb", "acb"},
        {"{\"type\": \"Prepend\", \"prepend\": \"" SP "\"}", "ab", SP "ab"},
        {"{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Strip\", \"strip_left\": false, \"strip_right\": true},"
         " {\"type\": \"Lowercase\"}, {\"type\": \"NFKC\"}]}",
         "  \xef\xac\x81X\t ", "  fix"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vkb_tokenizer *t = tt_load_json(uni_json(cases[i].norm, "null", "", "0", 0, "null", "null"), -1);
        tt_expect_len(t, cases[i].text, strlen(cases[i].text), 0, cases[i].want, __LINE__);
        vkb_tokenizer_free(t);
    }
    /* Prepend on an empty text adds nothing */
    vkb_tokenizer *t = tt_load_json(uni_json("{\"type\": \"Prepend\", \"prepend\": \"" SP "\"}", "null", "",
                                             "0", 0, "null", "null"),
                                    -1);
    TT_EXPECT(t, "", 0, "");
    vkb_tokenizer_free(t);
}

static void test_pretokenizers(void)
{
    static const struct {
        const char *pre, *text, *want;
    } cases[] = {
        {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Removed\", \"invert\": false}",
         " a  b\tc ", "a|b|c"},
        {"{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"Isolated\", \"invert\": false}",
         "a-b--c", "a|-|b|-|-|c"},
        {"{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"Contiguous\", \"invert\": false}",
         "a-b--c", "a|-|b|--|c"},
        {"{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"MergedWithPrevious\", \"invert\": false}",
         "a-b--c", "a-|b-|-|c"},
        {"{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"MergedWithNext\", \"invert\": false}",
         "a-b--c", "a|-b|-|-c"},
        /* invert: the matches are the words */
        {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{L}+\"}, \"behavior\": \"Removed\", \"invert\": true}",
         "ab, cd!", "ab|cd"},
        /* the GPT-2 pattern as a Split regex */
        {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
         " \"behavior\": \"Isolated\", \"invert\": false}",
         "it's 42  ok", "it|'s| 42| | ok"},
        {"{\"type\": \"Digits\", \"individual_digits\": true}", "a123b", "a|1|2|3|b"},
        {"{\"type\": \"Digits\", \"individual_digits\": false}", "a123b4", "a|123|b|4"},
        {"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"}, {\"type\": \"Punctuation\","
         " \"behavior\": \"Isolated\"}, {\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\"}]}",
         "hi, yo", SP "|hi|" SP "|,|" SP "|yo"},
        {"{\"type\": \"Whitespace\"}", "ab,cd ef", "ab|,|cd|ef"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vkb_tokenizer *t = tt_load_json(uni_json("null", cases[i].pre, "[\"" SP "\", -1.0]", "0", 0, "null", "null"), -1);
        tt_expect_len(t, cases[i].text, strlen(cases[i].text), 0, cases[i].want, __LINE__);
        vkb_tokenizer_free(t);
    }
}

/* ---- post-processors and decoders ---- */

static void test_post_decode(void)
{
    const char *t5 = "{\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
                     " {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}], \"pair\": [],"
                     " \"special_tokens\": {\"</s>\": {\"id\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}}";
    const char *dec = "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
                      " {\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"always\", \"split\": true}]}";
    const char *vocab = "[\"" SP "\", -2.0], [\"a\", -3.0], [\"b\", -3.0], [\"" SP "ab\", -1.0],"
                        " [\"<0x41>\", 0.0], [\"<0xC3>\", 0.0], [\"<0xA9>\", 0.0], [\"<0xE2>\", 0.0]";
    vkb_tokenizer *t = tt_load_json(uni_json("null", metaspace, vocab, "0", 1, t5, dec), -1);
    if (t) {
        TT_EXPECT(t, "ab a", 1, SP "ab|" SP "|a|</s>");
        CHECK(vkb_tokenizer_cls_id(t) == -1 && vkb_tokenizer_sep_id(t) == 2, "T5 style: only </s>");
        /* ▁ab ▁ a <0xC3><0xA9> </s>: bytes joined into é, the first piece's ▁ dropped */
        const int32_t ids[] = {6, 3, 4, 8, 9, 2};
        char *s = vkb_tokenizer_decode(t, ids, 6, 1);
        CHECK(s && !strcmp(s, "ab a\xc3\xa9"), "decode: \"%s\"", s ? s : "(null)");
        free(s);
        /* a byte run that is not UTF-8 (E2 41): one U+FFFD per byte of the run */
        const int32_t bad[] = {10, 7, 4};
        s = vkb_tokenizer_decode(t, bad, 3, 0);
        CHECK(s && !strcmp(s, "\xef\xbf\xbd\xef\xbf\xbd" "a"), "decode bad bytes: \"%s\"", s ? s : "(null)");
        free(s);
        vkb_tokenizer_free(t);
    }
    /* Metaspace decoder alone with prepend never keeps the leading space; RobertaProcessing */
    const char *rob = "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 1],"
                      " \"trim_offsets\": true, \"add_prefix_space\": true}";
    t = tt_load_json(uni_json("null", metaspace, vocab, "0", 0, rob,
                              "{\"type\": \"Metaspace\", \"replacement\": \"" SP "\", \"prepend_scheme\": \"never\"}"),
                     -1);
    if (t) {
        TT_EXPECT(t, "ab", 1, "<s>|" SP "ab|</s>");
        const int32_t ids[] = {6, 3, 4, 7};
        char *s = vkb_tokenizer_decode(t, ids, 4, 0);
        CHECK(s && !strcmp(s, " ab a<0x41>"), "decode never: \"%s\"", s ? s : "(null)");
        free(s);
        vkb_tokenizer_free(t);
    }
}

/* ---- serde_json's float reading ---- */

static void test_json_number(void)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"0", 0.0},
        {"-0.0", -0.0},
        {"0.5", 0.5},
        {"-3.25e2", -325.0},
        {"12e-1", 1.2},
        {"-2.2664413452148438", -(22664413452148438.0 / 1e16)},
        {"1.5E+3", 1500.0},
        /* digits past what a u64 holds are dropped */
        {"0.123456789012345678901234", 12345678901234567890.0 / 1e20},
        {"1e-400", 0.0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double v = -99;
        const char *end = NULL;
        int rc = tk_json_number_serde(cases[i].text, &end, &v);
        CHECK(rc == 0 && v == cases[i].want && signbit(v) == signbit(cases[i].want) &&
                  end == cases[i].text + strlen(cases[i].text),
              "serde number %s: rc %d, %.17g", cases[i].text, rc, v);
    }
    /* the case that matters: one unit in the last place away from strtod */
    double v;
    const char *end;
    CHECK(tk_json_number_serde("-2.2664413452148438", &end, &v) == 0 &&
              v != strtod("-2.2664413452148438", NULL),
          "serde differs from strtod on -2.2664413452148438");
    static const char *const bad[] = {"1e400", "-", "01", "1.", "1e", ".5", "nan", "inf"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(tk_json_number_serde(bad[i], &end, &v) != 0, "serde refuses %s", bad[i]);
}

/* ---- malformed files fail the load with a message ---- */

static void expect_load_error(const char *json, const char *needle, int line)
{
    const char *path = tt_write("bad.json", json);
    vkb_tokenizer *t = (vkb_tokenizer *)1;
    char err[512] = "";
    int rc = vkb_tokenizer_load(path, NULL, &t, err, sizeof(err));
    tl_check(rc < 0 && t == NULL && strstr(err, needle), __FILE__, line,
             "load error should mention \"%s\": rc %d, \"%s\"", needle, rc, err);
}

static void test_load_errors(void)
{
    vkb_tokenizer *t;
    char norm[256];
    static const struct {
        const char *charsmap, *needle;
    } maps[] = {
        {"!!!!", "not valid base64"},
        {"QUJD=x", "not valid base64"},
        {"AAA=", "too short"},
        {"/////wAAAAA=", "does not fit"}, /* trie size 0xFFFFFFFF */
        {"BgAAAAAAAAAAAA==", "does not fit"}, /* 6: not a multiple of 4 */
    };
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        snprintf(norm, sizeof(norm), "{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"%s\"}", maps[i].charsmap);
        expect_load_error(uni_json(norm, "null", "", "0", 0, "null", "null"), maps[i].needle, __LINE__);
    }
    expect_load_error(uni_json("{\"type\": \"Precompiled\", \"precompiled_charsmap\": 5}", "null", "", "0", 0,
                               "null", "null"),
                      "not a string", __LINE__);
    /* scores: out of range, not numbers */
    expect_load_error(uni_json("null", "null", "[\"a\", 1e999]", "0", 0, "null", "null"), "bad.json", __LINE__);
    expect_load_error(uni_json("null", "null", "[\"a\", \"NaN\"]", "0", 0, "null", "null"),
                      "is not [piece, score]", __LINE__);
    expect_load_error(uni_json("null", "null", "[\"a\", 1e309]", "0", 0, "null", "null"), "bad.json", __LINE__);
    /* unk_id outside the vocab, negative, not a number */
    expect_load_error(uni_json("null", "null", "", "3", 0, "null", "null"), "unk_id", __LINE__);
    expect_load_error(uni_json("null", "null", "", "-1", 0, "null", "null"), "unk_id", __LINE__);
    expect_load_error(uni_json("null", "null", "", "\"0\"", 0, "null", "null"), "unk_id", __LINE__);
    /* empty or malformed vocab */
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"unk_id\": null, \"vocab\": []}}", "empty vocab", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": {\"a\": 0}}}", "list of", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\"]]}}",
                      "is not [piece, score]", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\\u0000b\", 0.0]]}}",
                      "NUL", __LINE__);
    /* regexes, Metaspace options, decoders, combinations */
    expect_load_error(uni_json("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"((\"}, \"content\": \"\"}", "null",
                               "", "0", 0, "null", "null"),
                      "Replace pattern", __LINE__);
    expect_load_error(uni_json("{\"type\": \"Replace\", \"pattern\": {\"Glob\": \"*\"}, \"content\": \"\"}", "null",
                               "", "0", 0, "null", "null"),
                      "Replace pattern must be", __LINE__);
    expect_load_error(uni_json("null", "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"Sideways\"}",
                               "", "0", 0, "null", "null"),
                      "unsupported split behavior 'Sideways'", __LINE__);
    expect_load_error(uni_json("null", "{\"type\": \"Metaspace\", \"replacement\": \"ab\"}", "", "0", 0, "null", "null"),
                      "one character", __LINE__);
    expect_load_error(uni_json("null", "{\"type\": \"Metaspace\", \"prepend_scheme\": \"sometimes\"}", "", "0", 0,
                               "null", "null"),
                      "prepend_scheme 'sometimes'", __LINE__);
    expect_load_error(uni_json("null", "null", "", "0", 0, "null",
                               "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Strip\", \"content\": \" \"}]}"),
                      "unsupported decoder type 'Strip' inside a Sequence decoder", __LINE__);
    expect_load_error(uni_json("null", "{\"type\": \"ByteLevel\"}", "", "0", 0, "null", "null"),
                      "ByteLevel pre-tokenizer with a Unigram model", __LINE__);
    /* a post-processor id outside the vocab */
    expect_load_error(uni_json("null", "null", "", "0", 0,
                               "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 77], \"cls\": [\"<s>\", 1]}", "null"),
                      "has id 77", __LINE__);
    /* a folder with only a SentencePiece model says that a tokenizer.json is what is read */
    char dir[128], spm[160];
    snprintf(dir, sizeof(dir), "%s/spm-only", tt_tmpdir());
    snprintf(spm, sizeof(spm), "%s/sentencepiece.bpe.model", dir);
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    FILE *f = fopen(spm, "w");
    if (f)
        fclose(f);
    t = (vkb_tokenizer *)1;
    char err[512] = "";
    CHECK(vkb_tokenizer_load(dir, NULL, &t, err, sizeof(err)) < 0 && t == NULL &&
              strstr(err, "sentencepiece.bpe.model") && strstr(err, "tokenizer.json"),
          "SentencePiece-only folder: %s", err);
    unlink(spm);
    rmdir(dir);
    /* a file from tokenizers <= 0.10.0: no model type, recognised by the list vocab + unk_id */
    t = tt_load_json("{\"model\": {\"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"a\", -1.5]]}}", -1);
    TT_EXPECT(t, "aa", 0, "a|a");
    vkb_tokenizer_free(t);
}

int main(void)
{
    test_model();
    test_metaspace();
    test_precompiled();
    test_normalizers();
    test_pretokenizers();
    test_post_decode();
    test_json_number();
    test_load_errors();
    tt_cleanup();
    return tl_finish();
}

/*
 * test_tokenizer_rules.c — every tokenizer rule on small hand-written vocabularies (no shared
 * test data): WordPiece with BertNormalizer and BertPreTokenizer, byte-level BPE with the GPT-2
 * pattern, char-level BPE options, the other normalizers and pre-tokenizers, added tokens,
 * post-processing with truncation, offsets, batches with padding, decoding, the older file
 * formats, and load errors that name what is wrong.
 */
#include "tokenizer_testutil.h"

#include <jansson.h>

/* ---- WordPiece ---- */

static const char *wp_json(const char *normalizer, const char *pre, int max_chars)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
             " \"added_tokens\": ["
             "  {\"id\": 0, \"content\": \"[PAD]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 1, \"content\": \"[UNK]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 2, \"content\": \"[CLS]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 3, \"content\": \"[SEP]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 4, \"content\": \"[MASK]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
             "  {\"id\": 40, \"content\": \"<word>\", \"single_word\": true, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": false},"
             "  {\"id\": 41, \"content\": \"<rs>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": true, \"normalized\": false, \"special\": true}],"
             " \"normalizer\": %s, \"pre_tokenizer\": %s,"
             " \"post_processor\": {\"type\": \"TemplateProcessing\","
             "   \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
             "              {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}],"
             "   \"pair\": [], \"special_tokens\": {\"[CLS]\": {\"id\": \"[CLS]\", \"ids\": [2], \"tokens\": [\"[CLS]\"]},"
             "                                   \"[SEP]\": {\"id\": \"[SEP]\", \"ids\": [3], \"tokens\": [\"[SEP]\"]}}},"
             " \"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true},"
             " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\","
             "   \"max_input_chars_per_word\": %d, \"vocab\": {"
             "   \"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"hello\": 5, \"world\": 6,"
             "   \",\": 7, \"!\": 8, \"un\": 9, \"##aff\": 10, \"##able\": 11, \"cafe\": 12, \"\\u4e2d\": 13,"
             "   \"\\u6587\": 14, \"$\": 15, \"a\": 16, \"##a\": 17, \"'\": 18, \"s\": 19, \"naive\": 20,"
             "   \"##s\": 21, \"x\": 22, \".\": 23, \"b\": 24, \"a.\": 25, \".b\": 26, \"..\": 27,"
             "   \"\\u00e9\": 28, \"e\": 29, \"##\\u0301\": 30, \"fi\": 31, \"Hello\": 32, \"Caf\\u00e9\": 33,"
             "   \"caf\": 34, \"##\\u00e9\": 35, \"##e\": 36, \"[\": 37, \"]\": 38, \"do\": 39}}}",
             normalizer, pre, max_chars);
    return buf;
}

static const char *bert_norm =
    "{\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true,"
    " \"strip_accents\": null, \"lowercase\": true}";

static void check_offsets(const vkb_tokenizer *t, const char *text, const uint32_t *want, int n,
                          int line)
{
    vkb_encoding e;
    int rc = vkb_tokenizer_encode(t, text, strlen(text), 1, 0, &e);
    int ok = rc == 0 && e.n == n;
    for (int i = 0; ok && i < 2 * n; i++)
        ok = e.offsets[i] == want[i];
    tl_check(ok, __FILE__, line, "offsets of \"%s\"", text);
    if (!ok && rc == 0)
        for (int i = 0; i < e.n; i++)
            fprintf(stderr, "  token %d: [%u, %u)\n", i, e.offsets[2 * i], e.offsets[2 * i + 1]);
    vkb_encoding_free(&e);
}

static void test_wordpiece(void)
{
    vkb_tokenizer *t = tt_load_json(wp_json(bert_norm, "{\"type\": \"BertPreTokenizer\"}", 9), -1);
    if (!t)
        return;
    TT_EXPECT(t, "Hello, world!", 1, "[CLS]|hello|,|world|!|[SEP]");
    TT_EXPECT(t, "Hello, world!", 0, "hello|,|world|!");
    TT_EXPECT(t, "", 1, "[CLS]|[SEP]");
    TT_EXPECT(t, "", 0, "");
    TT_EXPECT(t, " \t\n ", 1, "[CLS]|[SEP]");
    /* greedy longest match with ## continuations; a word with an uncovered part is [UNK] */
    TT_EXPECT(t, "unaffable", 0, "un|##aff|##able");
    TT_EXPECT(t, "unafable", 0, "[UNK]");
    /* lowercase + accents stripped (NFD, Mn dropped) */
    TT_EXPECT(t, "Caf\xc3\xa9 NA\xc3\x8fVE", 0, "cafe|naive");
    TT_EXPECT(t, "Cafe\xcc\x81", 0, "cafe");
    /* CJK ideographs become words of their own */
    TT_EXPECT(t, "\xe4\xb8\xad\xe6\x96\x87x", 0, "\xe4\xb8\xad|\xe6\x96\x87|x");
    /* clean text: NUL, U+FFFD and control chars dropped, any whitespace splits */
    tt_expect_len(t, "hel\0lo", 6, 0, "hello", __LINE__);
    tt_expect_len(t, "hel\0lo wor\x07ld\tx", 15, 0, "hello|world|x", __LINE__);
    TT_EXPECT(t, "hel\xef\xbf\xbdlo", 0, "hello");
    TT_EXPECT(t, "\xe3\x80\x80hello\xc2\xa0world\xe2\x80\x83x", 0, "hello|world|x");
    TT_EXPECT(t, "hel\xe2\x80\x8blo", 0, "hello"); /* U+200B is Cf: removed */
    /* Cc chars that are also White_Space (U+000B, U+000C, U+0085) are removed like any other
     * control char (HF bert.rs filters controls before mapping whitespace); only \t \n \r
     * become spaces. U+001C..001F are Cc but not White_Space: removed as well. */
    TT_EXPECT(t, "hel\flo", 0, "hello");
    TT_EXPECT(t, "hel\vlo", 0, "hello");
    TT_EXPECT(t, "hel\xc2\x85lo", 0, "hello");
    TT_EXPECT(t, "hel\x1clo\x1f", 0, "hello");
    TT_EXPECT(t, "hello\f world\v", 1, "[CLS]|hello|world|[SEP]");
    TT_EXPECT(t, "hello\tworld\rx\ncafe", 0, "hello|world|x|cafe");
    /* ASCII symbols count as punctuation; every punctuation char is its own word */
    TT_EXPECT(t, "$hello", 0, "$|hello");
    TT_EXPECT(t, "a..b", 0, "a|.|.|b");
    TT_EXPECT(t, "\xe2\x80\x9chello\xe2\x80\x9d", 0, "[UNK]|hello|[UNK]");
    /* max_input_chars_per_word (9 here): 9 chars are split, 10 are one [UNK] */
    TT_EXPECT(t, "aaaaaaaaa", 0, "a|##a|##a|##a|##a|##a|##a|##a|##a");
    TT_EXPECT(t, "aaaaaaaaaa", 0, "[UNK]");
    /* literal special tokens, matched before normalization (so case matters) */
    TT_EXPECT(t, "hello [MASK] world", 1, "[CLS]|hello|[MASK]|world|[SEP]");
    TT_EXPECT(t, "hello[MASK]world", 0, "hello|[MASK]|world");
    TT_EXPECT(t, "[mask]", 0, "[|[UNK]|]");
    /* single_word: <word> only counts between non-word chars; rstrip takes the spaces after */
    TT_EXPECT(t, "a <word> b", 0, "a|<word>|b");
    TT_EXPECT(t, "a<word>b", 0, "a|[UNK]|[UNK]|[UNK]|b");
    TT_EXPECT(t, "a <rs>   b", 0, "a|<rs>   |b");
    {
        vkb_encoding e;
        CHECK(vkb_tokenizer_encode(t, "hello [MASK] <word>", 19, 1, 0, &e) == 0, "encode");
        static const uint8_t want[] = {1, 0, 1, 0, 1};
        CHECK(e.n == 5 && !memcmp(e.special_mask, want, 5), "special mask: [MASK] special, <word> not");
        vkb_encoding_free(&e);
    }
    /* offsets are byte ranges of the original text, whatever normalization did */
    static const uint32_t off1[] = {0, 0, 0, 5, 5, 6, 7, 12, 12, 13, 0, 0};
    check_offsets(t, "Hello, world!", off1, 6, __LINE__);
    static const uint32_t off2[] = {0, 0, 0, 5, 6, 11, 0, 0};
    check_offsets(t, "Caf\xc3\xa9 [SEP]", off2, 4, __LINE__);
    static const uint32_t off3[] = {0, 0, 0, 5, 5, 6, 0, 0}; /* "cafe" covers the 2-byte é */
    check_offsets(t, "caf\xc3\xa9s", off3, 4, __LINE__);
    /* truncation keeps [CLS] and [SEP] */
    {
        vkb_encoding e;
        CHECK(vkb_tokenizer_encode(t, "Hello, world!", 13, 1, 4, &e) == 0 && e.n == 4 &&
                  e.ids[0] == 2 && e.ids[1] == 5 && e.ids[2] == 7 && e.ids[3] == 3,
              "truncate to 4");
        vkb_encoding_free(&e);
        CHECK(vkb_tokenizer_encode(t, "Hello, world!", 13, 1, 2, &e) == 0 && e.n == 2 &&
                  e.ids[0] == 2 && e.ids[1] == 3,
              "truncate to the specials alone");
        vkb_encoding_free(&e);
        CHECK(vkb_tokenizer_encode(t, "Hello, world!", 13, 1, 1, &e) < 0 && e.n == 0,
              "max_len below the specials is an error");
        CHECK(vkb_tokenizer_encode(t, "Hello, world!", 13, 0, 3, &e) == 0 && e.n == 3 &&
                  e.ids[2] == 6,
              "truncate without specials");
        vkb_encoding_free(&e);
    }
    /* accessors */
    CHECK(vkb_tokenizer_cls_id(t) == 2 && vkb_tokenizer_sep_id(t) == 3 && vkb_tokenizer_pad_id(t) == 0,
          "cls/sep/pad ids");
    CHECK(vkb_tokenizer_vocab_size(t) == 42, "vocab size %d", vkb_tokenizer_vocab_size(t));
    CHECK(!strcmp(vkb_tokenizer_id_to_token(t, 5), "hello") && !vkb_tokenizer_id_to_token(t, 99) &&
              !vkb_tokenizer_id_to_token(t, -1),
          "id_to_token");
    CHECK(vkb_tokenizer_token_to_id(t, "world") == 6 && vkb_tokenizer_token_to_id(t, "<rs>") == 41 &&
              vkb_tokenizer_token_to_id(t, "nope") == -1,
          "token_to_id");
    CHECK(!strcmp(vkb_tokenizer_kind(t), "wordpiece"), "kind");
    /* decoding: ## pieces glue, cleanup removes the space before punctuation */
    {
        int32_t ids[] = {2, 5, 7, 6, 8, 3};
        char *s = vkb_tokenizer_decode(t, ids, 6, 1);
        CHECK(s && !strcmp(s, "hello, world!"), "decode skip specials: %s", s ? s : "NULL");
        free(s);
        s = vkb_tokenizer_decode(t, ids, 6, 0);
        CHECK(s && !strcmp(s, "[CLS] hello, world! [SEP]"), "decode: %s", s ? s : "NULL");
        free(s);
        int32_t ids2[] = {9, 10, 11, 18, 19, 99};
        s = vkb_tokenizer_decode(t, ids2, 6, 1);
        /* cleanup works per token, as in tokenizers: " '" and " s" stay apart */
        CHECK(s && !strcmp(s, "unaffable ' s"), "decode pieces: %s", s ? s : "NULL");
        free(s);
    }
    /* batch: pad to the longest, or truncate and pad to a fixed length */
    {
        const char *texts[] = {"hello", "hello world!"};
        size_t lens[] = {5, 12};
        vkb_batch_encoding b;
        CHECK(vkb_tokenizer_encode_batch(t, texts, lens, 2, 1, 0, 0, &b) == 0 && b.batch == 2 &&
                  b.len == 5,
              "batch shape");
        static const int32_t ids[] = {2, 5, 3, 0, 0, 2, 5, 6, 8, 3};
        static const uint8_t att[] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
        static const uint8_t spec[] = {1, 0, 1, 1, 1, 1, 0, 0, 0, 1};
        CHECK(b.ids && !memcmp(b.ids, ids, sizeof(ids)) && !memcmp(b.attention_mask, att, 10) &&
                  !memcmp(b.special_mask, spec, 10) && b.lengths[0] == 3 && b.lengths[1] == 5,
              "batch contents");
        CHECK(b.offsets[2 * 6] == 0 && b.offsets[2 * 6 + 1] == 5 && b.offsets[2 * 3] == 0,
              "batch offsets");
        vkb_batch_encoding_free(&b);
        CHECK(vkb_tokenizer_encode_batch(t, texts, lens, 2, 1, 0, 4, &b) == 0 && b.len == 4 &&
                  b.ids[3] == 0 && b.ids[4 + 2] == 6 && b.ids[4 + 3] == 3,
              "batch pad_to 4");
        vkb_batch_encoding_free(&b);
        CHECK(vkb_tokenizer_encode_batch(t, NULL, NULL, 0, 1, 0, 0, &b) == 0 && b.batch == 0,
              "empty batch");
        vkb_batch_encoding_free(&b);
    }
    vkb_tokenizer_free(t);

    /* cased: lowercase false and strip_accents null keep case and accents */
    t = tt_load_json(wp_json("{\"type\": \"BertNormalizer\", \"clean_text\": true,"
                             " \"handle_chinese_chars\": false, \"strip_accents\": null,"
                             " \"lowercase\": false}",
                             "{\"type\": \"BertPreTokenizer\"}", 100),
                     -1);
    TT_EXPECT(t, "Hello Caf\xc3\xa9", 0, "Hello|Caf\xc3\xa9");
    TT_EXPECT(t, "\xe4\xb8\xad\xe6\x96\x87", 0, "[UNK]"); /* CJK not split: one unknown word */
    vkb_tokenizer_free(t);
}

/* ---- other normalizers and pre-tokenizers (on the same WordPiece vocabulary) ---- */

static void test_normalizers_pretokenizers(void)
{
    const char *ws = "{\"type\": \"WhitespaceSplit\"}";
    vkb_tokenizer *t = tt_load_json(wp_json("{\"type\": \"NFC\"}", ws, 100), -1);
    TT_EXPECT(t, "e\xcc\x81", 0, "\xc3\xa9");
    vkb_tokenizer_free(t);
    t = tt_load_json(wp_json("{\"type\": \"NFD\"}", ws, 100), -1);
    TT_EXPECT(t, "\xc3\xa9", 0, "e|##\xcc\x81");
    vkb_tokenizer_free(t);
    t = tt_load_json(wp_json("{\"type\": \"NFKC\"}", ws, 100), -1);
    TT_EXPECT(t, "\xef\xac\x81", 0, "fi"); /* U+FB01 ligature fi */
    vkb_tokenizer_free(t);
    t = tt_load_json(wp_json("{\"type\": \"NFKD\"}", ws, 100), -1);
    TT_EXPECT(t, "\xef\xac\x81 \xc3\xa9", 0, "fi|e|##\xcc\x81");
    vkb_tokenizer_free(t);
    t = tt_load_json(
        wp_json("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFD\"}, {\"type\": \"StripAccents\"},"
                " {\"type\": \"Lowercase\"}, {\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}]}",
                ws, 100),
        -1);
    TT_EXPECT(t, "  HELLO Caf\xc3\xa9  ", 0, "hello|cafe");
    vkb_tokenizer_free(t);
    /* Lowercase alone keeps accents */
    t = tt_load_json(wp_json("{\"type\": \"Lowercase\"}", ws, 100), -1);
    TT_EXPECT(t, "CAF\xc3\x89", 0, "caf|##\xc3\xa9");
    vkb_tokenizer_free(t);

    /* Whitespace: \w+|[^\w\s]+ */
    t = tt_load_json(wp_json("null", "{\"type\": \"Whitespace\"}", 100), -1);
    TT_EXPECT(t, "hello,world a..b", 0, "hello|,|world|a|..|b");
    vkb_tokenizer_free(t);
    /* Punctuation with each delimiter behaviour, after WhitespaceSplit in a Sequence */
    static const char *const behaviors[][2] = {
        {"Removed", "a|b"},
        {"Isolated", "a|.|.|b"},
        {"Contiguous", "a|..|b"},
        {"MergedWithPrevious", "a.|.|b"},
        {"MergedWithNext", "a|.|.b"},
    };
    for (int i = 0; i < 5; i++) {
        char pre[512];
        snprintf(pre, sizeof(pre),
                 "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"},"
                 " {\"type\": \"Punctuation\", \"behavior\": \"%s\"}]}",
                 behaviors[i][0]);
        t = tt_load_json(wp_json("null", pre, 100), -1);
        TT_EXPECT(t, "a..b", 0, behaviors[i][1]);
        vkb_tokenizer_free(t);
    }
    t = tt_load_json(wp_json("null", "{\"type\": \"Punctuation\", \"behavior\": \"MergedWithPrevious\"}", 100), -1);
    TT_EXPECT(t, ".b", 0, ".|b");
    vkb_tokenizer_free(t);
}

/* ---- byte-level BPE ---- */

/* GPT-2's byte -> char map, written independently of the library's. */
static uint32_t byte_char(int b)
{
    int n = 0;
    for (int i = 0; i < 256; i++) {
        int self = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE;
        if (i == b)
            return self ? (uint32_t)i : (uint32_t)(256 + n);
        n += !self;
    }
    return 0;
}

static void utf8_put(char **p, uint32_t cp)
{
    unsigned char *d = (unsigned char *)*p;
    if (cp < 0x80) {
        *d++ = (unsigned char)cp;
    } else {
        *d++ = (unsigned char)(0xC0 | (cp >> 6));
        *d++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *p = (char *)d;
}

/* Merges in rank order; "G" stands for the byte char of a space (U+0120). */
static const char *const bpe_merges[] = {
    "c 1", "h e", "l l", "he ll", "hell o", "G w", "o r", "Gw or", "Gwor l", "Gworl d",
    "a b", "b c", "G hello", "' t", "d o", "do n", "G G", "G b",
    "1 2", "12 3", "! !",
};

static char *bpe_json(int prefix_space, int ignore_merges)
{
    json_t *vocab = json_object(), *merges = json_array();
    for (int b = 0; b < 256; b++) {
        char s[4], *p = s;
        utf8_put(&p, byte_char(b));
        *p = 0;
        json_object_set_new(vocab, s, json_integer(b));
    }
    int next = 256;
    for (size_t i = 0; i < sizeof(bpe_merges) / sizeof(bpe_merges[0]); i++) {
        char m[64], joined[64], *o = m, *j = joined;
        for (const char *c = bpe_merges[i]; *c; c++) {
            if (*c == 'G') {
                utf8_put(&o, 0x120);
                utf8_put(&j, 0x120);
            } else {
                *o++ = *c;
                if (*c != ' ')
                    *j++ = *c;
            }
        }
        *o = *j = 0;
        json_array_append_new(merges, json_string(m));
        if (!json_object_get(vocab, joined))
            json_object_set_new(vocab, joined, json_integer(next++));
    }
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    json_t *added = json_array();
    for (int i = 0; i < 5; i++) {
        json_object_set_new(vocab, specials[i], json_integer(300 + i));
        json_array_append_new(added, json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", 300 + i,
                                               "content", specials[i], "single_word", 0, "lstrip",
                                               i == 4, "rstrip", 0, "normalized", i != 4, "special", 1));
    }
    json_t *root = json_pack(
        "{s:s, s:n, s:n, s:o, s:n, s:{s:s, s:b, s:b, s:b},"
        " s:{s:s, s:[s,i], s:[s,i], s:b, s:b}, s:{s:s}, s:{s:s, s:n, s:n, s:s, s:s, s:b, s:b, s:b, s:o, s:o}}",
        "version", "1.0", "truncation", "padding", "added_tokens", added, "normalizer",
        "pre_tokenizer", "type", "ByteLevel", "add_prefix_space", prefix_space, "trim_offsets", 1,
        "use_regex", 1,
        "post_processor", "type", "RobertaProcessing", "sep", "</s>", 302, "cls", "<s>", 300,
        "trim_offsets", 1, "add_prefix_space", prefix_space,
        "decoder", "type", "ByteLevel",
        "model", "type", "BPE", "dropout", "unk_token", "continuing_subword_prefix", "",
        "end_of_word_suffix", "", "fuse_unk", 0, "byte_fallback", 0, "ignore_merges", ignore_merges,
        "vocab", vocab, "merges", merges);
    char *s = json_dumps(root, 0);
    json_decref(root);
    return s;
}

static void test_bytelevel_bpe(void)
{
    char *json = bpe_json(0, 0);
    vkb_tokenizer *t = tt_load_json(json, -1);
    if (!t) {
        free(json);
        return;
    }
    TT_EXPECT(t, "hello world", 1, "<s>|hello|\xc4\xa0world|</s>");
    TT_EXPECT(t, "", 1, "<s>|</s>");
    /* merges by rank: "a b" (rank 10) before "b c" (rank 11) */
    TT_EXPECT(t, "abc", 0, "ab|c");
    /* bytes of a multi-byte char map to their byte chars (U+00E9 = C3 A9 -> "Ã" "©") */
    TT_EXPECT(t, "\xc3\xa9", 0, "\xc3\x83|\xc2\xa9");
    /* GPT-2 pattern: contractions, letters vs numbers ("c 1" would merge within a word),
     * punctuation runs, whitespace runs giving back their last space */
    TT_EXPECT(t, "don't", 0, "don|'t");
    TT_EXPECT(t, "abc123", 0, "ab|c|123");
    TT_EXPECT(t, "hello!!", 0, "hello|!!");
    TT_EXPECT(t, "a   b", 0, "a|\xc4\xa0\xc4\xa0|\xc4\xa0" "b");
    TT_EXPECT(t, "a  ", 0, "a|\xc4\xa0\xc4\xa0");
    TT_EXPECT(t, "a\n b", 0, "a|\xc4\x8a|\xc4\xa0" "b");
    /* invalid UTF-8: one U+FFFD (EF BF BD) per bad byte, encoded as its three bytes */
    TT_EXPECT(t, "a\xff" "b", 0, "a|\xc3\xaf|\xc2\xbf|\xc2\xbd|b");
    /* specials in the text; <mask> takes the space before it (lstrip) */
    TT_EXPECT(t, "<s>hello</s>", 0, "<s>|hello|</s>");
    TT_EXPECT(t, "hello <mask>", 0, "hello| <mask>");
    TT_EXPECT(t, "hello<mask>world", 0, "hello|<mask>|w|or|l|d");
    /* offsets: RobertaProcessing trims the space a token starts with */
    static const uint32_t off[] = {0, 0, 0, 5, 6, 11, 0, 0};
    check_offsets(t, "hello world", off, 4, __LINE__);
    static const uint32_t off_mb[] = {0, 0, 0, 2, 0, 2, 0, 0};
    check_offsets(t, "\xc3\xa9", off_mb, 4, __LINE__);
    /* the word cache returns the same answer the second time */
    TT_EXPECT(t, "hello world", 0, "hello|\xc4\xa0world");
    /* decode is the exact inverse on valid text; a lone byte decodes to U+FFFD */
    {
        const char *text = "hello world \xc3\xa9!!";
        vkb_encoding e;
        CHECK(vkb_tokenizer_encode(t, text, strlen(text), 1, 0, &e) == 0, "encode");
        char *s = vkb_tokenizer_decode(t, e.ids, e.n, 1);
        CHECK(s && !strcmp(s, text), "decode round trip: %s", s ? s : "NULL");
        free(s);
        s = vkb_tokenizer_decode(t, e.ids, e.n, 0);
        CHECK(s && !strncmp(s, "<s>hello", 8), "decode with specials: %s", s ? s : "NULL");
        free(s);
        vkb_encoding_free(&e);
        int32_t lone[] = {0xC3, 'a'};
        s = vkb_tokenizer_decode(t, lone, 2, 0);
        CHECK(s && !strcmp(s, "\xef\xbf\xbd" "a"), "lossy decode: %s", s ? s : "NULL");
        free(s);
    }
    CHECK(vkb_tokenizer_pad_id(t) == 301 && vkb_tokenizer_cls_id(t) == 300 &&
              vkb_tokenizer_sep_id(t) == 302 && !strcmp(vkb_tokenizer_kind(t), "bpe"),
          "bpe special ids");
    vkb_tokenizer_free(t);

    /* add_prefix_space, from the file or forced by the options */
    t = tt_load_json(json, 1);
    TT_EXPECT(t, "hello world", 0, "\xc4\xa0hello|\xc4\xa0world");
    TT_EXPECT(t, " hello", 0, "\xc4\xa0hello");
    TT_EXPECT(t, "hello<mask>world", 0, "\xc4\xa0hello|<mask>|\xc4\xa0world");
    static const uint32_t off_ps[] = {0, 5, 6, 11};
    {
        vkb_encoding e;
        CHECK(vkb_tokenizer_encode(t, "hello world", 11, 0, 0, &e) == 0 && e.n == 2 &&
                  !memcmp(e.offsets, off_ps, sizeof(off_ps)),
              "prefix-space offsets");
        vkb_encoding_free(&e);
    }
    vkb_tokenizer_free(t);
    free(json);
    json = bpe_json(1, 0);
    t = tt_load_json(json, -1);
    TT_EXPECT(t, "hello", 0, "\xc4\xa0hello");
    vkb_tokenizer_free(t);
    t = tt_load_json(json, 0);
    TT_EXPECT(t, "hello", 0, "hello");
    vkb_tokenizer_free(t);
    free(json);
    /* ignore_merges: a word that is a token is taken whole */
    json = bpe_json(0, 1);
    t = tt_load_json(json, -1);
    TT_EXPECT(t, "abc", 0, "ab|c");
    TT_EXPECT(t, "hello", 0, "hello");
    vkb_tokenizer_free(t);
    free(json);
}

/* ---- char-level BPE: prefix / suffix, unknown chars, byte fallback ---- */

static const char *char_bpe_json(int fuse_unk, int byte_fallback, const char *prefix,
                                 const char *suffix, const char *merges)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"added_tokens\": [], \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Whitespace\"},"
             " \"post_processor\": null, \"decoder\": null,"
             " \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": \"[UNK]\","
             "  \"continuing_subword_prefix\": %s, \"end_of_word_suffix\": %s, \"fuse_unk\": %s,"
             "  \"byte_fallback\": %s, \"vocab\": {\"[UNK]\": 0, \"a\": 1, \"##b\": 2, \"##c</w>\": 3,"
             "  \"ab\": 4, \"abc</w>\": 5, \"##b</w>\": 6, \"ab</w>\": 7, \"b\": 8, \"c\": 9, \"bc\": 10,"
             "  \"<0x78>\": 11, \"<0x79>\": 12},"
             "  \"merges\": %s}}",
             prefix, suffix, fuse_unk ? "true" : "false", byte_fallback ? "true" : "false", merges);
    return buf;
}

static void test_char_bpe(void)
{
    const char *affixed = "[\"a ##b\", \"ab ##c</w>\", \"a ##b</w>\"]";
    vkb_tokenizer *t = tt_load_json(char_bpe_json(1, 0, "\"##\"", "\"</w>\"", affixed), -1);
    TT_EXPECT(t, "abc ab", 0, "abc</w>|ab</w>");
    TT_EXPECT(t, "axxb", 0, "a|[UNK]|##b</w>"); /* ##x ##x unknown, fused into one [UNK] */
    TT_EXPECT(t, "", 0, "");
    vkb_tokenizer_free(t);
    t = tt_load_json(char_bpe_json(0, 0, "\"##\"", "\"</w>\"", affixed), -1);
    TT_EXPECT(t, "axxb", 0, "a|[UNK]|[UNK]|##b</w>");
    vkb_tokenizer_free(t);
    /* no prefix / suffix: merges given as a pair; byte fallback for x and y */
    t = tt_load_json(char_bpe_json(0, 1, "null", "null", "[[\"b\", \"c\"]]"), -1);
    TT_EXPECT(t, "bc xy z", 0, "bc|<0x78>|<0x79>|[UNK]");
    vkb_tokenizer_free(t);
}

/* ---- the older file formats ---- */

static void test_legacy_files(void)
{
    char old[256];
    snprintf(old, sizeof(old), "%s/tokenizer.json", tt_tmpdir());
    unlink(old); /* the folder must hold only the older files */
    const char *vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n!\ncaf\xc3\xa9\n";
    const char *vpath = tt_write("vocab.txt", vocab);
    tt_write("tokenizer_config.json", "{\"do_lower_case\": false}");
    vkb_tokenizer *t = NULL;
    char err[512];
    CHECK(vkb_tokenizer_load(tt_tmpdir(), NULL, &t, err, sizeof(err)) == 0, "load folder: %s", err);
    TT_EXPECT(t, "hello worlds! [MASK] Hello caf\xc3\xa9", 1,
              "[CLS]|hello|world|##s|!|[MASK]|[UNK]|caf\xc3\xa9|[SEP]");
    vkb_tokenizer_free(t);
    tt_write("tokenizer_config.json", "{\"do_lower_case\": true}");
    t = NULL;
    CHECK(vkb_tokenizer_load(vpath, NULL, &t, err, sizeof(err)) == 0, "load vocab.txt: %s", err);
    TT_EXPECT(t, "Hello caf\xc3\xa9", 1, "[CLS]|hello|[UNK]|[SEP]"); /* accents stripped */
    CHECK(vkb_tokenizer_pad_id(t) == 0 && vkb_tokenizer_vocab_size(t) == 10, "vocab.txt ids");
    vkb_tokenizer_free(t);

    /* vocab.json + merges.txt (RoBERTa-style): "Ġ" is U+0120 */
    tt_write("vocab.json", "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"h\": 4, \"i\": 5,"
                           " \"\\u0120\": 6, \"hi\": 7, \"\\u0120h\": 8, \"\\u0120hi\": 9, \"<mask>\": 10}");
    tt_write("merges.txt", "#version: 0.2\nh i\n\xc4\xa0 hi\n");
    const char *vj = tt_write("tokenizer_config.json", "{\"add_prefix_space\": false}");
    (void)vj;
    char path[256];
    snprintf(path, sizeof(path), "%s/vocab.json", tt_tmpdir());
    t = NULL;
    CHECK(vkb_tokenizer_load(path, NULL, &t, err, sizeof(err)) == 0, "load vocab.json: %s", err);
    TT_EXPECT(t, "hi hi <mask>", 1, "<s>|hi|\xc4\xa0hi| <mask>|</s>");
    vkb_tokenizer_free(t);
    vkb_tokenizer_options o = {1};
    t = NULL;
    CHECK(vkb_tokenizer_load(path, &o, &t, err, sizeof(err)) == 0, "load vocab.json: %s", err);
    TT_EXPECT(t, "hi", 1, "<s>|\xc4\xa0hi|</s>");
    vkb_tokenizer_free(t);
}

/* ---- load errors name the file or the component ---- */

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
    char json[8192];
    /* types tokenizers has that vkbridge does not */
    snprintf(json, sizeof(json), "%s", wp_json("{\"type\": \"Nmt\"}", "null", 100));
    expect_load_error(json, "unsupported normalizer type 'Nmt'", __LINE__);
    snprintf(json, sizeof(json), "%s", wp_json("null", "{\"type\": \"UnicodeScripts\"}", 100));
    expect_load_error(json, "unsupported pre-tokenizer type 'UnicodeScripts'", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
                      "unsupported model type 'WordLevel'", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}},"
                      " \"post_processor\": {\"type\": \"Fancy\"}}",
                      "unsupported post-processor type 'Fancy'", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}},"
                      " \"decoder\": {\"type\": \"CTC\"}}",
                      "unsupported decoder type 'CTC'", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}",
                      "missing from the vocabulary", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {}, \"merges\": []}}",
                      "dropout", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": -3}}}", "no valid id", __LINE__);
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}},"
                      " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 7],"
                      " \"sep\": [\"[SEP]\", 8]}}",
                      "post-processor token '[CLS]' has id 7", __LINE__);
    expect_load_error("{not json", "bad.json", __LINE__);
    expect_load_error("[]", "not a tokenizer.json object", __LINE__);
    vkb_tokenizer *t = NULL;
    char err[512];
    CHECK(vkb_tokenizer_load("/nonexistent/tokenizer.json", NULL, &t, err, sizeof(err)) < 0 &&
              strstr(err, "/nonexistent/tokenizer.json"),
          "missing file: %s", err);
    CHECK(vkb_tokenizer_load("/", NULL, &t, err, sizeof(err)) < 0 && strstr(err, "no tokenizer.json"),
          "folder without files: %s", err);
    CHECK(vkb_tokenizer_load(NULL, NULL, &t, err, sizeof(err)) < 0, "NULL path");
}

int main(void)
{
    test_wordpiece();
    test_normalizers_pretokenizers();
    test_bytelevel_bpe();
    test_char_bpe();
    test_legacy_files();
    test_load_errors();
    tt_cleanup();
    return tl_finish();
}

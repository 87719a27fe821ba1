/*
 * fuzz_tokenizer.c — libFuzzer target for the tokenizer (build: CC=clang, -DVKB_FUZZ=ON).
 *
 * Input: byte 0 picks the tokenizer and the options (special tokens, max_len, batch), the
 * rest is the text, any bytes. Checks, besides ASan/UBSan: encoding succeeds, offsets lie in
 * the text and are ordered, ids lie in the vocabulary, truncation holds, a batch equals the
 * single encode, and decoding any ids (valid or not) returns.
 *
 * Loader mode: an input starting with 0xFF 'L' is a tokenizer.json (the rest of the bytes).
 * Loading must either succeed, and then encoding and decoding a few texts must work, or fail
 * with a message; never crash (the seeds hold Unigram files, valid and malformed).
 *
 * Tokenizers: three small ones written to a temp folder at start (WordPiece with
 * BertNormalizer, byte-level BPE with specials, Unigram with byte_fallback, Replace, Split,
 * Digits and Metaspace), plus bert-base-uncased, roberta-base and the Unigram ones
 * (Precompiled charsmaps) when $VKB_TESTDATA names the shared test data.
 */
#include "vkb_tokenizer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static vkb_tokenizer *toks[16];
static char load_dir[] = "/tmp/vkb_fuzz_tok_XXXXXX";
static int n_toks;

static const char wordpiece_json[] =
    "{\"added_tokens\": [{\"id\": 0, \"content\": \"[CLS]\", \"special\": true, \"normalized\": false},"
    " {\"id\": 1, \"content\": \"[SEP]\", \"special\": true, \"normalized\": false},"
    " {\"id\": 2, \"content\": \"[UNK]\", \"special\": true, \"normalized\": false},"
    " {\"id\": 9, \"content\": \"<w>\", \"single_word\": true, \"lstrip\": true, \"rstrip\": true,"
    "  \"normalized\": true, \"special\": false}],"
    " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"},"
    "   {\"type\": \"BertNormalizer\", \"lowercase\": true}]},"
    " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"},"
    "   {\"type\": \"Punctuation\", \"behavior\": \"MergedWithNext\"}, {\"type\": \"BertPreTokenizer\"}]},"
    " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 0], \"sep\": [\"[SEP]\", 1]},"
    " \"decoder\": {\"type\": \"WordPiece\"},"
    " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"max_input_chars_per_word\": 20,"
    "  \"vocab\": {\"[CLS]\": 0, \"[SEP]\": 1, \"[UNK]\": 2, \"a\": 3, \"##a\": 4, \"b\": 5, \"##b\": 6,"
    "   \"ab\": 7, \".\": 8, \"\\u00e9\": 10, \"##\\u00e9\": 11, \"\\u4e2d\": 12}}}";

/* Byte-level BPE over a tiny alphabet: every byte is a token (the vocab is built at start). */
static char *bpe_json(void)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"added_tokens\": [{\"id\": 300, \"content\": \"<s>\", \"special\": true},"
                          " {\"id\": 301, \"content\": \"</s>\", \"special\": true},"
                          " {\"id\": 302, \"content\": \"<mask>\", \"lstrip\": true, \"special\": true,"
                          "  \"normalized\": false}],"
                          " \"normalizer\": {\"type\": \"NFC\"},"
                          " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true},"
                          " \"post_processor\": {\"type\": \"RobertaProcessing\", \"cls\": [\"<s>\", 300],"
                          "  \"sep\": [\"</s>\", 301]}, \"decoder\": {\"type\": \"ByteLevel\"},"
                          " \"model\": {\"type\": \"BPE\", \"vocab\": {");
    int next = 0;
    for (int b = 0; b < 256; b++) {
        int self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        unsigned cp = self ? (unsigned)b : 256u + (unsigned)next++;
        n += (size_t)snprintf(s + n, cap - n, "%s\"\\u%04x\": %d", b ? ", " : "", cp, b);
    }
    n += (size_t)snprintf(s + n, cap - n,
                          ", \"\\u0120a\": 256, \"ab\": 257, \"\\u0120ab\": 258, \"aa\": 259,"
                          " \"aaaa\": 260, \"<s>\": 300, \"</s>\": 301, \"<mask>\": 302},"
                          " \"merges\": [\"\\u0120 a\", \"a b\", \"\\u0120a b\", \"a a\", \"aa aa\"]}}");
    return s;
}

/* Unigram: <unk> <s> </s>, all 256 <0xHH> byte pieces, a few words; every new piece. */
static char *unigram_json(void)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true, \"normalized\": false},"
                          " {\"id\": 1, \"content\": \"<s>\", \"special\": true, \"normalized\": false},"
                          " {\"id\": 2, \"content\": \"</s>\", \"special\": true, \"normalized\": false},"
                          " {\"id\": 270, \"content\": \"<mask>\", \"lstrip\": true, \"special\": true, \"normalized\": true}],"
                          " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Strip\", \"strip_left\": false,"
                          "   \"strip_right\": true}, {\"type\": \"NFKC\"}, {\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"},"
                          "   \"content\": \"\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(?<=x)\\\\p{N}+|y*\"},"
                          "   \"content\": \"#\"}, {\"type\": \"Lowercase\"}, {\"type\": \"Prepend\", \"prepend\": \"~\"}]},"
                          " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\","
                          "   \"pattern\": {\"String\": \"-\"}, \"behavior\": \"MergedWithNext\", \"invert\": false},"
                          "   {\"type\": \"Digits\", \"individual_digits\": true}, {\"type\": \"Metaspace\", \"replacement\": \"\u2581\","
                          "   \"prepend_scheme\": \"first\", \"split\": true}]},"
                          " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"A\","
                          "   \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}], \"pair\": [],"
                          "   \"special_tokens\": {\"</s>\": {\"id\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}},"
                          " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
                          "   {\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"always\"}]},"
                          " \"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"byte_fallback\": true, \"vocab\": ["
                          "[\"<unk>\", 0.0], [\"<s>\", 0.0], [\"</s>\", 0.0]");
    for (int b = 0; b < 256; b++)
        n += (size_t)snprintf(s + n, cap - n, ", [\"<0x%02X>\", 0.0]", b);
    n += (size_t)snprintf(s + n, cap - n,
                          ", [\"\u2581\", -2.5], [\"a\", -3.1], [\"aa\", -3.1], [\"\u2581a\", -4.0], [\"b\", -2.0],"
                          " [\"ab\", -5.0], [\"\u00e9\", -6.0], [\"#\", -1.0], [\"~\", -1.0], [\"-\", -1.0],"
                          " [\"\u4e2d\", -7.25], [\"<mask>\", -1.0]]}}");
    return s;
}

static void add_tokenizer(const char *path, int prefix_space)
{
    vkb_tokenizer_options o = {prefix_space};
    char err[512];
    vkb_tokenizer *t = NULL;
    if (vkb_tokenizer_load(path, &o, &t, err, sizeof(err))) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err);
        abort();
    }
    toks[n_toks++] = t;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) {
        perror(path);
        abort();
    }
}

static void remove_load_dir(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/load.json", load_dir);
    unlink(path);
    rmdir(load_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *dir = load_dir, path[256];
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/wordpiece.json", dir);
    write_file(path, wordpiece_json);
    add_tokenizer(path, -1);
    unlink(path);
    char *bpe = bpe_json();
    snprintf(path, sizeof(path), "%s/bpe.json", dir);
    write_file(path, bpe);
    free(bpe);
    add_tokenizer(path, -1);
    add_tokenizer(path, 0);
    unlink(path);
    char *uni = unigram_json();
    snprintf(path, sizeof(path), "%s/unigram.json", dir);
    write_file(path, uni);
    free(uni);
    add_tokenizer(path, -1);
    unlink(path);
    atexit(remove_load_dir); /* the folder stays for loader mode */
    const char *td = getenv("VKB_TESTDATA");
    if (td)
        snprintf(path, sizeof(path), "%s/tokenizers/bert-base-uncased/tokenizer.json", td);
    if (td && access(path, R_OK) == 0) { /* the shared data is optional */
        add_tokenizer(path, -1);
        snprintf(path, sizeof(path), "%s/tokenizers/roberta-base/tokenizer.json", td);
        add_tokenizer(path, -1);
        add_tokenizer(path, 1);
        static const char *const unigram[] = {"unigram-xlmr-like/tokenizer.json",
                                              "unigram-xlmr-like-legacy/tokenizer.json",
                                              "unigram-deberta-v3-like/tokenizer.json",
                                              "unigram-identity/tokenizer.json",
                                              "unigram-byte-fallback/tokenizer.json"};
        for (size_t i = 0; i < sizeof(unigram) / sizeof(unigram[0]); i++) {
            snprintf(path, sizeof(path), "%s/tokenizers/%s", td, unigram[i]);
            add_tokenizer(path, -1);
        }
    }
    return 0;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tokenizer: invariant broken: %s\n", what);
        abort();
    }
}

/* Loader mode: data is a tokenizer.json. */
static void fuzz_load(const uint8_t *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/load.json", load_dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    vkb_tokenizer *t = NULL;
    char err[512] = "";
    if (vkb_tokenizer_load(path, NULL, &t, err, sizeof(err))) {
        check(t == NULL && err[0] != 0, "a failed load says why");
        return;
    }
    static const char *const texts[] = {"", " a  b\t", "Hello, world! 123 <mask> <s>",
                                        "\xef\xbc\x9c\xe4\xb8\xad\xe6\x96\x87 \xc3\xa9\xcc\x81", "\xff\xfe x"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        vkb_encoding e;
        int rc = vkb_tokenizer_encode(t, texts[i], strlen(texts[i]), 1, 0, &e);
        /* -ENOENT: a model without its unknown token met an unknown char */
        check(rc == 0 || rc == -ENOENT, "encode of a loaded tokenizer");
        if (rc == 0) {
            for (int k = 0; k < e.n; k++)
                check(e.ids[k] >= 0 && e.ids[k] < vkb_tokenizer_vocab_size(t), "id in the vocabulary");
            char *s = vkb_tokenizer_decode(t, e.ids, e.n, 0);
            check(s != NULL, "decode");
            free(s);
            vkb_encoding_free(&e);
        }
    }
    vkb_tokenizer_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (size >= 2 && data[0] == 0xFF && data[1] == 'L') {
        fuzz_load(data + 2, size - 2);
        return 0;
    }
    const vkb_tokenizer *t = toks[data[0] % n_toks];
    int add_special = (data[0] >> 3) & 1;
    int max_len = (data[0] >> 4) & 7; /* 0 = none; 2..7 tokens otherwise */
    if (max_len == 1)
        max_len = 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    vkb_encoding e;
    char **strs = NULL;
    check(vkb_tokenizer_encode_tokens(t, text, len, add_special, max_len, &e, &strs) == 0, "encode");
    check(max_len == 0 || e.n <= max_len, "truncation");
    for (int i = 0; i < e.n; i++) {
        check(e.ids[i] >= 0 && e.ids[i] < vkb_tokenizer_vocab_size(t), "id in the vocabulary");
        check(e.offsets[2 * i] <= e.offsets[2 * i + 1] && e.offsets[2 * i + 1] <= len, "offsets");
        check(strs[i] != NULL, "token string");
    }
    char *s = vkb_tokenizer_decode(t, e.ids, e.n, data[0] & 1);
    check(s != NULL, "decode");
    free(s);
    /* Decoding arbitrary ids (the text's bytes as ids, many out of range) must not fail. */
    int32_t ids[64];
    int n_ids = 0;
    for (size_t i = 0; i + 2 <= len && n_ids < 64; i += 2)
        ids[n_ids++] = (int32_t)(((uint32_t)data[1 + i] << 8 | data[2 + i]) * 3u) - 1000;
    s = vkb_tokenizer_decode(t, ids, n_ids, 0);
    check(s != NULL, "decode of arbitrary ids");
    free(s);
    if (data[0] & 4) {
        const char *texts[2] = {text, "a"};
        size_t lens[2] = {len, 1};
        vkb_batch_encoding b;
        check(vkb_tokenizer_encode_batch(t, texts, lens, 2, add_special, max_len, 0, &b) == 0, "batch");
        check(b.lengths[0] == e.n && !memcmp(b.ids, e.ids, (size_t)e.n * sizeof(int32_t)),
              "batch equals single encode");
        vkb_batch_encoding_free(&b);
    }
    vkb_tokens_free(strs, e.n);
    vkb_encoding_free(&e);
    return 0;
}

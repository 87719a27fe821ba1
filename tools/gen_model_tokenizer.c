/*
 * gen_model_tokenizer.c — the tokenizer files of a generated model folder: either a copy of
 * real ones (--vocab-from), or a self-contained uncased WordPiece vocabulary written in both
 * Hugging Face formats (vocab.txt and tokenizer.json), so tests need no shared data.
 *
 * The generated vocabulary: the special tokens, every printable ASCII character alone and
 * as a ##continuation, a few hundred common English words (so ordinary sentences tokenize to
 * about one token per word, as with a real vocabulary), then made-up syllable words and
 * their ##continuations until the requested size.
 */
#include "gen_model.h"

#include "vkb_runtime.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void set_err(char *err, size_t errlen, const char *path, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, what);
}

static const char *const common_words[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "i", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "not", "word", "but", "what", "some", "we", "can", "out", "other", "were",
    "all", "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which",
    "do", "their", "time", "if", "will", "way", "about", "many", "then", "them", "write",
    "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has",
    "look", "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most",
    "people", "my", "over", "know", "water", "than", "call", "first", "who", "may", "down",
    "side", "been", "now", "find", "any", "new", "work", "part", "take", "get", "place", "made",
    "live", "where", "after", "back", "little", "only", "round", "man", "year", "came", "show",
    "every", "good", "me", "give", "our", "under", "name", "very", "through", "just", "form",
    "sentence", "great", "think", "say", "help", "low", "line", "differ", "turn", "cause",
    "much", "mean", "before", "move", "right", "boy", "old", "too", "same", "tell", "does",
    "set", "three", "want", "air", "well", "also", "play", "small", "end", "put", "home",
    "read", "hand", "port", "large", "spell", "add", "even", "land", "here", "must", "big",
    "high", "such", "follow", "act", "why", "ask", "men", "change", "went", "light", "kind",
    "off", "need", "house", "picture", "try", "us", "again", "animal", "point", "mother",
    "world", "near", "build", "self", "earth", "father", "head", "stand", "own", "page",
    "should", "country", "found", "answer", "school", "grow", "study", "still", "learn",
    "plant", "cover", "food", "sun", "four", "between", "state", "keep", "eye", "never",
    "last", "let", "thought", "city", "tree", "cross", "farm", "hard", "start", "might",
    "story", "saw", "far", "sea", "draw", "left", "late", "run", "while", "press", "close",
    "night", "real", "life", "few", "north", "open", "seem", "together", "next", "white",
    "children", "begin", "got", "walk", "example", "ease", "paper", "group", "always", "music",
    "those", "both", "mark", "often", "letter", "until", "mile", "river", "car", "feet",
    "care", "second", "book", "carry", "took", "science", "eat", "room", "friend", "began",
    "idea", "fish", "mountain", "stop", "once", "base", "hear", "horse", "cut", "sure",
    "watch", "color", "face", "wood", "main", "enough", "plain", "girl", "usual", "young",
    "ready", "above", "ever", "red", "list", "though", "feel", "talk", "bird", "soon", "body",
    "dog", "family", "direct", "pose", "leave", "song", "measure", "door", "product", "black",
    "short", "numeral", "class", "wind", "question", "happen", "complete", "ship", "area",
    "half", "rock", "order", "fire", "south", "problem", "piece", "told", "knew", "pass",
    "since", "top", "whole", "king", "space", "heard", "best", "hour", "better", "true",
    "during", "hundred", "five", "remember", "step", "early", "hold", "west", "ground",
    "interest", "reach", "fast", "verb", "sing", "listen", "six", "table", "travel", "less",
    "morning", "ten", "simple", "several", "vowel", "toward", "war", "lay", "against",
    "pattern", "slow", "center", "love", "person", "money", "serve", "appear", "road", "map",
    "rain", "rule", "govern", "pull", "cold", "notice", "voice", "unit", "power", "town",
    "fine", "certain", "fly", "fall", "lead", "cry", "dark", "machine", "note", "wait",
    "plan", "figure", "star", "box", "noun", "field", "rest", "correct", "able", "pound",
    "done", "beauty", "drive", "stood", "contain", "front", "teach", "week", "final", "gave",
    "green", "oh", "quick", "brown", "fox", "jumps", "lazy", "hello", "model", "embedding",
    "vector", "search", "query", "document", "text", "language", "computer", "data",
};

/* One token per syllable digit: k spelled in base 100 over consonant+vowel syllables. */
static void syllable_word(unsigned k, char *out)
{
    static const char cons[] = "bcdfghjklmnprstvwxyz", vow[] = "aeiou";
    char tmp[64];
    int n = 0;
    do {
        unsigned d = k % 100;
        tmp[n++] = vow[d % 5];
        tmp[n++] = cons[d / 5];
        k /= 100;
    } while (k && n < 60);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

/* Appends tok as the next id unless the vocabulary is full or already has it. Returns
 * VKB_OK or VKB_ENOMEM (then the vocabulary is unchanged). */
static int add_token(json_t *tokens, char **vocab, int *n, int size, const char *tok)
{
    if (*n >= size || json_object_get(tokens, tok))
        return VKB_OK;
    char *copy = strdup(tok);
    if (!copy || json_object_set_new(tokens, tok, json_integer(*n)) != 0) {
        free(copy);
        return VKB_ENOMEM;
    }
    vocab[(*n)++] = copy;
    return VKB_OK;
}

/* vocab[i] = token of id i; tokens maps token -> id (the tokenizer.json vocab). On failure
 * *vocab_out still gets the array (tokens added so far), for the caller to free. */
static int build_vocab(int size, int roberta_ids, json_t *tokens, char ***vocab_out)
{
    char **vocab = calloc((size_t)size, sizeof *vocab);
    *vocab_out = vocab;
    if (!vocab || !tokens)
        return VKB_ENOMEM;
    int n = 0, rc = VKB_OK;
    const char *bert_specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    const char *roberta_specials[] = {"[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"};
    const char **sp = roberta_ids ? roberta_specials : bert_specials;
    for (int i = 0; i < 5 && !rc; i++)
        rc = add_token(tokens, vocab, &n, size, sp[i]);
    char buf[80];
    for (int cont = 0; cont < 2; cont++) /* characters alone, then as ##continuations */
        for (int c = 33; c < 127 && !rc; c++) {
            if (c >= 'A' && c <= 'Z')
                continue; /* uncased: the normalizer lowercases first */
            snprintf(buf, sizeof buf, "%s%c", cont ? "##" : "", c);
            rc = add_token(tokens, vocab, &n, size, buf);
        }
    for (size_t i = 0; i < sizeof common_words / sizeof *common_words && !rc; i++)
        rc = add_token(tokens, vocab, &n, size, common_words[i]);
    for (unsigned k = 0; n < size && !rc; k++) {
        char w[64];
        syllable_word(k / 2, w);
        snprintf(buf, sizeof buf, "%s%s", k % 2 ? "##" : "", w);
        rc = add_token(tokens, vocab, &n, size, buf);
    }
    return rc;
}

static json_t *added_token(int id, const char *content)
{
    return json_pack("{s:i, s:b, s:s, s:b, s:b, s:b, s:b}", "id", id, "special", 1, "content",
                     content, "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0);
}

static json_t *special_ref(const char *tok)
{
    return json_pack("{s:{s:s, s:i}}", "SpecialToken", "id", tok, "type_id", 0);
}

/* tokenizer.json in the layout of bert-base-uncased's. */
static json_t *tokenizer_json(json_t *tokens)
{
    json_t *added = json_array();
    const char *specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++)
        json_array_append_new(
            added, added_token((int)json_integer_value(json_object_get(tokens, specials[i])),
                               specials[i]));
    int cls = (int)json_integer_value(json_object_get(tokens, "[CLS]"));
    int sep = (int)json_integer_value(json_object_get(tokens, "[SEP]"));
    json_t *single = json_pack("[o, {s:{s:s, s:i}}, o]", special_ref("[CLS]"), "Sequence", "id",
                               "A", "type_id", 0, special_ref("[SEP]"));
    json_t *pair = json_pack("[o, {s:{s:s, s:i}}, o, {s:{s:s, s:i}}, {s:{s:s, s:i}}]",
                             special_ref("[CLS]"), "Sequence", "id", "A", "type_id", 0,
                             special_ref("[SEP]"), "Sequence", "id", "B", "type_id", 1,
                             "SpecialToken", "id", "[SEP]", "type_id", 1);
    json_t *stoks = json_pack("{s:{s:s, s:[i], s:[s]}, s:{s:s, s:[i], s:[s]}}", "[CLS]", "id",
                              "[CLS]", "ids", cls, "tokens", "[CLS]", "[SEP]", "id", "[SEP]",
                              "ids", sep, "tokens", "[SEP]");
    return json_pack(
        "{s:s, s:n, s:n, s:o, s:{s:s, s:b, s:b, s:n, s:b}, s:{s:s}, "
        "s:{s:s, s:o, s:o, s:o}, s:{s:s, s:s, s:b}, "
        "s:{s:s, s:s, s:s, s:i, s:O}}",
        "version", "1.0", "truncation", "padding", "added_tokens", added, "normalizer", "type",
        "BertNormalizer", "clean_text", 1, "handle_chinese_chars", 1, "strip_accents",
        "lowercase", 1, "pre_tokenizer", "type", "BertPreTokenizer", "post_processor", "type",
        "TemplateProcessing", "single", single, "pair", pair, "special_tokens", stoks, "decoder",
        "type", "WordPiece", "prefix", "##", "cleanup", 1, "model", "type", "WordPiece",
        "unk_token", "[UNK]", "continuing_subword_prefix", "##", "max_input_chars_per_word", 100,
        "vocab", tokens);
}

static int dump(json_t *j, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!j || json_dump_file(j, path, JSON_INDENT(1) | JSON_ENSURE_ASCII) != 0) {
        set_err(err, errlen, path, j ? strerror(errno) : "could not build the JSON");
        return VKB_EIO;
    }
    return VKB_OK;
}

int gen_wordpiece_tokenizer(const char *dir, int size, int roberta_ids, char *err, size_t errlen)
{
    if (size < 400) {
        snprintf(err, errlen, "a generated vocabulary needs at least 400 tokens (asked %d)", size);
        return VKB_EINVAL;
    }
    json_t *tokens = json_object();
    char **vocab = NULL;
    int rc = build_vocab(size, roberta_ids, tokens, &vocab);
    if (rc != VKB_OK) {
        snprintf(err, errlen, "%s: out of memory building a %d-token vocabulary", dir, size);
        goto cleanup;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        set_err(err, errlen, path, strerror(errno));
        rc = VKB_EIO;
        goto cleanup;
    }
    for (int i = 0; i < size; i++)
        fprintf(f, "%s\n", vocab[i]);
    if (fclose(f) != 0) {
        set_err(err, errlen, path, strerror(errno));
        rc = VKB_EIO;
        goto cleanup;
    }
    json_t *tj = tokenizer_json(tokens);
    rc = dump(tj, dir, "tokenizer.json", err, errlen);
    json_decref(tj);
    if (rc != VKB_OK)
        goto cleanup;
    json_t *tc = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:n, s:i, s:s}", "do_lower_case",
                           1, "unk_token", "[UNK]", "sep_token", "[SEP]", "pad_token", "[PAD]",
                           "cls_token", "[CLS]", "mask_token", "[MASK]", "tokenize_chinese_chars",
                           1, "strip_accents", "model_max_length", 512, "tokenizer_class",
                           "BertTokenizer");
    rc = dump(tc, dir, "tokenizer_config.json", err, errlen);
    json_decref(tc);
    if (rc != VKB_OK)
        goto cleanup;
    json_t *sm = json_pack("{s:s, s:s, s:s, s:s, s:s}", "unk_token", "[UNK]", "sep_token",
                           "[SEP]", "pad_token", "[PAD]", "cls_token", "[CLS]", "mask_token",
                           "[MASK]");
    rc = dump(sm, dir, "special_tokens_map.json", err, errlen);
    json_decref(sm);
cleanup:
    for (int i = 0; vocab && i < size; i++)
        free(vocab[i]);
    free(vocab);
    json_decref(tokens);
    return rc;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        set_err(err, errlen, from, strerror(errno));
        return VKB_ENOTFOUND;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        set_err(err, errlen, to, strerror(errno));
        fclose(in);
        return VKB_EIO;
    }
    char buf[1 << 16];
    size_t n;
    int rc = VKB_OK;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            rc = VKB_EIO;
            break;
        }
    if (ferror(in))
        rc = VKB_EIO;
    if (fclose(out) != 0)
        rc = VKB_EIO;
    fclose(in);
    if (rc != VKB_OK)
        set_err(err, errlen, to, "copy failed");
    return rc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Copies dir_from/name to dir/name when it exists; *copied counts copies. */
static int copy_if_present(const char *dir_from, const char *name, const char *dir, int *copied,
                           char *err, size_t errlen)
{
    char a[4096], b[4096];
    if (snprintf(a, sizeof a, "%s/%s", dir_from, name) >= (int)sizeof a ||
        snprintf(b, sizeof b, "%s/%s", dir, name) >= (int)sizeof b) {
        set_err(err, errlen, dir, "path too long");
        return VKB_EINVAL;
    }
    if (!is_file(a))
        return VKB_OK;
    (*copied)++;
    return copy_file(a, b, err, errlen);
}

int gen_copy_tokenizer(const char *dir, const char *from, char *err, size_t errlen)
{
    static const char *const tokenizer_files[] = {"tokenizer.json", "vocab.txt", "vocab.json",
                                                  "merges.txt"};
    static const char *const side_files[] = {"tokenizer_config.json", "special_tokens_map.json"};
    int copied = 0, rc = VKB_OK;
    char src_dir[4096];
    if (is_dir(from)) {
        for (size_t i = 0; i < 4 && rc == VKB_OK; i++)
            rc = copy_if_present(from, tokenizer_files[i], dir, &copied, err, errlen);
        snprintf(src_dir, sizeof src_dir, "%s", from);
    } else if (is_file(from)) {
        /* One file: a *.txt is a WordPiece vocab.txt, anything else a tokenizer.json. */
        size_t n = strlen(from);
        const char *as = n > 4 && !strcmp(from + n - 4, ".txt") ? "vocab.txt" : "tokenizer.json";
        char to[4096];
        snprintf(to, sizeof to, "%s/%s", dir, as);
        rc = copy_file(from, to, err, errlen);
        copied = 1;
        const char *slash = strrchr(from, '/');
        snprintf(src_dir, sizeof src_dir, "%.*s", slash ? (int)(slash - from) : 1,
                 slash ? from : ".");
    } else {
        set_err(err, errlen, from, "no such tokenizer file or folder");
        return VKB_ENOTFOUND;
    }
    if (rc == VKB_OK && !copied) {
        set_err(err, errlen, from, "holds no tokenizer.json, vocab.txt or vocab.json");
        return VKB_ENOTFOUND;
    }
    int side = 0;
    for (size_t i = 0; i < 2 && rc == VKB_OK; i++)
        rc = copy_if_present(src_dir, side_files[i], dir, &side, err, errlen);
    return rc;
}

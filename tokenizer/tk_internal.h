/*
 * tk_internal.h — what the files of tokenizer/ share: the text representation every stage works
 * on, the pieces of a loaded tokenizer (normalizer, pre-tokenizer, model, added tokens,
 * post-processor, decoder) and the functions that build and run them.
 *
 * The pipeline follows Hugging Face `tokenizers`:
 *   bytes -> chars (invalid UTF-8 -> U+FFFD per byte)
 *   -> split out added tokens that match the raw text (normalized=false ones)
 *   -> normalize each remaining piece -> split out added tokens matching the normalized text
 *   -> pre-tokenize each piece into words -> model (WordPiece / BPE) per word
 *   -> post-process ([CLS] .. [SEP]) with truncation.
 * Every char carries the original byte range it came from, so token offsets point into the
 * caller's text whatever the normalizer did.
 */
#ifndef TK_INTERNAL_H
#define TK_INTERNAL_H

#include "vkb_tokenizer.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Token ids run from 0 to TK_MAX_IDS - 1 (a vocabulary entry beyond is refused at load). */
enum { TK_MAX_IDS = 1 << 24 };

/* ---- text: code points with their original byte range ---- */

/* One char of a (possibly normalized) text: code point cp came from original bytes
 * [start, end). Chars a normalizer inserts (the spaces around CJK, a prefix space) take the
 * range of the char they were derived from, or an empty range. */
typedef struct tk_char {
    uint32_t cp;
    uint32_t start, end;
} tk_char;

/* A growable array of chars. */
typedef struct tk_chars {
    tk_char *v;
    size_t n, cap;
} tk_chars;

/* Grows *v (of *cap elements of elem bytes) to hold at least need, doubling from 16; 0 or -1
 * (out of memory, *v untouched). */
int tk_grow(void **v, size_t *cap, size_t need, size_t elem);
int tk_chars_reserve(tk_chars *c, size_t cap);
int tk_chars_push(tk_chars *c, uint32_t cp, uint32_t start, uint32_t end);
void tk_chars_free(tk_chars *c);

/* utf8.c: decodes len bytes into out (appending). Each byte that does not start a valid,
 * shortest-form, non-surrogate sequence becomes one U+FFFD covering that byte. */
int tk_utf8_decode(const char *s, size_t len, tk_chars *out);
/* Writes cp as UTF-8 into dst (room for 4 bytes); returns the byte count. */
int tk_utf8_encode(uint32_t cp, char *dst);
/* Decodes one code point of a valid UTF-8 string at s (NUL-terminated or with n bytes left);
 * returns its length, or 0 if s does not start a valid sequence. */
int tk_utf8_next(const char *s, size_t n, uint32_t *cp);

/* ---- character classes (unicode_class.c), Hugging Face's definitions ---- */

int tk_is_whitespace(uint32_t cp);     /* Unicode White_Space (Rust char::is_whitespace) */
int tk_is_other(uint32_t cp);          /* categories Cc Cf Co (not Cn), as tokenizers has them */
int tk_is_bert_punct(uint32_t cp);     /* ASCII punctuation or categories P* */
int tk_is_letter(uint32_t cp);         /* L* */
int tk_is_number(uint32_t cp);         /* N* */
int tk_is_mark_nonspacing(uint32_t cp);/* Mn */
int tk_is_chinese(uint32_t cp);        /* the CJK ideograph blocks BertNormalizer pads */
int tk_is_word_char(uint32_t cp);      /* regex \w: letters, marks, Nd, Nl, Pc, ZWJ/ZWNJ */
int tk_is_alnum(uint32_t cp);          /* Rust char::is_alphanumeric (approximated by L*, N*) */
/* unicode_hf_tables.c: tokenizers' (Unicode 8.0) sets for Cc|Cf|Co, P*, Mn. */
int tk_hf_is_other(uint32_t cp);
int tk_hf_is_punct(uint32_t cp);
int tk_hf_is_mn(uint32_t cp);
/* Full lowercase mapping (Rust char::to_lowercase): writes 1 or 2 code points, returns count. */
int tk_to_lower(uint32_t cp, uint32_t out[2]);

/* ---- string -> id table (vocab.c) ---- */

/* Open-addressing hash map from byte strings to int32 ids; keys are copied into an arena. */
typedef struct tk_strmap {
    uint32_t *slots;   /* cap entries: index+1 into keys, 0 = empty */
    uint32_t cap;      /* power of two */
    uint32_t n, ent_cap;
    uint32_t *key_off; /* n: offset into arena */
    uint32_t *key_len; /* n */
    int32_t *val;      /* n */
    uint64_t *hash;    /* n */
    char *arena;
    size_t arena_len, arena_cap;
} tk_strmap;

uint64_t tk_hash(const void *data, size_t len);
/* Sets key -> val (replacing an existing value). 0 or -1 on allocation failure. */
int tk_strmap_put(tk_strmap *m, const char *key, size_t len, int32_t val);
/* The value for key, or -1. */
int32_t tk_strmap_get(const tk_strmap *m, const char *key, size_t len);
void tk_strmap_free(tk_strmap *m);

/* ---- normalizers (normalize.c, unorm.c) ---- */

typedef enum tk_norm_kind {
    TK_NORM_BERT,
    TK_NORM_LOWERCASE,
    TK_NORM_NFD,
    TK_NORM_NFKD,
    TK_NORM_NFC,
    TK_NORM_NFKC,
    TK_NORM_STRIP_ACCENTS,
    TK_NORM_STRIP,
    TK_NORM_PRECOMPILED,
    TK_NORM_REPLACE,
    TK_NORM_PREPEND,
} tk_norm_kind;

/* ---- regular expressions (regex.c): Oniguruma, the engine tokenizers itself uses ---- */

typedef struct tk_regex tk_regex;

/* Compiles pattern (Ruby syntax, UTF-8, as tokenizers' SysRegex); NULL with err set. */
tk_regex *tk_regex_new(const char *pattern, char *err, size_t errlen);
void tk_regex_free(tk_regex *re);

/* A string-or-regex pattern of Replace and Split: a literal code-point string, or a regex. */
typedef struct tk_pattern {
    uint32_t *lit;   /* literal code points (String pattern), NULL for a regex */
    size_t n_lit;
    tk_regex *re;
} tk_pattern;

/* A match list over chars [b, e): spans in order, every char covered once; is_match per span
 * (tokenizers' Pattern::find_matches). */
typedef struct tk_match {
    uint32_t begin, end;
    uint8_t is_match;
} tk_match;

typedef struct tk_matches {
    tk_match *v;
    size_t n, cap;
} tk_matches;

/* Appends the matches of p over chars [b, e) of text to out (cleared first); an empty range
 * gives one empty non-match, as in tokenizers. 0 or -1 (out of memory, regex failure). */
int tk_pattern_find(const tk_pattern *p, const tk_char *text, uint32_t b, uint32_t e,
                    tk_matches *out);
void tk_pattern_free(tk_pattern *p);

/* ---- Precompiled normalizer (precompiled.c): SentencePiece's compiled charsmap ---- */

/* The charsmap: units is a Darts-clone double-array trie over UTF-8 bytes whose leaves point
 * into blob, NUL-terminated replacement strings (a NUL is appended past the end so every
 * offset inside blob ends in one). */
typedef struct tk_charsmap {
    uint32_t *units;
    size_t n_units;
    char *blob;
    size_t blob_len;
    const char *ascii[128]; /* the lookup of each one-byte char, done once at load */
} tk_charsmap;

/* Decodes the base64 precompiled_charsmap; 0, or -1 with err naming what is wrong. */
int tk_charsmap_parse(tk_charsmap *m, const char *base64, size_t len, char *err, size_t errlen);
/* The replacement of the shortest key that prefixes s[0..n) (NUL-terminated), or NULL. */
const char *tk_charsmap_lookup(const tk_charsmap *m, const char *s, size_t n);
/* Applies the charsmap the way tokenizers does (per grapheme cluster); text -> out. */
int tk_charsmap_apply(const tk_charsmap *m, const tk_chars *text, tk_chars *out);
void tk_charsmap_free(tk_charsmap *m);

/* One step; a Sequence normalizer is a list of steps. */
typedef struct tk_norm_step {
    tk_norm_kind kind;
    /* BertNormalizer */
    int clean_text, handle_chinese, strip_accents, lowercase;
    /* Strip */
    int strip_left, strip_right;
    /* Precompiled */
    tk_charsmap *charsmap;
    /* Replace: every match of pattern becomes content; Prepend: content before the text */
    tk_pattern pattern;
    uint32_t *content;
    size_t n_content;
} tk_norm_step;

typedef struct tk_normalizer {
    tk_norm_step *steps;
    int n;
} tk_normalizer;

/* Normalizes in place (scratch is reused working space). Returns 0 or -1 on allocation failure. */
int tk_normalize(const tk_normalizer *nz, tk_chars *text, tk_chars *scratch);
/* Frees what each step owns, and the steps. */
void tk_normalizer_free(tk_normalizer *nz);
/* Unicode normalization form of in, appended to out, keeping alignments: every output char
 * takes the original range of the chars it was composed from. */
int tk_unorm(tk_norm_kind form, const tk_char *in, size_t n, tk_chars *out);

/* ---- pre-tokenizers (pretokenize.c, gpt2_split.c) ---- */

typedef enum tk_pre_kind {
    TK_PRE_BERT,
    TK_PRE_BYTELEVEL,
    TK_PRE_WHITESPACE,
    TK_PRE_WHITESPACE_SPLIT,
    TK_PRE_PUNCTUATION,
    TK_PRE_METASPACE,
    TK_PRE_DIGITS,
    TK_PRE_SPLIT,
} tk_pre_kind;

/* Metaspace's prepend_scheme. */
typedef enum tk_prepend_scheme {
    TK_PREPEND_ALWAYS,
    TK_PREPEND_FIRST, /* only the piece that starts the input */
    TK_PREPEND_NEVER,
} tk_prepend_scheme;

/* How a split keeps the delimiters it splits on (tokenizers' SplitDelimiterBehavior). */
typedef enum tk_split_behavior {
    TK_SPLIT_REMOVED,
    TK_SPLIT_ISOLATED,
    TK_SPLIT_MERGED_WITH_PREVIOUS,
    TK_SPLIT_MERGED_WITH_NEXT,
    TK_SPLIT_CONTIGUOUS,
} tk_split_behavior;

typedef struct tk_pre_step {
    tk_pre_kind kind;
    int add_prefix_space, use_regex; /* ByteLevel */
    tk_split_behavior behavior;      /* Punctuation, Split */
    uint32_t replacement;            /* Metaspace: the char spaces become (U+2581) */
    tk_prepend_scheme prepend;       /* Metaspace */
    int split;                       /* Metaspace: cut before every replacement char */
    int individual_digits;           /* Digits */
    tk_pattern pattern;              /* Split */
    int invert;                      /* Split: the pattern names what to keep */
} tk_pre_step;

typedef struct tk_pretokenizer {
    tk_pre_step *steps;
    int n;
} tk_pretokenizer;

void tk_pretokenizer_free(tk_pretokenizer *pt);

/* A word: chars [begin, end) of the working text. */
typedef struct tk_span {
    uint32_t begin, end;
} tk_span;

typedef struct tk_spans {
    tk_span *v;
    size_t n, cap;
} tk_spans;

int tk_spans_push(tk_spans *s, uint32_t begin, uint32_t end);

/* A piece of text after splitting out added tokens: plain text, or one added token. */
typedef struct tk_added_match {
    uint32_t begin, end; /* chars of the piece; for a match the whole stripped range */
    int32_t token;       /* index into added tokens, -1 for plain text */
} tk_added_match;

typedef struct tk_added_matches {
    tk_added_match *v;
    size_t n, cap;
} tk_added_matches;

/* Splits chars [begin, end) of text into words appended to out. A ByteLevel step with
 * add_prefix_space (or Metaspace's prepended replacement) appends a copy of the piece with
 * the new leading char to text (so text may grow; spans index the grown text). at_start: the
 * piece starts the input (Metaspace prepend_scheme "first"). tmp[0..1] are working space. */
int tk_pretokenize(const tk_pretokenizer *pt, int add_prefix_space_override, int at_start,
                   tk_chars *text, uint32_t begin, uint32_t end, tk_spans *out, tk_spans tmp[2]);
/* Splits [b, e) by a match list as tokenizers' SplitDelimiterBehavior says (invert: the
 * matches are what is kept apart, the rest the delimiters), appending non-empty spans. */
int tk_split_matches(const tk_matches *m, tk_split_behavior behavior, int invert, tk_spans *out);
/* Metaspace on chars [b, e): spaces become the replacement in place; with a prepend, the
 * piece is copied after a new replacement char at the end of text. The result is chars
 * [*nb, *ne). */
int tk_metaspace(const tk_pre_step *st, int first, tk_chars *text, uint32_t b, uint32_t e,
                 uint32_t *nb, uint32_t *ne);
/* The GPT-2 pattern  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * over chars [begin, end), appending one span per match. */
int tk_gpt2_split(const tk_char *text, uint32_t begin, uint32_t end, tk_spans *out);

/* ---- models (wordpiece.c, bpe.c) ---- */

/* A byte trie for greedy longest-match: node 0 is the root; edges live in a hash table
 * keyed by (node << 8 | byte). */
typedef struct tk_trie {
    uint64_t *edge_key; /* cap: (node << 8 | byte) + 1, 0 = empty */
    uint32_t *edge_child;
    uint32_t edge_cap, edge_n;
    int32_t *node_id;   /* n_nodes: token id ending here or -1 */
    uint32_t n_nodes, node_cap;
    uint32_t root_child[256]; /* direct table for the root's edges, 0 = none */
} tk_trie;

int tk_trie_insert(tk_trie *t, const char *key, size_t len, int32_t id);
/* The child of node along byte b, or 0 (none; the root is node 0 and never a child). Inline:
 * the Unigram lattice takes one step per byte of every piece it tries. */
static inline uint32_t tk_trie_child(const tk_trie *t, uint32_t node, unsigned char b)
{
    if (node == 0)
        return t->root_child[b];
    if (!t->edge_cap)
        return 0;
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    uint32_t s = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (t->edge_cap - 1);
    for (;;) {
        uint64_t k = t->edge_key[s];
        if (k == key)
            return t->edge_child[s];
        if (k == 0)
            return 0;
        s = (s + 1) & (t->edge_cap - 1);
    }
}
/* Longest key that prefixes s[0..n): returns its byte length (0 = none) and sets *id. */
size_t tk_trie_longest(const tk_trie *t, const char *s, size_t n, int32_t *id);
void tk_trie_free(tk_trie *t);

typedef struct tk_wordpiece {
    char *unk_token;
    int32_t unk_id;
    char *prefix; /* continuing_subword_prefix, "##" */
    int max_chars;
    tk_trie start_trie; /* tokens that may start a word */
    tk_trie cont_trie;  /* tokens with the prefix, keyed without it */
} tk_wordpiece;

/* One merge: the pair's rank and the id of the merged token. */
typedef struct tk_merge {
    uint64_t pair; /* (left id << 32 | right id) + 1, 0 = empty slot */
    uint32_t rank;
    int32_t new_id;
} tk_merge;

/* A token the model or the added-token matcher produced. start/end: original byte range.
 * value_off/value_len: for added tokens (and unknown Unigram pieces) the matched text in the
 * encoding's string arena (value_len -1: the vocabulary string). */
typedef struct tk_token {
    int32_t id;
    uint32_t start, end;
    uint32_t value_off;
    int32_t value_len;
    uint8_t special;
} tk_token;

typedef struct tk_tokens {
    tk_token *v;
    size_t n, cap;
} tk_tokens;

int tk_tokens_push(tk_tokens *t, int32_t id, uint32_t start, uint32_t end, uint8_t special);

/* ---- word cache (word_cache.c): word bytes -> its tokens, shared by all threads ---- */

/* A cached word: its tokens and each token's byte length in the word. */
typedef struct tk_word_cache_entry {
    uint64_t hash;
    char *word;
    uint32_t word_len;
    uint32_t n;
    int32_t *ids;
    uint32_t *lens;
} tk_word_cache_entry;

/* One shard: open addressing over `slots`, at most half full (then emptied), guarded by its
 * own lock so threads rarely wait for each other. */
enum { TK_WORD_CACHE_SHARDS = 16, TK_WORD_CACHE_SLOTS = 2048, TK_WORD_CACHE_MAX_WORD = 128 };
typedef struct tk_word_cache_shard {
    pthread_mutex_t lock;
    tk_word_cache_entry *slots; /* TK_WORD_CACHE_SLOTS entries, word NULL = empty */
    uint32_t n;
} tk_word_cache_shard;

typedef struct tk_word_cache {
    tk_word_cache_shard shards[TK_WORD_CACHE_SHARDS]; /* a word's hash picks its shard */
    int ready;
} tk_word_cache;

int tk_word_cache_init(tk_word_cache *c);
void tk_word_cache_free(tk_word_cache *c);
/* If word (len bytes, hash h) is cached, appends its n tokens to out: pieces of lens[i]
 * bytes, start/end char indices via byte_char; returns 1 (*err -1 on allocation failure). */
int tk_word_cache_get(tk_word_cache *c, uint64_t h, const char *word, uint32_t len,
                      const uint32_t *byte_char, tk_tokens *out, int *err);
/* Remembers word -> (ids, lens); skipped silently when memory is short. */
void tk_word_cache_put(tk_word_cache *c, uint64_t h, const char *word, uint32_t len,
                       const int32_t *ids, const uint32_t *lens, uint32_t n);
/* Appends n tokens that split the word's len bytes into pieces of lens[i] bytes (a zero-length
 * piece takes the char where it stands). */
int tk_word_pieces_emit(tk_tokens *out, const uint32_t *byte_char, size_t len, const int32_t *ids,
                        const uint32_t *lens, uint32_t n);

typedef struct tk_bpe {
    const tk_strmap *vocab; /* the tokenizer's vocabulary */
    char *unk_token;
    int32_t unk_id;
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix (NULL = none) */
    int fuse_unk, byte_fallback, ignore_merges;
    int byte_level;         /* words arrive as raw bytes; vocab_raw holds the tokens' bytes */
    tk_strmap vocab_raw;    /* byte-level: raw bytes of each token -> id */
    int32_t byte_id[256];   /* byte-level: id of each single byte, -1 if none */
    int32_t byte_fallback_id[256]; /* ids of "<0xXX>" tokens, -1 if none */
    tk_merge *merges;       /* open addressing, merge_cap slots */
    uint32_t merge_cap, n_merges;
    tk_word_cache cache;
} tk_bpe;

/* The Unigram model (unigram.c): pieces with log-probability scores, the best segmentation
 * of each word by Viterbi over its bytes, as tokenizers' Unigram::encode_optimized. */
typedef struct tk_unigram {
    char **pieces;        /* n: the piece of each id (owned) */
    double *scores;       /* n: as tokenizers' JSON reader reads them (json_number.c) */
    int32_t n;
    tk_trie trie;         /* piece bytes -> id (a piece listed twice: the later id) */
    int32_t unk_id;       /* -1: none */
    int byte_fallback, fuse_unk;
    double unk_score;     /* min(scores) - 10, the score of an unknown code point */
    int32_t byte_id[256]; /* byte_fallback: the id of "<0xHH>", -1 if missing */
    tk_word_cache cache;  /* words whose pieces are all in the vocab */
} tk_unigram;

/* Reads the number whose text starts at s (JSON syntax) the way serde_json does without its
 * float_roundtrip feature: all digits as one u64 (digits past 19 dropped), converted to the
 * nearest double, then one multiply or divide by a power of ten (each step rounded). Sets
 * *end past the number; 0, or -1 (not a number, or out of range). */
int tk_json_number_serde(const char *s, const char **end, double *out);
/* Reads the scores of model.vocab (a list of [piece, score]) from the raw tokenizer.json
 * text with tk_json_number_serde; n entries expected. 0, or -1 with err set. */
int tk_unigram_raw_scores(const char *json, size_t len, double *scores, size_t n, char *err,
                          size_t errlen);


/* Working space of one encode call; grows as needed, freed by tk_work_free. */
typedef struct tk_work {
    tk_chars text;       /* decoded input */
    tk_chars norm;       /* one normalized piece (and its prefixed copies) */
    tk_chars scratch;
    tk_spans words, tmp_spans[2];
    tk_added_matches raw_pieces, norm_pieces;
    char *bytes;         /* UTF-8 of the current word */
    uint32_t *byte_char; /* for each byte of bytes: index of its char in the word */
    size_t bytes_cap;
    /* BPE */
    void *bpe_sym;
    size_t bpe_sym_cap;
    void *bpe_heap;
    size_t bpe_heap_cap;
    uint32_t *merge_out;
    size_t merge_out_cap;
    /* Unigram: Viterbi lattice, one node per byte position */
    void *uni_nodes;
    size_t uni_cap;
    /* added token strings */
    char *arena;
    size_t arena_len, arena_cap;
    int want_strings;
} tk_work;

void tk_work_free(tk_work *w);
/* Saves n bytes in the work arena as the token's string (when strings are wanted). */
int tk_work_save_value(tk_work *w, tk_token *tok, const char *s, size_t n);
int tk_work_bytes(tk_work *w, size_t n);

/* Tokenizes one word: its UTF-8 (raw bytes for byte-level BPE) in w->bytes[0..len), with
 * w->byte_char[i] the index (within the word) of the char byte i belongs to; nchars chars.
 * Appends tokens whose start/end are char indices within the word [first, last+1).
 * Returns 0, -1 on allocation failure, -2 when the unknown token is needed but missing. */
int tk_wordpiece_word(const tk_wordpiece *wp, tk_work *w, size_t len, size_t nchars,
                      tk_tokens *out);
int tk_bpe_word(tk_bpe *bpe, tk_work *w, size_t len, tk_tokens *out);
/* Unigram: the word's best segmentation; an unknown piece's string is saved as the token's
 * value (tokenizers reports the text). -2 when an unknown token is needed and unk_id is -1. */
int tk_unigram_word(const tk_unigram *u, const tk_strmap *vocab, tk_work *w, size_t len,
                    tk_tokens *out);
/* Finishes a loaded Unigram: trie, unk score, byte ids. 0 or -1 with err set. */
int tk_unigram_build(tk_unigram *u, char *err, size_t errlen);
void tk_unigram_free(tk_unigram *u);
void tk_wordpiece_free(tk_wordpiece *wp);
void tk_bpe_free(tk_bpe *bpe);
/* Adds merge (a, b) -> new_id with the given rank; a pair listed again takes the later rank. */
int tk_bpe_add_merge(tk_bpe *bpe, int32_t a, int32_t b, uint32_t rank, int32_t new_id);
const tk_merge *tk_bpe_find_merge(const tk_bpe *bpe, int32_t a, int32_t b);

/* ---- byte-level mapping (bytelevel.c) ---- */

/* GPT-2's map from printable code points back to bytes (-1: not a byte char). */
int tk_cp_to_byte(uint32_t cp);
/* Converts a byte-level vocabulary string to the raw bytes it stands for; -1 if a char is
 * outside the byte alphabet. out needs strlen(s) bytes. Returns the byte count. */
int tk_bytelevel_to_raw(const char *s, size_t len, char *out);

/* ---- added tokens (added_tokens.c) ---- */

typedef struct tk_added_token {
    char *content;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tk_added_token;

/* A code-point trie for leftmost-longest matching of added tokens. */
typedef struct tk_cp_trie_node {
    uint32_t *cps;      /* sorted edge labels */
    uint32_t *children;
    uint32_t n, cap;
    int32_t token;      /* index into added tokens ending here, or -1 */
} tk_cp_trie_node;

typedef struct tk_cp_trie {
    tk_cp_trie_node *nodes;
    uint32_t n, cap;
    uint64_t first_mask[16]; /* bit (cp & 1023): some token starts with such a char */
} tk_cp_trie;

typedef struct tk_added {
    tk_added_token *tokens;
    int n, cap;
    tk_cp_trie raw_trie;  /* normalized=false tokens, matched on the original text */
    tk_cp_trie norm_trie; /* normalized=true tokens (content normalized), on normalized text */
    tk_strmap by_content; /* content -> id (the first token with a content wins) */
    uint8_t *special_id;  /* n_special_id flags: id is a special added token */
    int32_t n_special_id;
} tk_added;

int tk_added_add(tk_added *a, const char *content, int32_t id, int special, int lstrip,
                 int rstrip, int single_word, int normalized);
/* Builds both tries; normalized contents go through nz first. */
int tk_added_build(tk_added *a, const tk_normalizer *nz);

/* Splits chars [begin, end) of text into plain pieces and added-token matches (leftmost-
 * longest, with the lstrip/rstrip/single_word rules), appended to out in order. normalized
 * picks the trie: 0 for the raw text, 1 for normalized text. */
int tk_added_split(const tk_added *a, int normalized, const tk_char *text, uint32_t begin,
                   uint32_t end, tk_added_matches *out);
void tk_added_free(tk_added *a);
int tk_added_is_special_id(const tk_added *a, int32_t id);
/* The id of the added token with this content, or -1. */
int32_t tk_added_id(const tk_added *a, const char *content);

/* ---- post-processor and decoder ---- */

typedef struct tk_post {
    int32_t *prefix_ids, *suffix_ids; /* tokens before and after the sequence */
    char **prefix_tokens, **suffix_tokens;
    int n_prefix, n_suffix;
    int trim_offsets;                 /* ByteLevel/Roberta: offsets exclude leading spaces */
} tk_post;

int tk_post_add(tk_post *p, int suffix, int32_t id, const char *token);
void tk_post_free(tk_post *p);

typedef enum tk_decoder_kind {
    TK_DEC_NONE,      /* tokens joined with spaces */
    TK_DEC_WORDPIECE,
    TK_DEC_BYTELEVEL,
    TK_DEC_PIECES,    /* ByteFallback and/or Metaspace: tokens concatenated */
} tk_decoder_kind;

typedef struct tk_decoder {
    tk_decoder_kind kind;
    char *prefix; /* WordPiece */
    int cleanup;
    int byte_fallback;          /* pieces: runs of <0xHH> tokens become their bytes */
    int metaspace;              /* pieces: the replacement char becomes a space */
    uint32_t replacement;       /* metaspace */
    tk_prepend_scheme prepend;  /* metaspace: not never drops the first token's leading space */
} tk_decoder;

/* ---- the tokenizer ---- */

typedef enum tk_model_kind { TK_MODEL_WORDPIECE, TK_MODEL_BPE, TK_MODEL_UNIGRAM } tk_model_kind;

struct vkb_tokenizer {
    tk_model_kind kind;
    tk_strmap vocab;       /* model vocabulary string -> id */
    char **id_to_token;    /* n_ids entries, NULL for holes; model vocab and added tokens */
    int32_t n_ids;
    tk_normalizer normalizer;
    tk_pretokenizer pre;
    int add_prefix_space;  /* -1: as each ByteLevel step says; 0/1: forced */
    tk_wordpiece wordpiece;
    tk_bpe bpe;
    tk_unigram unigram;
    tk_added added;
    tk_post post;
    tk_decoder decoder;
    int32_t pad_id;
};

/* load_json.c / load_legacy.c: fill t (already zeroed and initialised by tokenizer.c). */
int tk_load_json(vkb_tokenizer *t, const char *path, char *err, size_t errlen);

int tk_load_vocab_txt(vkb_tokenizer *t, const char *vocab_path, const char *config_path,
                      char *err, size_t errlen);
int tk_load_vocab_json(vkb_tokenizer *t, const char *vocab_path, const char *merges_path,
                       const char *config_path, char *err, size_t errlen);

/* tokenizer.c: shared helpers for the loaders. */
int tk_set_id_token(vkb_tokenizer *t, int32_t id, const char *token);
/* Finishes loading: byte-level raw vocab, added-token tries, id table checks. */
int tk_finish_load(vkb_tokenizer *t, char *err, size_t errlen);
void tk_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads a whole file (NUL-terminated); NULL with err set on failure. */
char *tk_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* encode.c: the pipeline up to (not including) the post-processor. */
int tk_encode_tokens(const vkb_tokenizer *t, tk_work *w, const char *text, size_t len,
                     tk_tokens *out);

#endif

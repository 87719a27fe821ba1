/*
 * vkb_tokenizer.h — the one public header of tokenizer/: WordPiece, byte-level BPE and
 * Unigram (SentencePiece) tokenizers loaded from the files Hugging Face publishes, producing the ids the Rust
 * `tokenizers` library produces.
 *
 * A loaded vkb_tokenizer is immutable and safe to use from many threads at once
 * (internal caches are guarded or per-thread).
 */
#ifndef VKB_TOKENIZER_H
#define VKB_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkb_tokenizer vkb_tokenizer;

typedef struct vkb_tokenizer_options {
    /* -1: as the files say; 0/1: force ByteLevel add_prefix_space off/on (BERTScore turns it
     * on for RoBERTa-family models). Ignored by WordPiece tokenizers. */
    int add_prefix_space;
} vkb_tokenizer_options;

/* path: a tokenizer.json, a vocab.txt, a folder holding tokenizer.json (preferred) or
 * vocab.txt (+ tokenizer_config.json do_lower_case), or vocab.json + merges.txt.
 * opts may be NULL. On failure returns a negative code and writes one line to err
 * naming the file or the unsupported component. */
int vkb_tokenizer_load(const char *path, const vkb_tokenizer_options *opts,
                       vkb_tokenizer **out, char *err, size_t errlen);
void vkb_tokenizer_free(vkb_tokenizer *t);

typedef struct vkb_encoding {
    int32_t *ids;          /* n token ids */
    uint8_t *special_mask; /* n: 1 for tokens added by the post-processor or special tokens */
    uint32_t *offsets;     /* 2n: byte [start, end) into the original text; 0,0 for added */
    int n;
} vkb_encoding;

/* Encodes len bytes of text (any bytes: invalid UTF-8 becomes U+FFFD per byte).
 * add_special: 1 to apply the post-processor ([CLS] .. [SEP], <s> .. </s>).
 * max_len: 0 for no truncation; else truncate to max_len tokens counting the specials,
 * keeping the closing special token. Fills *out (free with vkb_encoding_free).
 * Returns 0, or a negative errno: -EINVAL for bad arguments (max_len smaller than the
 * special tokens), -ENOENT if the model needs its unknown token and the vocabulary lacks it,
 * -ENOMEM, -E2BIG for texts of 2 GiB or more. Offsets of byte-level tokens leave out the
 * space a token starts with (Hugging Face's trim_offsets). */
int vkb_tokenizer_encode(const vkb_tokenizer *t, const char *text, size_t len, int add_special,
                         int max_len, vkb_encoding *out);
void vkb_encoding_free(vkb_encoding *e);

/* As vkb_tokenizer_encode, and *tokens receives the n token strings as Hugging Face reports
 * them: the vocabulary string, or for an added token matched in the text the text it matched
 * (" <mask>" when lstrip took the space before it). Free with vkb_tokens_free(*tokens, n). */
int vkb_tokenizer_encode_tokens(const vkb_tokenizer *t, const char *text, size_t len,
                                int add_special, int max_len, vkb_encoding *out, char ***tokens);
void vkb_tokens_free(char **tokens, int n);
/* As vkb_tokenizer_encode_tokens, and *lens receives each token string's byte length: the
 * string of an unknown Unigram piece is the text it covers, which may hold U+0000, so it ends
 * at lens[i] (a NUL follows it there). Free with free(*lens) and vkb_tokens_free. */
int vkb_tokenizer_encode_tokens_len(const vkb_tokenizer *t, const char *text, size_t len,
                                    int add_special, int max_len, vkb_encoding *out,
                                    char ***tokens, size_t **lens);

/* A padded batch; every array is row-major (batch, len). */
typedef struct vkb_batch_encoding {
    int32_t *ids;            /* (batch, len); padding holds the pad id (0 if there is none) */
    uint8_t *attention_mask; /* (batch, len): 1 for real tokens, 0 for padding */
    uint8_t *special_mask;   /* (batch, len): 1 for special tokens and for padding */
    uint32_t *offsets;       /* (batch, len, 2): byte [start, end) into each text; 0,0 padding */
    int *lengths;            /* batch: real tokens in each row */
    int batch, len;
} vkb_batch_encoding;

/* Encodes n texts (lens[i] bytes each) as vkb_tokenizer_encode does, then pads on the right:
 * pad_to 0 pads to the longest row; pad_to > 0 truncates every row to pad_to tokens (keeping
 * the closing special token, like max_len) and pads to exactly pad_to. max_len 0: no limit.
 * Free with vkb_batch_encoding_free. Returns 0 or a negative code. */
int vkb_tokenizer_encode_batch(const vkb_tokenizer *t, const char *const *texts, const size_t *lens,
                               int n, int add_special, int max_len, int pad_to,
                               vkb_batch_encoding *out);
void vkb_batch_encoding_free(vkb_batch_encoding *b);

/* Vocabulary lookups. id_to_token returns NULL for an unknown id; token_to_id -1. */
const char *vkb_tokenizer_id_to_token(const vkb_tokenizer *t, int32_t id);
int32_t vkb_tokenizer_token_to_id(const vkb_tokenizer *t, const char *token);
int vkb_tokenizer_vocab_size(const vkb_tokenizer *t);
/* The ids the post-processor adds: CLS/BOS first, SEP/EOS last; and the padding id.
 * -1 if the tokenizer has none. */
int32_t vkb_tokenizer_cls_id(const vkb_tokenizer *t);
int32_t vkb_tokenizer_sep_id(const vkb_tokenizer *t);
int32_t vkb_tokenizer_pad_id(const vkb_tokenizer *t);
/* "wordpiece", "bpe" or "unigram". */
const char *vkb_tokenizer_kind(const vkb_tokenizer *t);

/* Decodes ids back to text (special tokens skipped if skip_special). malloc'd, caller frees. */
char *vkb_tokenizer_decode(const vkb_tokenizer *t, const int32_t *ids, int n, int skip_special);

#ifdef __cplusplus
}
#endif
#endif

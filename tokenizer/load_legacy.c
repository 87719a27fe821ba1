/*
 * load_legacy.c — the older Hugging Face tokenizer files, set up the way transformers'
 * converters build the equivalent tokenizer.json:
 *
 *  - vocab.txt (+ tokenizer_config.json): BERT. BertNormalizer (do_lower_case,
 *    tokenize_chinese_chars, strip_accents), BertPreTokenizer, WordPiece "##" with 100 chars,
 *    [CLS] .. [SEP], the special tokens matched literally (not normalized).
 *  - vocab.json + merges.txt (+ tokenizer_config.json): RoBERTa / GPT-2. ByteLevel
 *    (add_prefix_space from the config, default false), byte-level BPE, <s> .. </s> unless the
 *    config names a GPT-2 tokenizer; <mask> takes the space before it (lstrip).
 */
#include "tk_json.h"

#include <stdlib.h>
#include <string.h>

/* The config's value for a special token (a string or {"content": ...}), else def. */
static const char *token_name(json_t *cfg, const char *key, const char *def)
{
    json_t *v = json_object_get(cfg, key);
    if (json_is_string(v))
        return json_string_value(v);
    json_t *content = json_object_get(v, "content");
    return json_is_string(content) ? json_string_value(content) : def;
}

/* The config file if it exists and parses; NULL otherwise (defaults apply). */
static json_t *load_config(const char *path)
{
    json_t *cfg = path ? json_load_file(path, 0, NULL) : NULL;
    if (cfg && !json_is_object(cfg)) {
        json_decref(cfg);
        cfg = NULL;
    }
    return cfg;
}

static int add_special(vkb_tokenizer *t, const char *name, int lstrip)
{
    int32_t id = name ? tk_strmap_get(&t->vocab, name, strlen(name)) : -1;
    if (id < 0)
        return 0;
    for (int i = 0; i < t->added.n; i++)
        if (!strcmp(t->added.tokens[i].content, name))
            return 0;
    return tk_added_add(&t->added, name, id, 1, lstrip, 0, 0, 0);
}

/* The special tokens of an older-format tokenizer, as the config names them (or the format's
 * defaults); NULL for one the format does not have (BERT has no bos/eos). */
typedef struct specials {
    const char *bos, *eos, *unk, *cls, *sep, *pad, *mask;
} specials;

/* Makes the specials that are in the vocabulary added tokens, in the order transformers
 * registers them (bos, pad, eos, unk, cls, sep, mask), the mask taking the space before it when
 * mask_lstrip; wraps every sequence in cls .. sep when wrap and both are in the vocabulary;
 * sets the pad id (-1 when pad is not in the vocabulary). 0 or -1 (out of memory). */
static int add_specials(vkb_tokenizer *t, const specials *s, int mask_lstrip, int wrap)
{
    const char *in_order[] = {s->bos, s->pad, s->eos, s->unk, s->cls, s->sep};
    for (size_t i = 0; i < sizeof(in_order) / sizeof(in_order[0]); i++)
        if (add_special(t, in_order[i], 0))
            return -1;
    if (add_special(t, s->mask, mask_lstrip))
        return -1;
    int32_t cls_id = tk_strmap_get(&t->vocab, s->cls, strlen(s->cls));
    int32_t sep_id = tk_strmap_get(&t->vocab, s->sep, strlen(s->sep));
    if (wrap && cls_id >= 0 && sep_id >= 0 &&
        (tk_post_add(&t->post, 0, cls_id, s->cls) || tk_post_add(&t->post, 1, sep_id, s->sep)))
        return -1;
    t->pad_id = tk_strmap_get(&t->vocab, s->pad, strlen(s->pad));
    return 0;
}

static int add_step(vkb_tokenizer *t, tk_norm_step *norm, tk_pre_step *pre)
{
    if (norm) {
        t->normalizer.steps = malloc(sizeof(tk_norm_step));
        if (!t->normalizer.steps)
            return -1;
        t->normalizer.steps[0] = *norm;
        t->normalizer.n = 1;
    }
    t->pre.steps = malloc(sizeof(tk_pre_step));
    if (!t->pre.steps)
        return -1;
    t->pre.steps[0] = *pre;
    t->pre.n = 1;
    return 0;
}

/* Removes trailing Unicode whitespace from s[0..len) (Rust's trim_end); returns the length. */
static size_t trim_end(const char *s, size_t len)
{
    while (len > 0) {
        size_t b = len - 1;
        while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80)
            b--;
        uint32_t cp;
        if (tk_utf8_next(s + b, len - b, &cp) != (int)(len - b) || !tk_is_whitespace(cp))
            break;
        len = b;
    }
    return len;
}

int tk_load_vocab_txt(vkb_tokenizer *t, const char *vocab_path, const char *config_path,
                      char *err, size_t errlen)
{
    json_t *cfg = load_config(config_path);
    size_t len;
    char *text = tk_read_file(vocab_path, &len, err, errlen);
    int rc = -1;
    if (!text)
        goto cleanup;
    /* One token per line, id = line number. */
    int32_t id = 0;
    for (size_t i = 0; i < len; id++) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = trim_end(text + i, end - i);
        if (id >= TK_MAX_IDS || tk_strmap_put(&t->vocab, text + i, n, id)) {
            tk_errf(err, errlen, "%s: too many tokens or out of memory", vocab_path);
            goto cleanup;
        }
        i = end + 1;
    }
    specials sp = {.unk = token_name(cfg, "unk_token", "[UNK]"),
                   .cls = token_name(cfg, "cls_token", "[CLS]"),
                   .sep = token_name(cfg, "sep_token", "[SEP]"),
                   .pad = token_name(cfg, "pad_token", "[PAD]"),
                   .mask = token_name(cfg, "mask_token", "[MASK]")};
    t->kind = TK_MODEL_WORDPIECE;
    t->wordpiece.max_chars = 100;
    t->wordpiece.unk_token = strdup(sp.unk);
    t->wordpiece.prefix = strdup("##");
    t->decoder = (tk_decoder){.kind = TK_DEC_WORDPIECE, .prefix = strdup("##"), .cleanup = 1};
    int lower = tk_json_bool(cfg, "do_lower_case", 1);
    tk_norm_step norm = {.kind = TK_NORM_BERT,
                         .clean_text = 1,
                         .handle_chinese = tk_json_bool(cfg, "tokenize_chinese_chars", 1),
                         .strip_accents = tk_json_bool(cfg, "strip_accents", lower),
                         .lowercase = lower};
    tk_pre_step pre = {.kind = TK_PRE_BERT};
    if (!t->wordpiece.unk_token || !t->wordpiece.prefix || !t->decoder.prefix ||
        add_step(t, &norm, &pre) || add_specials(t, &sp, 0, 1))
        goto oom;
    rc = 0;
    goto cleanup;
oom:
    tk_errf(err, errlen, "%s: out of memory", vocab_path);
cleanup:
    free(text);
    json_decref(cfg);
    return rc;
}

static int load_merges(vkb_tokenizer *t, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = tk_read_file(path, &len, err, errlen);
    if (!text)
        return -1;
    int rc = -1;
    uint32_t rank = 0;
    size_t line_no = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - i;
        if (n && text[i + n - 1] == '\r')
            n--;
        char *line = text + i;
        i = end + 1;
        line_no++;
        if (n == 0 || (n >= 8 && !memcmp(line, "#version", 8)))
            continue;
        char *space = memchr(line, ' ', n);
        if (!space || memchr(space + 1, ' ', n - (size_t)(space + 1 - line))) {
            tk_errf(err, errlen, "%s:%zu: a merge is two tokens separated by one space", path, line_no);
            goto cleanup;
        }
        size_t la = (size_t)(space - line), lb = n - la - 1;
        int32_t a = tk_strmap_get(&t->vocab, line, la);
        int32_t b = tk_strmap_get(&t->vocab, space + 1, lb);
        /* a and b sit back to back once the space is gone */
        memmove(space, space + 1, lb);
        int32_t ab = tk_strmap_get(&t->vocab, line, la + lb);
        if (a < 0 || b < 0 || ab < 0) {
            tk_errf(err, errlen, "%s:%zu: merge uses or produces a token missing from vocab.json", path, line_no);
            goto cleanup;
        }
        if (tk_bpe_add_merge(&t->bpe, a, b, rank++, ab)) {
            tk_errf(err, errlen, "%s: out of memory", path);
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    free(text);
    return rc;
}

int tk_load_vocab_json(vkb_tokenizer *t, const char *vocab_path, const char *merges_path,
                       const char *config_path, char *err, size_t errlen)
{
    json_t *cfg = load_config(config_path);
    json_error_t jerr;
    json_t *vocab = json_load_file(vocab_path, 0, &jerr);
    int rc = -1;
    if (!json_is_object(vocab)) {
        tk_errf(err, errlen, "%s:%d: %s", vocab_path, jerr.line, vocab ? "not an object" : jerr.text);
        goto cleanup;
    }
    if (tk_json_vocab(&t->vocab, vocab, vocab_path, err, errlen))
        goto cleanup;
    t->kind = TK_MODEL_BPE;
    if (load_merges(t, merges_path, err, errlen))
        goto cleanup;
    const char *klass = json_string_value(json_object_get(cfg, "tokenizer_class"));
    int gpt2 = klass && strstr(klass, "GPT2");
    const char *dflt_bos = gpt2 ? "<|endoftext|>" : "<s>";
    const char *dflt_eos = gpt2 ? "<|endoftext|>" : "</s>";
    specials sp = {.bos = token_name(cfg, "bos_token", dflt_bos),
                   .eos = token_name(cfg, "eos_token", dflt_eos),
                   .unk = token_name(cfg, "unk_token", gpt2 ? "<|endoftext|>" : "<unk>"),
                   .pad = token_name(cfg, "pad_token", "<pad>"),
                   .mask = token_name(cfg, "mask_token", "<mask>")};
    sp.cls = token_name(cfg, "cls_token", sp.bos);
    sp.sep = token_name(cfg, "sep_token", sp.eos);
    tk_pre_step pre = {.kind = TK_PRE_BYTELEVEL,
                       .add_prefix_space = tk_json_bool(cfg, "add_prefix_space", 0),
                       .use_regex = 1};
    t->decoder.kind = TK_DEC_BYTELEVEL;
    t->post.trim_offsets = 1;
    if (add_step(t, NULL, &pre) || add_specials(t, &sp, 1, !gpt2))
        goto oom;
    rc = 0;
    goto cleanup;
oom:
    tk_errf(err, errlen, "%s: out of memory", vocab_path);
cleanup:
    json_decref(vocab);
    json_decref(cfg);
    return rc;
}

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
#include "tk_internal.h"

#include <jansson.h>
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

static int cfg_bool(json_t *cfg, const char *key, int def)
{
    json_t *v = json_object_get(cfg, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
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
    int32_t id = tk_strmap_get(&t->vocab, name, strlen(name));
    if (id < 0)
        return 0;
    for (int i = 0; i < t->added.n; i++)
        if (!strcmp(t->added.tokens[i].content, name))
            return 0;
    return tk_added_add(&t->added, name, id, 1, lstrip, 0, 0, 0);
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
    const char *unk = token_name(cfg, "unk_token", "[UNK]");
    const char *cls = token_name(cfg, "cls_token", "[CLS]");
    const char *sep = token_name(cfg, "sep_token", "[SEP]");
    const char *pad = token_name(cfg, "pad_token", "[PAD]");
    const char *mask = token_name(cfg, "mask_token", "[MASK]");
    t->kind = TK_MODEL_WORDPIECE;
    t->wordpiece.max_chars = 100;
    t->wordpiece.unk_token = strdup(unk);
    t->wordpiece.prefix = strdup("##");
    t->decoder = (tk_decoder){TK_DEC_WORDPIECE, strdup("##"), 1};
    int lower = cfg_bool(cfg, "do_lower_case", 1);
    tk_norm_step norm = {.kind = TK_NORM_BERT,
                         .clean_text = 1,
                         .handle_chinese = cfg_bool(cfg, "tokenize_chinese_chars", 1),
                         .strip_accents = cfg_bool(cfg, "strip_accents", lower),
                         .lowercase = lower};
    tk_pre_step pre = {.kind = TK_PRE_BERT};
    if (!t->wordpiece.unk_token || !t->wordpiece.prefix || !t->decoder.prefix ||
        add_step(t, &norm, &pre) || add_special(t, pad, 0) || add_special(t, unk, 0) ||
        add_special(t, cls, 0) || add_special(t, sep, 0) || add_special(t, mask, 0))
        goto oom;
    int32_t cls_id = tk_strmap_get(&t->vocab, cls, strlen(cls));
    int32_t sep_id = tk_strmap_get(&t->vocab, sep, strlen(sep));
    if (cls_id >= 0 && sep_id >= 0 &&
        (tk_post_add(&t->post, 0, cls_id, cls) || tk_post_add(&t->post, 1, sep_id, sep)))
        goto oom;
    t->pad_id = tk_strmap_get(&t->vocab, pad, strlen(pad));
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
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val)
    {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id >= TK_MAX_IDS) {
            tk_errf(err, errlen, "%s: entry '%s' has no valid id", vocab_path, key);
            goto cleanup;
        }
        if (tk_strmap_put(&t->vocab, key, strlen(key), (int32_t)id))
            goto oom;
    }
    t->kind = TK_MODEL_BPE;
    if (load_merges(t, merges_path, err, errlen))
        goto cleanup;
    const char *klass = json_string_value(json_object_get(cfg, "tokenizer_class"));
    int gpt2 = klass && strstr(klass, "GPT2");
    const char *dflt_bos = gpt2 ? "<|endoftext|>" : "<s>";
    const char *dflt_eos = gpt2 ? "<|endoftext|>" : "</s>";
    const char *bos = token_name(cfg, "bos_token", dflt_bos);
    const char *eos = token_name(cfg, "eos_token", dflt_eos);
    const char *cls = token_name(cfg, "cls_token", bos);
    const char *sep = token_name(cfg, "sep_token", eos);
    const char *unk = token_name(cfg, "unk_token", gpt2 ? "<|endoftext|>" : "<unk>");
    const char *pad = token_name(cfg, "pad_token", "<pad>");
    const char *mask = token_name(cfg, "mask_token", "<mask>");
    tk_pre_step pre = {.kind = TK_PRE_BYTELEVEL,
                       .add_prefix_space = cfg_bool(cfg, "add_prefix_space", 0),
                       .use_regex = 1};
    t->decoder.kind = TK_DEC_BYTELEVEL;
    t->post.trim_offsets = 1;
    if (add_step(t, NULL, &pre) || add_special(t, bos, 0) || add_special(t, pad, 0) ||
        add_special(t, eos, 0) || add_special(t, unk, 0) || add_special(t, cls, 0) ||
        add_special(t, sep, 0) || add_special(t, mask, 1))
        goto oom;
    int32_t cls_id = tk_strmap_get(&t->vocab, cls, strlen(cls));
    int32_t sep_id = tk_strmap_get(&t->vocab, sep, strlen(sep));
    if (!gpt2 && cls_id >= 0 && sep_id >= 0 &&
        (tk_post_add(&t->post, 0, cls_id, cls) || tk_post_add(&t->post, 1, sep_id, sep)))
        goto oom;
    t->pad_id = tk_strmap_get(&t->vocab, pad, strlen(pad));
    rc = 0;
    goto cleanup;
oom:
    tk_errf(err, errlen, "%s: out of memory", vocab_path);
cleanup:
    json_decref(vocab);
    json_decref(cfg);
    return rc;
}

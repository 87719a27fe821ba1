/*
 * model_tokenize.c — token ids exactly as sentence-transformers and bert_score make them:
 * Python str.strip() first, special tokens around, truncation that keeps the closing special.
 * sentence-transformers also lowercases (str.lower()) when sentence_bert_config.json says
 * do_lower_case; bert_score encodes byte-level BPE with add_prefix_space (m->tok_bs).
 */
#include "model_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The characters Python's str.isspace() accepts, which str.strip() removes at both ends. */
static int py_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Narrows [*s, *s + *len) to the text without leading and trailing Python whitespace.
 * Invalid UTF-8 counts as non-space (Python strings cannot hold it anyway). */
static void py_strip(const char **s, size_t *len)
{
    const uint8_t *p = (const uint8_t *)*s;
    size_t b = 0, e = *len;
    while (b < e) {
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + b, (utf8proc_ssize_t)(e - b), &c);
        if (k <= 0 || !py_space(c))
            break;
        b += (size_t)k;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && e - start < 4 && (p[start] & 0xC0) == 0x80)
            start--; /* back to the lead byte of the last character */
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + start, (utf8proc_ssize_t)(e - start), &c);
        if (k <= 0 || (size_t)k != e - start || !py_space(c))
            break;
        e = start;
    }
    *s += b;
    *len = e - b;
}

/* Python's str.lower(): per-character lowercase, with the one expansion Python does for
 * U+0130 (İ → i + combining dot). Invalid bytes pass through. Returns malloc'd text. */
static char *py_lower(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len * 2 + 1); /* İ (2 bytes) becomes 3; nothing else grows > 2x */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(len - i),
                                              &c);
        if (k <= 0) {
            out[o++] = s[i++];
            continue;
        }
        i += (size_t)k;
        if (c == 0x130) {
            o += (size_t)utf8proc_encode_char('i', (uint8_t *)out + o);
            o += (size_t)utf8proc_encode_char(0x307, (uint8_t *)out + o);
        } else {
            o += (size_t)utf8proc_encode_char(utf8proc_tolower(c), (uint8_t *)out + o);
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* Copies the ids out after checking they index the model's embedding table. */
static int take_ids(const vkb_model *m, const int32_t *src, int n, int32_t **ids, int *nout)
{
    for (int i = 0; i < n; i++)
        if (src[i] < 0 || src[i] >= m->cfg.vocab)
            return VKB_EINVAL;
    *ids = malloc(sizeof **ids * (size_t)(n ? n : 1));
    if (!*ids)
        return VKB_ENOMEM;
    memcpy(*ids, src, sizeof **ids * (size_t)n);
    *nout = n;
    return VKB_OK;
}

/* [CLS] [SEP]: what an empty text encodes to in both libraries. */
static int specials_only(const vkb_model *m, int32_t **ids, int *n)
{
    int32_t two[2] = {vkb_tokenizer_cls_id(m->tok), vkb_tokenizer_sep_id(m->tok)};
    return take_ids(m, two, 2, ids, n);
}

static int encode(const vkb_model *m, const vkb_tokenizer *tok, const char *text, size_t len,
                  int max_len, int32_t **ids, int *n)
{
    vkb_encoding enc;
    memset(&enc, 0, sizeof enc);
    int rc = vkb_tokenizer_encode(tok, text, len, 1, max_len, &enc);
    if (rc != 0) /* the tokenizer speaks errno */
        rc = rc == -ENOMEM ? VKB_ENOMEM : VKB_EINVAL;
    else
        rc = take_ids(m, enc.ids, enc.n, ids, n);
    vkb_encoding_free(&enc);
    return rc;
}

int model_prompt(const vkb_model *m, const char *prompt_name, const char *prompt,
                 const char **text, char *err, size_t errlen)
{
    const st_modules *sm = &m->st_mods;
    *text = "";
    if (prompt) {
        *text = prompt;
        return VKB_OK;
    }
    if (!prompt_name) {
        if (sm->default_prompt >= 0)
            *text = sm->prompt_texts[sm->default_prompt];
        return VKB_OK;
    }
    for (int i = 0; i < sm->n_prompts; i++)
        if (!strcmp(sm->prompt_names[i], prompt_name)) {
            *text = sm->prompt_texts[i];
            return VKB_OK;
        }
    char known[256] = "";
    size_t used = 0;
    for (int i = 0; i < sm->n_prompts && used + 2 < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 sm->prompt_names[i]);
    vkb_set_err(err, errlen, "unknown prompt_name '%.64s'; this model has: %s", prompt_name,
                known);
    return VKB_EINVAL;
}

int model_tokenize_embed(const vkb_model *m, const char *text, size_t len, int32_t **ids, int *n)
{
    return model_tokenize_embed_prompt(m, NULL, text, len, ids, n);
}

/* sentence-transformers puts the prompt directly in front of the raw text; strip, lower and
 * truncation then see the joined string (so the prompt counts against max_seq_length and a
 * long text loses its end). */
int model_tokenize_embed_prompt(const vkb_model *m, const char *prompt, const char *text,
                                size_t len, int32_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    if (!text && len)
        return VKB_EINVAL;
    if (!prompt) /* the model's default prompt, if any */
        model_prompt(m, NULL, NULL, &prompt, NULL, 0);
    if (*prompt) {
        size_t pl = strlen(prompt);
        char *joined = malloc(pl + len + 1);
        if (!joined)
            return VKB_ENOMEM;
        memcpy(joined, prompt, pl);
        if (len)
            memcpy(joined + pl, text, len);
        joined[pl + len] = 0;
        int rc = model_tokenize_embed_prompt(m, "", joined, pl + len, ids, n);
        free(joined);
        return rc;
    }
    py_strip(&text, &len);
    if (len == 0)
        return specials_only(m, ids, n);
    if (!m->cfg.lower_case)
        return encode(m, m->tok, text, len, m->cfg.max_seq_length, ids, n);
    size_t low_len;
    char *low = py_lower(text, len, &low_len);
    if (!low)
        return VKB_ENOMEM;
    int rc = encode(m, m->tok, low, low_len, m->cfg.max_seq_length, ids, n);
    free(low);
    return rc;
}

int model_tokenize_bertscore(const vkb_model *m, const char *text, size_t len, int32_t **ids,
                             int *n)
{
    *ids = NULL;
    *n = 0;
    if (!text && len)
        return VKB_EINVAL;
    py_strip(&text, &len);
    if (len == 0)
        return specials_only(m, ids, n);
    return encode(m, m->tok_bs, text, len, m->cfg.bertscore_max_len, ids, n);
}

int model_wrap_ids(const vkb_model *m, const int32_t *raw, int n_raw, int32_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    if (n_raw < 0 || (n_raw && !raw))
        return VKB_EINVAL;
    int keep = n_raw < m->cfg.max_seq_length - 2 ? n_raw : m->cfg.max_seq_length - 2;
    int32_t *buf = malloc(sizeof *buf * (size_t)(keep + 2));
    if (!buf)
        return VKB_ENOMEM;
    buf[0] = vkb_tokenizer_cls_id(m->tok);
    if (keep)
        memcpy(buf + 1, raw, sizeof *buf * (size_t)keep);
    buf[keep + 1] = vkb_tokenizer_sep_id(m->tok);
    int rc = take_ids(m, buf, keep + 2, ids, n);
    free(buf);
    return rc;
}

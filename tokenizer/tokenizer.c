/*
 * tokenizer.c — loading (which files a path means), freeing, and the vocabulary accessors of
 * the public API; plus the helpers the loaders share.
 */
#include "tk_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tk_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

char *tk_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tk_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *b = realloc(buf, cap);
            if (!b) {
                tk_errf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        tk_errf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

int tk_set_id_token(vkb_tokenizer *t, int32_t id, const char *token)
{
    if (id < 0 || id >= TK_MAX_IDS)
        return -1;
    if (id >= t->n_ids) {
        int32_t n = t->n_ids ? t->n_ids : 1024;
        while (n <= id)
            n *= 2;
        if (n > TK_MAX_IDS)
            n = TK_MAX_IDS;
        char **v = realloc(t->id_to_token, (size_t)n * sizeof(char *));
        if (!v)
            return -1;
        memset(v + t->n_ids, 0, (size_t)(n - t->n_ids) * sizeof(char *));
        t->id_to_token = v;
        t->n_ids = n;
    }
    t->id_to_token[id] = (char *)token;
    return 0;
}

/* WordPiece tries: every token for a word start, prefixed ones (without the prefix) for
 * continuations. */
static int build_wordpiece(vkb_tokenizer *t, char *err, size_t errlen)
{
    tk_wordpiece *wp = &t->wordpiece;
    size_t lp = strlen(wp->prefix);
    const tk_strmap *v = &t->vocab;
    for (uint32_t i = 0; i < v->n; i++) {
        const char *k = v->arena + v->key_off[i];
        size_t len = v->key_len[i];
        if (tk_trie_insert(&wp->start_trie, k, len, v->val[i]))
            goto oom;
        if (len > lp && !memcmp(k, wp->prefix, lp) &&
            tk_trie_insert(&wp->cont_trie, k + lp, len - lp, v->val[i]))
            goto oom;
    }
    wp->unk_id = tk_strmap_get(v, wp->unk_token, strlen(wp->unk_token));
    return 0;
oom:
    tk_errf(err, errlen, "out of memory building the WordPiece vocabulary");
    return -1;
}

/* BPE over bytes: the raw-byte form of every token written in GPT-2's byte chars. */
static int build_bpe(vkb_tokenizer *t, int byte_level, char *err, size_t errlen)
{
    tk_bpe *bpe = &t->bpe;
    bpe->vocab = &t->vocab;
    bpe->byte_level = byte_level;
    bpe->unk_id = bpe->unk_token ? tk_strmap_get(&t->vocab, bpe->unk_token, strlen(bpe->unk_token)) : -1;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof(name), "<0x%02X>", b);
        bpe->byte_fallback_id[b] = tk_strmap_get(&t->vocab, name, strlen(name));
        bpe->byte_id[b] = -1;
    }
    if (byte_level) {
        const tk_strmap *v = &t->vocab;
        char *raw = NULL;
        size_t cap = 0;
        for (uint32_t i = 0; i < v->n; i++) {
            if (v->key_len[i] + 1 > cap) {
                cap = v->key_len[i] + 64;
                char *r = realloc(raw, cap);
                if (!r) {
                    free(raw);
                    goto oom;
                }
                raw = r;
            }
            int n = tk_bytelevel_to_raw(v->arena + v->key_off[i], v->key_len[i], raw);
            if (n > 0 && tk_strmap_put(&bpe->vocab_raw, raw, (size_t)n, v->val[i])) {
                free(raw);
                goto oom;
            }
            if (n == 1)
                bpe->byte_id[(unsigned char)raw[0]] = v->val[i];
        }
        free(raw);
        /* The prefix / suffix are written in byte chars too. */
        char **affix[2] = {&bpe->prefix, &bpe->suffix};
        for (int i = 0; i < 2; i++) {
            char *a = *affix[i];
            if (!a || !*a)
                continue;
            int n = tk_bytelevel_to_raw(a, strlen(a), a);
            if (n < 0) {
                tk_errf(err, errlen, "BPE affix '%s' is not written in byte-level chars", a);
                return -1;
            }
            a[n] = 0;
        }
    }
    if (tk_word_cache_init(&bpe->cache))
        goto oom;
    return 0;
oom:
    tk_errf(err, errlen, "out of memory building the BPE vocabulary");
    return -1;
}

int tk_finish_load(vkb_tokenizer *t, char *err, size_t errlen)
{
    int byte_level = 0;
    for (int i = 0; i < t->pre.n; i++) {
        if (t->pre.steps[i].kind != TK_PRE_BYTELEVEL)
            continue;
        if (i != t->pre.n - 1) {
            tk_errf(err, errlen, "unsupported pre-tokenizer: ByteLevel must be the last step of a Sequence");
            return -1;
        }
        byte_level = 1;
    }
    if (t->kind != TK_MODEL_BPE && byte_level) {
        tk_errf(err, errlen, "unsupported combination: ByteLevel pre-tokenizer with a %s model",
                t->kind == TK_MODEL_WORDPIECE ? "WordPiece" : "Unigram");
        return -1;
    }
    if (t->kind == TK_MODEL_WORDPIECE) {
        if (build_wordpiece(t, err, errlen))
            return -1;
    } else if (t->kind == TK_MODEL_UNIGRAM) {
        if (tk_unigram_build(&t->unigram, err, errlen))
            return -1;
    } else if (build_bpe(t, byte_level, err, errlen)) {
        return -1;
    }
    const tk_strmap *v = &t->vocab;
    if (t->kind == TK_MODEL_UNIGRAM) {
        /* every index is an id, also a piece listed twice (the map keeps its later id) */
        for (int32_t i = 0; i < t->unigram.n; i++)
            if (tk_set_id_token(t, i, t->unigram.pieces[i]))
                goto bad_id;
    } else {
        for (uint32_t i = 0; i < v->n; i++)
            if (tk_set_id_token(t, v->val[i], v->arena + v->key_off[i]))
                goto bad_id;
    }
    for (int i = 0; i < t->added.n; i++)
        if (tk_set_id_token(t, t->added.tokens[i].id, t->added.tokens[i].content))
            goto bad_id;
    if (tk_added_build(&t->added, &t->normalizer)) {
        tk_errf(err, errlen, "out of memory building the added-token matcher");
        return -1;
    }
    /* Trim the id table to the highest id in use. */
    while (t->n_ids > 0 && !t->id_to_token[t->n_ids - 1])
        t->n_ids--;
    /* Every id the post-processor adds must exist: the encoder looks them up. */
    const tk_post *p = &t->post;
    for (int i = 0; i < p->n_prefix + p->n_suffix; i++) {
        int32_t id = i < p->n_prefix ? p->prefix_ids[i] : p->suffix_ids[i - p->n_prefix];
        const char *tok = i < p->n_prefix ? p->prefix_tokens[i] : p->suffix_tokens[i - p->n_prefix];
        if (!vkb_tokenizer_id_to_token(t, id)) {
            tk_errf(err, errlen, "post-processor token '%s' has id %d, which is not in the vocabulary", tok, id);
            return -1;
        }
    }
    if (t->pad_id >= 0 && !vkb_tokenizer_id_to_token(t, t->pad_id))
        t->pad_id = -1; /* a padding id outside the vocabulary: look the pad token up instead */
    if (t->pad_id < 0) {
        static const char *const names[] = {"[PAD]", "<pad>", "<|pad|>"};
        for (size_t i = 0; i < 3 && t->pad_id < 0; i++)
            t->pad_id = vkb_tokenizer_token_to_id(t, names[i]);
    }
    return 0;
bad_id:
    tk_errf(err, errlen, "token id out of range (0..%d) or out of memory", TK_MAX_IDS - 1);
    return -1;
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

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* dir/name into buf (of size n); 0 if it fits. */
static int join(char *buf, size_t n, const char *dir, size_t dirlen, const char *name)
{
    int k = snprintf(buf, n, "%.*s%s%s", (int)dirlen, dir,
                     dirlen && dir[dirlen - 1] != '/' ? "/" : "", name);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Picks the loader for path: a tokenizer.json, a vocab.txt, a vocab.json (with merges.txt
 * beside it), or a folder holding one of these (tokenizer.json preferred). */
static int load_path(vkb_tokenizer *t, const char *path, char *err, size_t errlen)
{
    char a[4096], b[4096], c[4096];
    size_t dirlen;
    if (is_dir(path)) {
        dirlen = strlen(path);
        if (join(a, sizeof(a), path, dirlen, "tokenizer.json"))
            goto too_long;
        if (is_file(a))
            return tk_load_json(t, a, err, errlen);
        if (join(a, sizeof(a), path, dirlen, "vocab.txt") ||
            join(c, sizeof(c), path, dirlen, "tokenizer_config.json"))
            goto too_long;
        if (is_file(a))
            return tk_load_vocab_txt(t, a, c, err, errlen);
        if (join(a, sizeof(a), path, dirlen, "vocab.json") ||
            join(b, sizeof(b), path, dirlen, "merges.txt"))
            goto too_long;
        if (is_file(a) && is_file(b))
            return tk_load_vocab_json(t, a, b, c, err, errlen);
        static const char *const spm[] = {"sentencepiece.bpe.model", "spiece.model", "spm.model"};
        for (size_t i = 0; i < sizeof(spm) / sizeof(spm[0]); i++) {
            if (join(a, sizeof(a), path, dirlen, spm[i]))
                goto too_long;
            if (is_file(a)) {
                tk_errf(err, errlen, "%s: only a SentencePiece %s here; vkbridge reads the "
                        "tokenizer.json that Hugging Face converts it to, which this folder lacks",
                        path, spm[i]);
                return -1;
            }
        }
        tk_errf(err, errlen, "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt in this folder", path);
        return -1;
    }
    if (!is_file(path)) {
        tk_errf(err, errlen, "%s: %s", path, strerror(ENOENT));
        return -1;
    }
    const char *slash = strrchr(path, '/');
    dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    if (join(c, sizeof(c), path, dirlen, "tokenizer_config.json"))
        goto too_long;
    if (ends_with(path, ".txt"))
        return tk_load_vocab_txt(t, path, c, err, errlen);
    if (ends_with(path, "vocab.json")) {
        if (join(b, sizeof(b), path, dirlen, "merges.txt"))
            goto too_long;
        return tk_load_vocab_json(t, path, b, c, err, errlen);
    }
    return tk_load_json(t, path, err, errlen);
too_long:
    tk_errf(err, errlen, "%s: path too long", path);
    return -1;
}

int vkb_tokenizer_load(const char *path, const vkb_tokenizer_options *opts, vkb_tokenizer **out,
                       char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!out || !path) {
        tk_errf(err, errlen, "vkb_tokenizer_load: path and out are required");
        return -EINVAL;
    }
    *out = NULL;
    vkb_tokenizer *t = calloc(1, sizeof(*t));
    if (!t) {
        tk_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    t->pad_id = -1;
    t->add_prefix_space = opts && opts->add_prefix_space >= 0 ? !!opts->add_prefix_space : -1;
    t->wordpiece.unk_id = -1;
    t->bpe.unk_id = -1;
    t->unigram.unk_id = -1;
    if (load_path(t, path, err, errlen) || tk_finish_load(t, err, errlen)) {
        if (err && errlen && !err[0])
            tk_errf(err, errlen, "%s: failed to load", path);
        vkb_tokenizer_free(t);
        return -EINVAL;
    }
    *out = t;
    return 0;
}

void tk_post_free(tk_post *p)
{
    for (int i = 0; i < p->n_prefix; i++)
        free(p->prefix_tokens[i]);
    for (int i = 0; i < p->n_suffix; i++)
        free(p->suffix_tokens[i]);
    free(p->prefix_tokens);
    free(p->suffix_tokens);
    free(p->prefix_ids);
    free(p->suffix_ids);
    memset(p, 0, sizeof(*p));
}

int tk_post_add(tk_post *p, int suffix, int32_t id, const char *token)
{
    int32_t **ids = suffix ? &p->suffix_ids : &p->prefix_ids;
    char ***toks = suffix ? &p->suffix_tokens : &p->prefix_tokens;
    int *n = suffix ? &p->n_suffix : &p->n_prefix;
    int32_t *ni = realloc(*ids, (size_t)(*n + 1) * sizeof(int32_t));
    if (!ni)
        return -1;
    *ids = ni;
    char **nt = realloc(*toks, (size_t)(*n + 1) * sizeof(char *));
    if (!nt)
        return -1;
    *toks = nt;
    if (!(nt[*n] = strdup(token)))
        return -1;
    ni[*n] = id;
    (*n)++;
    return 0;
}

void vkb_tokenizer_free(vkb_tokenizer *t)
{
    if (!t)
        return;
    tk_strmap_free(&t->vocab);
    free(t->id_to_token);
    tk_normalizer_free(&t->normalizer);
    tk_pretokenizer_free(&t->pre);
    tk_wordpiece_free(&t->wordpiece);
    tk_bpe_free(&t->bpe);
    tk_unigram_free(&t->unigram);
    tk_added_free(&t->added);
    tk_post_free(&t->post);
    free(t->decoder.prefix);
    free(t);
}

const char *vkb_tokenizer_id_to_token(const vkb_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || id >= t->n_ids)
        return NULL;
    return t->id_to_token[id];
}

int32_t vkb_tokenizer_token_to_id(const vkb_tokenizer *t, const char *token)
{
    if (!t || !token)
        return -1;
    int32_t id = tk_added_id(&t->added, token); /* added tokens first, as tokenizers does */
    return id >= 0 ? id : tk_strmap_get(&t->vocab, token, strlen(token));
}

int vkb_tokenizer_vocab_size(const vkb_tokenizer *t) { return t ? t->n_ids : 0; }

int32_t vkb_tokenizer_cls_id(const vkb_tokenizer *t)
{
    return t && t->post.n_prefix ? t->post.prefix_ids[0] : -1;
}

int32_t vkb_tokenizer_sep_id(const vkb_tokenizer *t)
{
    return t && t->post.n_suffix ? t->post.suffix_ids[t->post.n_suffix - 1] : -1;
}

int32_t vkb_tokenizer_pad_id(const vkb_tokenizer *t) { return t ? t->pad_id : -1; }

const char *vkb_tokenizer_kind(const vkb_tokenizer *t)
{
    if (!t)
        return "wordpiece";
    return t->kind == TK_MODEL_BPE ? "bpe" : t->kind == TK_MODEL_UNIGRAM ? "unigram" : "wordpiece";
}

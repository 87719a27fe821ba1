/*
 * load_json.c — reads a Hugging Face tokenizer.json (jansson) into a vkb_tokenizer.
 *
 * Supported: normalizers BertNormalizer, Lowercase, NFD, NFKD, NFC, NFKC, StripAccents,
 * Strip, Replace, Prepend, Precompiled, Sequence; pre-tokenizers BertPreTokenizer, ByteLevel,
 * Whitespace, WhitespaceSplit, Punctuation, Digits, Split, Metaspace, Sequence; models
 * WordPiece, BPE and Unigram (load_unigram.c); post-processors BertProcessing,
 * RobertaProcessing, TemplateProcessing (single-sequence template), ByteLevel, Sequence;
 * decoders WordPiece, ByteLevel, Metaspace, ByteFallback, Fuse and a Sequence of the last
 * three. Any other type fails the load with its name. The truncation and padding fields are
 * ignored (callers choose max_len), except padding's pad_id.
 */
#include "tk_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    vkb_tokenizer *t;
    const char *path;
    char *err;
    size_t errlen;
    const char *text; /* the raw file (Unigram scores are re-read from it) */
    size_t text_len;
} ctx;

/* Writes the error message; returns -1 for the caller to pass on. */
__attribute__((format(printf, 2, 3))) static int fail(ctx *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A string field, or def when absent or null. */
static const char *get_str(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static const char *type_of(json_t *o)
{
    return get_str(o, "type", "");
}

/* A JSON string as code points (malloc'd into *out, *n; an empty string gives NULL, 0). */
static int string_cps(ctx *c, const char *s, size_t len, uint32_t **out, size_t *n)
{
    tk_chars cs = {0};
    *out = NULL;
    *n = 0;
    if (tk_utf8_decode(s, len, &cs))
        return fail(c, "out of memory");
    if (cs.n) {
        if (!(*out = malloc(cs.n * sizeof(uint32_t)))) {
            tk_chars_free(&cs);
            return fail(c, "out of memory");
        }
        for (size_t i = 0; i < cs.n; i++)
            (*out)[i] = cs.v[i].cp;
    }
    *n = cs.n;
    tk_chars_free(&cs);
    return 0;
}

/* {"String": s} or {"Regex": r}, the pattern of Replace and Split. */
static int parse_pattern(ctx *c, json_t *j, const char *what, tk_pattern *p)
{
    json_t *str = json_object_get(j, "String"), *re = json_object_get(j, "Regex");
    if (json_is_string(str))
        return string_cps(c, json_string_value(str), json_string_length(str), &p->lit, &p->n_lit);
    if (json_is_string(re)) {
        char why[256];
        if (!(p->re = tk_regex_new(json_string_value(re), why, sizeof(why))))
            return fail(c, "%s: %s pattern: %s", c->path, what, why);
        return 0;
    }
    return fail(c, "%s: %s pattern must be {\"String\": ...} or {\"Regex\": ...}", c->path, what);
}

/* ---- normalizer ---- */

static int add_norm(ctx *c, tk_norm_step st)
{
    tk_normalizer *nz = &c->t->normalizer;
    tk_norm_step *v = realloc(nz->steps, (size_t)(nz->n + 1) * sizeof(*v));
    if (!v)
        return fail(c, "out of memory");
    nz->steps = v;
    v[nz->n++] = st;
    return 0;
}

static int parse_normalizer(ctx *c, json_t *j, int depth)
{
    if (json_is_null(j) || !j)
        return 0;
    if (!json_is_object(j) || depth > 8)
        return fail(c, "%s: normalizer is not an object", c->path);
    const char *type = type_of(j);
    tk_norm_step st = {0};
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "normalizers");
        if (!json_is_array(list))
            return fail(c, "%s: Sequence normalizer without a normalizers list", c->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            if (parse_normalizer(c, item, depth + 1))
                return -1;
        }
        return 0;
    }
    if (!strcmp(type, "BertNormalizer")) {
        st.kind = TK_NORM_BERT;
        st.clean_text = tk_json_bool(j, "clean_text", 1);
        st.handle_chinese = tk_json_bool(j, "handle_chinese_chars", 1);
        st.lowercase = tk_json_bool(j, "lowercase", 1);
        /* strip_accents null means "as lowercase" */
        st.strip_accents = tk_json_bool(j, "strip_accents", st.lowercase);
    } else if (!strcmp(type, "Lowercase")) {
        st.kind = TK_NORM_LOWERCASE;
    } else if (!strcmp(type, "NFD")) {
        st.kind = TK_NORM_NFD;
    } else if (!strcmp(type, "NFKD")) {
        st.kind = TK_NORM_NFKD;
    } else if (!strcmp(type, "NFC")) {
        st.kind = TK_NORM_NFC;
    } else if (!strcmp(type, "NFKC")) {
        st.kind = TK_NORM_NFKC;
    } else if (!strcmp(type, "StripAccents")) {
        st.kind = TK_NORM_STRIP_ACCENTS;
    } else if (!strcmp(type, "Strip")) {
        st.kind = TK_NORM_STRIP;
        st.strip_left = tk_json_bool(j, "strip_left", 1);
        st.strip_right = tk_json_bool(j, "strip_right", 1);
    } else if (!strcmp(type, "Precompiled")) {
        json_t *map = json_object_get(j, "precompiled_charsmap");
        if (map && !json_is_null(map) && !json_is_string(map))
            return fail(c, "%s: Precompiled precompiled_charsmap is not a string", c->path);
        if (!json_is_string(map) || json_string_length(map) == 0)
            return 0; /* no rule (SentencePiece's identity): the step changes nothing */
        st.kind = TK_NORM_PRECOMPILED;
        char why[256];
        if (!(st.charsmap = calloc(1, sizeof(*st.charsmap))))
            return fail(c, "out of memory");
        if (tk_charsmap_parse(st.charsmap, json_string_value(map), json_string_length(map), why,
                              sizeof(why))) {
            free(st.charsmap);
            return fail(c, "%s: Precompiled normalizer: %s", c->path, why);
        }
    } else if (!strcmp(type, "Replace")) {
        st.kind = TK_NORM_REPLACE;
        json_t *content = json_object_get(j, "content");
        if (!json_is_string(content))
            return fail(c, "%s: Replace normalizer without a content string", c->path);
        if (parse_pattern(c, json_object_get(j, "pattern"), "Replace", &st.pattern) ||
            string_cps(c, json_string_value(content), json_string_length(content), &st.content,
                       &st.n_content)) {
            tk_pattern_free(&st.pattern);
            return -1;
        }
    } else if (!strcmp(type, "Prepend")) {
        st.kind = TK_NORM_PREPEND;
        json_t *pre = json_object_get(j, "prepend");
        if (!json_is_string(pre))
            return fail(c, "%s: Prepend normalizer without a prepend string", c->path);
        if (string_cps(c, json_string_value(pre), json_string_length(pre), &st.content,
                       &st.n_content))
            return -1;
    } else {
        return fail(c, "%s: unsupported normalizer type '%s'", c->path, type);
    }
    if (add_norm(c, st)) { /* the step was not stored: free what it owns */
        if (st.charsmap)
            tk_charsmap_free(st.charsmap);
        free(st.charsmap);
        tk_pattern_free(&st.pattern);
        free(st.content);
        return -1;
    }
    return 0;
}

/* ---- pre-tokenizer ---- */

static int add_pre(ctx *c, tk_pre_step st)
{
    tk_pretokenizer *pt = &c->t->pre;
    tk_pre_step *v = realloc(pt->steps, (size_t)(pt->n + 1) * sizeof(*v));
    if (!v)
        return fail(c, "out of memory");
    pt->steps = v;
    v[pt->n++] = st;
    return 0;
}

static int parse_behavior(ctx *c, const char *s, tk_split_behavior *out)
{
    static const struct {
        const char *name;
        tk_split_behavior b;
    } names[] = {
        {"Removed", TK_SPLIT_REMOVED},
        {"Isolated", TK_SPLIT_ISOLATED},
        {"MergedWithPrevious", TK_SPLIT_MERGED_WITH_PREVIOUS},
        {"MergedWithNext", TK_SPLIT_MERGED_WITH_NEXT},
        {"Contiguous", TK_SPLIT_CONTIGUOUS},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].b;
            return 0;
        }
    return fail(c, "%s: unsupported split behavior '%s'", c->path, s);
}

/* Metaspace as pre-tokenizer or decoder, in every serialisation: replacement (one char;
 * str_rep ignored), prepend_scheme always/first/never, or the older add_prefix_space
 * (true: always, false: never); neither given means always. */
static int parse_metaspace(ctx *c, json_t *j, uint32_t *replacement, tk_prepend_scheme *prepend)
{
    const char *r = get_str(j, "replacement", "\xE2\x96\x81");
    uint32_t cp;
    int k = tk_utf8_next(r, strlen(r), &cp);
    if (k <= 0 || r[k])
        return fail(c, "%s: Metaspace replacement must be one character", c->path);
    *replacement = cp;
    const char *scheme = get_str(j, "prepend_scheme", NULL);
    if (!scheme)
        *prepend = tk_json_bool(j, "add_prefix_space", 1) ? TK_PREPEND_ALWAYS : TK_PREPEND_NEVER;
    else if (!strcmp(scheme, "always"))
        *prepend = TK_PREPEND_ALWAYS;
    else if (!strcmp(scheme, "first"))
        *prepend = TK_PREPEND_FIRST;
    else if (!strcmp(scheme, "never"))
        *prepend = TK_PREPEND_NEVER;
    else
        return fail(c, "%s: unsupported Metaspace prepend_scheme '%s'", c->path, scheme);
    return 0;
}

static int parse_pre(ctx *c, json_t *j, int depth)
{
    if (json_is_null(j) || !j)
        return 0;
    if (!json_is_object(j) || depth > 8)
        return fail(c, "%s: pre_tokenizer is not an object", c->path);
    const char *type = type_of(j);
    tk_pre_step st = {0};
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "pretokenizers");
        if (!json_is_array(list))
            return fail(c, "%s: Sequence pre-tokenizer without a pretokenizers list", c->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            if (parse_pre(c, item, depth + 1))
                return -1;
        }
        return 0;
    }
    if (!strcmp(type, "BertPreTokenizer")) {
        st.kind = TK_PRE_BERT;
    } else if (!strcmp(type, "ByteLevel")) {
        st.kind = TK_PRE_BYTELEVEL;
        st.add_prefix_space = tk_json_bool(j, "add_prefix_space", 1);
        st.use_regex = tk_json_bool(j, "use_regex", 1);
    } else if (!strcmp(type, "Whitespace")) {
        st.kind = TK_PRE_WHITESPACE;
    } else if (!strcmp(type, "WhitespaceSplit")) {
        st.kind = TK_PRE_WHITESPACE_SPLIT;
    } else if (!strcmp(type, "Punctuation")) {
        st.kind = TK_PRE_PUNCTUATION;
        if (parse_behavior(c, get_str(j, "behavior", "Isolated"), &st.behavior))
            return -1;
    } else if (!strcmp(type, "Metaspace")) {
        st.kind = TK_PRE_METASPACE;
        if (parse_metaspace(c, j, &st.replacement, &st.prepend))
            return -1;
        st.split = tk_json_bool(j, "split", 1);
    } else if (!strcmp(type, "Digits")) {
        st.kind = TK_PRE_DIGITS;
        st.individual_digits = tk_json_bool(j, "individual_digits", 0);
    } else if (!strcmp(type, "Split")) {
        st.kind = TK_PRE_SPLIT;
        st.invert = tk_json_bool(j, "invert", 0);
        if (parse_behavior(c, get_str(j, "behavior", ""), &st.behavior) ||
            parse_pattern(c, json_object_get(j, "pattern"), "Split", &st.pattern))
            return -1;
    } else {
        return fail(c, "%s: unsupported pre-tokenizer type '%s'", c->path, type);
    }
    if (add_pre(c, st)) {
        tk_pattern_free(&st.pattern);
        return -1;
    }
    return 0;
}

/* ---- model ---- */

static int parse_vocab(ctx *c, json_t *vocab)
{
    if (!json_is_object(vocab))
        return fail(c, "%s: model.vocab is not an object", c->path);
    return tk_json_vocab(&c->t->vocab, vocab, c->path, c->err, c->errlen);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* One merge, "a b" or ["a", "b"]: looks up both parts and their concatenation. */
static int parse_merge(ctx *c, json_t *m, uint32_t rank)
{
    const char *a, *b;
    size_t la, lb;
    const char *space = NULL;
    if (json_is_string(m)) {
        a = json_string_value(m);
        space = strchr(a, ' ');
        if (!space)
            return fail(c, "%s: merge '%s' is not two tokens", c->path, a);
        la = (size_t)(space - a);
        b = space + 1;
        lb = strlen(b);
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
        a = json_string_value(json_array_get(m, 0));
        b = json_string_value(json_array_get(m, 1));
        la = strlen(a);
        lb = strlen(b);
    } else {
        return fail(c, "%s: merge %u is not a string or a pair", c->path, rank);
    }
    const tk_strmap *v = &c->t->vocab;
    int32_t ia = tk_strmap_get(v, a, la), ib = tk_strmap_get(v, b, lb);
    if (ia < 0 || ib < 0)
        return fail(c, "%s: merge %u uses a token missing from the vocabulary", c->path, rank);
    /* The merged token: a, then b without its continuing-subword prefix. */
    const char *prefix = c->t->bpe.prefix;
    size_t lp = prefix ? strlen(prefix) : 0;
    if (lp && lb >= lp && !memcmp(b, prefix, lp)) {
        b += lp;
        lb -= lp;
    }
    char stackbuf[256];
    char *joined = la + lb + 1 <= sizeof(stackbuf) ? stackbuf : malloc(la + lb + 1);
    if (!joined)
        return fail(c, "out of memory");
    memcpy(joined, a, la);
    memcpy(joined + la, b, lb);
    int32_t id = tk_strmap_get(v, joined, la + lb);
    if (joined != stackbuf)
        free(joined);
    if (id < 0)
        return fail(c, "%s: merge %u produces a token missing from the vocabulary", c->path, rank);
    if (tk_bpe_add_merge(&c->t->bpe, ia, ib, rank, id))
        return fail(c, "out of memory");
    return 0;
}

static int parse_model(ctx *c, json_t *j)
{
    if (!json_is_object(j))
        return fail(c, "%s: no model", c->path);
    const char *type = type_of(j);
    if (!*type) /* older files leave the type out */
        type = json_object_get(j, "merges") ? "BPE"
               : json_object_get(j, "max_input_chars_per_word") ? "WordPiece"
               : json_is_array(json_object_get(j, "vocab")) && json_object_get(j, "unk_id")
                   ? "Unigram"
                   : "";
    vkb_tokenizer *t = c->t;
    if (!strcmp(type, "Unigram")) {
        t->kind = TK_MODEL_UNIGRAM;
        return tk_load_unigram(t, j, c->text, c->text_len, c->path, c->err, c->errlen);
    }
    if (!strcmp(type, "WordPiece")) {
        t->kind = TK_MODEL_WORDPIECE;
        json_t *mx = json_object_get(j, "max_input_chars_per_word");
        json_int_t max_chars = json_is_integer(mx) ? json_integer_value(mx) : 100;
        if (max_chars < 0 || max_chars > INT32_MAX)
            return fail(c, "%s: max_input_chars_per_word out of range", c->path);
        t->wordpiece.max_chars = (int)max_chars;
        if (!(t->wordpiece.unk_token = strdup(get_str(j, "unk_token", "[UNK]"))) ||
            !(t->wordpiece.prefix = strdup(get_str(j, "continuing_subword_prefix", "##"))))
            return fail(c, "out of memory");
        return parse_vocab(c, json_object_get(j, "vocab"));
    }
    if (strcmp(type, "BPE"))
        return fail(c, "%s: unsupported model type '%s'", c->path, type);
    t->kind = TK_MODEL_BPE;
    json_t *dropout = json_object_get(j, "dropout");
    if (dropout && !json_is_null(dropout))
        return fail(c, "%s: unsupported BPE option: dropout (randomised encoding)", c->path);
    tk_bpe *bpe = &t->bpe;
    bpe->fuse_unk = tk_json_bool(j, "fuse_unk", 0);
    bpe->byte_fallback = tk_json_bool(j, "byte_fallback", 0);
    bpe->ignore_merges = tk_json_bool(j, "ignore_merges", 0);
    const char *unk = get_str(j, "unk_token", NULL);
    const char *pre = get_str(j, "continuing_subword_prefix", NULL);
    const char *suf = get_str(j, "end_of_word_suffix", NULL);
    bpe->unk_token = dup_or_null(unk);
    bpe->prefix = dup_or_null(pre && *pre ? pre : NULL);
    bpe->suffix = dup_or_null(suf && *suf ? suf : NULL);
    if ((unk && !bpe->unk_token) || (pre && *pre && !bpe->prefix) || (suf && *suf && !bpe->suffix))
        return fail(c, "out of memory");
    if (parse_vocab(c, json_object_get(j, "vocab")))
        return -1;
    json_t *merges = json_object_get(j, "merges");
    if (!json_is_array(merges))
        return fail(c, "%s: BPE model without a merges list", c->path);
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m)
    {
        if (parse_merge(c, m, (uint32_t)i))
            return -1;
    }
    return 0;
}

/* ---- added tokens ---- */

static int parse_added(ctx *c, json_t *list)
{
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return fail(c, "%s: added_tokens is not a list", c->path);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        json_t *id = json_object_get(a, "id");
        const char *content = get_str(a, "content", NULL);
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= TK_MAX_IDS || !content)
            return fail(c, "%s: added token %zu needs an id and a content", c->path, i);
        int special = tk_json_bool(a, "special", 0);
        if (tk_added_add(&c->t->added, content, (int32_t)json_integer_value(id), special,
                         tk_json_bool(a, "lstrip", 0), tk_json_bool(a, "rstrip", 0),
                         tk_json_bool(a, "single_word", 0),
                         tk_json_bool(a, "normalized", !special)))
            return fail(c, "out of memory");
    }
    return 0;
}

/* ---- post-processor ---- */

/* ["token", id] as BertProcessing / RobertaProcessing write cls and sep. */
static int parse_pair(ctx *c, json_t *p, int suffix)
{
    if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_string(json_array_get(p, 0)) ||
        !json_is_integer(json_array_get(p, 1)))
        return fail(c, "%s: post_processor cls/sep must be [token, id]", c->path);
    if (tk_post_add(&c->t->post, suffix, (int32_t)json_integer_value(json_array_get(p, 1)),
                    json_string_value(json_array_get(p, 0))))
        return fail(c, "out of memory");
    return 0;
}

static int parse_template(ctx *c, json_t *j)
{
    json_t *single = json_object_get(j, "single");
    json_t *specials = json_object_get(j, "special_tokens");
    if (!json_is_array(single))
        return fail(c, "%s: TemplateProcessing without a single template", c->path);
    int seen_sequence = 0;
    size_t i;
    json_t *piece;
    json_array_foreach(single, i, piece)
    {
        json_t *seq = json_object_get(piece, "Sequence");
        json_t *sp = json_object_get(piece, "SpecialToken");
        if (seq) {
            if (seen_sequence++)
                return fail(c, "%s: TemplateProcessing single template has two sequences", c->path);
            continue;
        }
        const char *name = get_str(sp, "id", NULL);
        json_t *def = name ? json_object_get(specials, name) : NULL;
        json_t *ids = json_object_get(def, "ids");
        json_t *toks = json_object_get(def, "tokens");
        if (!json_is_array(ids) || !json_is_array(toks) || json_array_size(ids) != json_array_size(toks))
            return fail(c, "%s: template special token '%s' is not defined", c->path, name ? name : "?");
        for (size_t k = 0; k < json_array_size(ids); k++) {
            json_t *id = json_array_get(ids, k), *tok = json_array_get(toks, k);
            if (!json_is_integer(id) || !json_is_string(tok))
                return fail(c, "%s: template special token '%s' is malformed", c->path, name);
            if (tk_post_add(&c->t->post, seen_sequence, (int32_t)json_integer_value(id),
                            json_string_value(tok)))
                return fail(c, "out of memory");
        }
    }
    return 0;
}

static int parse_post(ctx *c, json_t *j, int depth)
{
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_object(j) || depth > 8)
        return fail(c, "%s: post_processor is not an object", c->path);
    const char *type = type_of(j);
    tk_post *p = &c->t->post;
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "processors");
        if (!json_is_array(list))
            return fail(c, "%s: Sequence post-processor without a processors list", c->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            if (parse_post(c, item, depth + 1))
                return -1;
        }
        return 0;
    }
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        if (p->n_prefix || p->n_suffix)
            return fail(c, "%s: two post-processors add special tokens", c->path);
        if (!strcmp(type, "RobertaProcessing"))
            p->trim_offsets = tk_json_bool(j, "trim_offsets", 1);
        return parse_pair(c, json_object_get(j, "cls"), 0) ||
                       parse_pair(c, json_object_get(j, "sep"), 1)
                   ? -1
                   : 0;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        if (p->n_prefix || p->n_suffix)
            return fail(c, "%s: two post-processors add special tokens", c->path);
        return parse_template(c, j);
    }
    if (!strcmp(type, "ByteLevel")) {
        p->trim_offsets = tk_json_bool(j, "trim_offsets", 1);
        return 0;
    }
    return fail(c, "%s: unsupported post-processor type '%s'", c->path, type);
}

/* ---- decoder ---- */

/* A decoder that works on pieces (Metaspace, ByteFallback, Fuse; a Sequence of these). */
static int parse_piece_decoder(ctx *c, json_t *j, int depth)
{
    tk_decoder *d = &c->t->decoder;
    const char *type = type_of(j);
    if (!json_is_object(j) || depth > 8)
        return fail(c, "%s: decoder is not an object", c->path);
    d->kind = TK_DEC_PIECES;
    if (!strcmp(type, "Sequence") && depth == 0) {
        json_t *list = json_object_get(j, "decoders");
        if (!json_is_array(list))
            return fail(c, "%s: Sequence decoder without a decoders list", c->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            if (parse_piece_decoder(c, item, depth + 1))
                return -1;
        }
        return 0;
    }
    if (!strcmp(type, "Metaspace")) {
        d->metaspace = 1;
        return parse_metaspace(c, j, &d->replacement, &d->prepend);
    }
    if (!strcmp(type, "ByteFallback")) {
        d->byte_fallback = 1;
        return 0;
    }
    if (!strcmp(type, "Fuse"))
        return 0; /* the pieces are concatenated anyway */
    return fail(c, "%s: unsupported decoder type '%s'%s", c->path, type,
                depth ? " inside a Sequence decoder" : "");
}

static int parse_decoder(ctx *c, json_t *j)
{
    tk_decoder *d = &c->t->decoder;
    if (!j || json_is_null(j)) {
        d->kind = TK_DEC_NONE;
        return 0;
    }
    const char *type = type_of(j);
    if (!strcmp(type, "Metaspace") || !strcmp(type, "ByteFallback") || !strcmp(type, "Fuse") ||
        !strcmp(type, "Sequence"))
        return parse_piece_decoder(c, j, 0);
    if (!strcmp(type, "WordPiece")) {
        d->kind = TK_DEC_WORDPIECE;
        d->cleanup = tk_json_bool(j, "cleanup", 1);
        if (!(d->prefix = strdup(get_str(j, "prefix", "##"))))
            return fail(c, "out of memory");
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) {
        d->kind = TK_DEC_BYTELEVEL;
        return 0;
    }
    return fail(c, "%s: unsupported decoder type '%s'", c->path, type);
}

int tk_load_json(vkb_tokenizer *t, const char *path, char *err, size_t errlen)
{
    ctx c = {t, path, err, errlen, NULL, 0};
    size_t len;
    char *text = tk_read_file(path, &len, err, errlen);
    if (!text)
        return -1;
    c.text = text;
    c.text_len = len;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        free(text);
        return fail(&c, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    int rc = -1;
    if (!json_is_object(root)) {
        fail(&c, "%s: not a tokenizer.json object", path);
        goto cleanup;
    }
    json_t *padding = json_object_get(root, "padding");
    json_t *pad_id = json_object_get(padding, "pad_id");
    if (json_is_integer(pad_id))
        t->pad_id = (int32_t)json_integer_value(pad_id);
    if (parse_normalizer(&c, json_object_get(root, "normalizer"), 0) ||
        parse_pre(&c, json_object_get(root, "pre_tokenizer"), 0) ||
        parse_model(&c, json_object_get(root, "model")) ||
        parse_added(&c, json_object_get(root, "added_tokens")) ||
        parse_post(&c, json_object_get(root, "post_processor"), 0) ||
        parse_decoder(&c, json_object_get(root, "decoder")))
        goto cleanup;
    rc = 0;
cleanup:
    json_decref(root);
    free(text);
    return rc;
}

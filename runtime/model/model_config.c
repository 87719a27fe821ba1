/*
 * model_config.c — what a model folder's JSON files say: config.json (architecture and
 * sizes), and the sentence-transformers files (modules.json, the Pooling module's
 * config.json, sentence_bert_config.json) with sentence-transformers' defaults when they are
 * absent (mean pooling, no Normalize, max length from tokenizer_config.json or 512).
 */
#include "model_internal.h"

#include "vkb_runtime.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Loads dir/name as JSON; VKB_ENOTFOUND if absent (no message), VKB_EINVAL if malformed. */
static int load_json(const char *dir, const char *name, size_t flags, json_t **out, char *err,
                     size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *out = NULL;
    if (!file_exists(path))
        return VKB_ENOTFOUND;
    json_error_t jerr;
    *out = json_load_file(path, flags, &jerr);
    if (!*out) {
        vkb_set_err(err, errlen, "%s: bad JSON at line %d: %s", name, jerr.line, jerr.text);
        return VKB_EINVAL;
    }
    return VKB_OK;
}

/* An integer field; required ones give an error naming the field when absent. */
static int get_int(json_t *o, const char *file, const char *key, int required, int dflt,
                   int lo, int hi, int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) {
            vkb_set_err(err, errlen, "%s: missing \"%s\"", file, key);
            return VKB_EINVAL;
        }
        *out = dflt;
        return VKB_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        vkb_set_err(err, errlen, "%s: \"%s\" must be an integer in %d..%d", file, key, lo, hi);
        return VKB_EINVAL;
    }
    *out = (int)json_integer_value(v);
    return VKB_OK;
}

int model_config_int(const struct json_t *c, const char *key, int required, int dflt, int lo,
                     int hi, int *out, char *err, size_t errlen)
{
    return get_int((json_t *)c, "config.json", key, required, dflt, lo, hi, out, err, errlen);
}

/* The key's name, or its alternative spelling when only that one is present. */
static const char *key_in(json_t *c, model_key k)
{
    return k.alt && !json_object_get(c, k.name) && json_object_get(c, k.alt) ? k.alt : k.name;
}

static int family_names(char *buf, size_t cap)
{
    int n;
    const model_family *const *fams = model_families(&n);
    size_t off = 0;
    for (int f = 0; f < n; f++)
        for (const char *const *t = fams[f]->model_types; *t && off < cap; t++)
            off += (size_t)snprintf(buf + off, cap - off, "%s%s", off ? ", " : "", *t);
    return 0;
}

static int parse_arch(json_t *c, model_config *cfg, char *err, size_t errlen)
{
    json_t *mt = json_object_get(c, "model_type");
    if (!json_is_string(mt)) {
        vkb_set_err(err, errlen, "config.json: missing \"model_type\"");
        return VKB_EINVAL;
    }
    const char *type = json_string_value(mt);
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", type);
    const model_family *fam = model_family_find(type);
    if (!fam) {
        char known[256] = "";
        family_names(known, sizeof known);
        vkb_set_err(err, errlen, "config.json: model_type '%.64s' is not supported (supported: "
                    "%s)", type, known);
        return VKB_EUNSUPPORTED;
    }
    cfg->fam = fam;
    cfg->pos_mode = fam->positions == MP_ROBERTA ? VKB_POS_ROBERTA : VKB_POS_BERT;
    cfg->features = (fam->positions != MP_NONE ? MF_ABS_POS : 0) |
                    (fam->token_types ? MF_TOKEN_TYPES : 0) |
                    (fam->rel == MR_T5_BUCKETS ? MF_REL_BIAS : 0);
    const char *act_key = key_in(c, fam->act);
    json_t *act = json_object_get(c, act_key);
    const char *a = json_is_string(act) ? json_string_value(act) : act ? "?" : "gelu";
    if (!strcmp(a, "gelu"))
        cfg->act = VKB_ACT_GELU_ERF;
    else if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh") || !strcmp(a, "gelu_fast"))
        cfg->act = VKB_ACT_GELU_TANH; /* the same tanh formula, written three ways in HF */
    else if (!strcmp(a, "relu"))
        cfg->act = VKB_ACT_RELU;
    else {
        vkb_set_err(err, errlen, "config.json: %s '%.64s' is not supported (gelu, "
                    "gelu_new, gelu_pytorch_tanh, relu)", act_key, a);
        return VKB_EUNSUPPORTED;
    }
    cfg->eps = fam->fixed_eps > 0 ? fam->fixed_eps : fam->default_eps;
    json_t *eps = fam->fixed_eps > 0 || !fam->eps.name ? NULL
                                                       : json_object_get(c, key_in(c, fam->eps));
    if (eps && !json_is_null(eps)) {
        if (!json_is_number(eps) || !(json_number_value(eps) >= 0) ||
            json_number_value(eps) > 1) {
            vkb_set_err(err, errlen, "config.json: %s must be a number in [0, 1]",
                        key_in(c, fam->eps));
            return VKB_EINVAL;
        }
        cfg->eps = (float)json_number_value(eps);
    }
    return VKB_OK;
}

static int parse_sizes(json_t *c, model_config *cfg, char *err, size_t errlen)
{
    const char *f = "config.json";
    const model_family *fam = cfg->fam;
    int rc;
    const int big = 1 << 24;
    cfg->type_vocab = 0;
    if ((rc = get_int(c, f, key_in(c, fam->hidden), 1, 0, 1, 65536, &cfg->hidden, err,
                      errlen)) ||
        (rc = get_int(c, f, key_in(c, fam->layers), 1, 0, 1, 1024, &cfg->layers, err,
                      errlen)) ||
        (rc = get_int(c, f, key_in(c, fam->heads), 1, 0, 1, 4096, &cfg->heads, err, errlen)) ||
        (rc = get_int(c, f, key_in(c, fam->intermediate), 1, 0, 1, 1 << 20, &cfg->intermediate,
                      err, errlen)) ||
        (rc = get_int(c, f, "vocab_size", 1, 0, 1, big, &cfg->vocab, err, errlen)) ||
        (rc = get_int(c, f, "max_position_embeddings", 1, 0, 1, 1 << 20, &cfg->max_pos_emb, err,
                      errlen)) ||
        (fam->token_types &&
         (rc = get_int(c, f, "type_vocab_size", 0, 2, 1, big, &cfg->type_vocab, err, errlen))) ||
        (rc = get_int(c, f, "pad_token_id", 0, fam->default_pad_id, 0, big, &cfg->pad_id, err,
                      errlen)))
        return rc;
    if (cfg->hidden % cfg->heads) {
        vkb_set_err(err, errlen, "config.json: %s %d is not a multiple of %s %d",
                    key_in(c, fam->hidden), cfg->hidden, key_in(c, fam->heads), cfg->heads);
        return VKB_EINVAL;
    }
    if (cfg->pad_id >= cfg->vocab) {
        vkb_set_err(err, errlen, "config.json: pad_token_id %d is outside vocab_size %d",
                    cfg->pad_id, cfg->vocab);
        return VKB_EINVAL;
    }
    cfg->pos_pad = fam->position_pad >= 0 ? fam->position_pad : cfg->pad_id;
    cfg->max_tokens = cfg->max_pos_emb;
    if (cfg->pos_mode == VKB_POS_ROBERTA)
        cfg->max_tokens -= cfg->pos_pad + 1; /* positions start after the padding index */
    int cap = fam->rel == MR_T5_BUCKETS ? ENCODER_MAX_TOKENS_T5 : ENCODER_MAX_TOKENS;
    if (cfg->max_tokens > cap) {
        vkb_log(VKB_LOG_INFO, "config.json: %d positions; sequences are capped at %d tokens",
                cfg->max_tokens, cap);
        cfg->max_tokens = cap;
    }
    if (cfg->max_tokens < 2) {
        vkb_set_err(err, errlen, "config.json: max_position_embeddings %d leaves no room for "
                    "tokens (padding index %d)", cfg->max_pos_emb, cfg->pos_pad);
        return VKB_EINVAL;
    }
    return VKB_OK;
}

/* Pooling module config (1_Pooling/config.json or wherever modules.json points). */
static int parse_pooling(const char *dir, const char *sub, model_config *cfg, char *err,
                         size_t errlen)
{
    char name[1024];
    snprintf(name, sizeof name, "%s/config.json", sub);
    json_t *p;
    int rc = load_json(dir, name, 0, &p, err, errlen);
    if (rc == VKB_ENOTFOUND)
        vkb_set_err(err, errlen, "%s: missing (modules.json lists a Pooling module)", name);
    if (rc != VKB_OK)
        return rc;
    static const struct { const char *key; int mode; } modes[] = {
        {"pooling_mode_cls_token", VKB_POOL_CLS},
        {"pooling_mode_max_tokens", VKB_POOL_MAX},
        {"pooling_mode_mean_tokens", VKB_POOL_MEAN},
        {"pooling_mode_mean_sqrt_len_tokens", VKB_POOL_MEAN_SQRT},
    };
    cfg->pool_modes = 0;
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (json_is_true(json_object_get(p, modes[i].key)))
            cfg->pool_modes |= modes[i].mode;
    /* include_prompt false (INSTRUCTOR-style) leaves the prompt's tokens out of mean/max
     * pooling; not implemented, so refused rather than computed with them. */
    if (json_is_false(json_object_get(p, "include_prompt"))) {
        vkb_set_err(err, errlen, "%s: include_prompt false is not supported", name);
        rc = VKB_EUNSUPPORTED;
        goto cleanup;
    }
    const char *unsupported[] = {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
    for (size_t i = 0; i < 2; i++)
        if (json_is_true(json_object_get(p, unsupported[i]))) {
            vkb_set_err(err, errlen, "%s: %s is not supported", name, unsupported[i]);
            rc = VKB_EUNSUPPORTED;
            goto cleanup;
        }
    if (!cfg->pool_modes) {
        vkb_set_err(err, errlen, "%s: no pooling mode is switched on", name);
        rc = VKB_EINVAL;
        goto cleanup;
    }
    int wdim;
    if ((rc = get_int(p, name, "word_embedding_dimension", 0, cfg->hidden, 1, 1 << 20, &wdim,
                      err, errlen)))
        goto cleanup;
    if (wdim != cfg->hidden) {
        vkb_set_err(err, errlen, "%s: word_embedding_dimension %d but hidden_size is %d", name,
                    wdim, cfg->hidden);
        rc = VKB_EINVAL;
    }
cleanup:
    json_decref(p);
    return rc;
}

/* A module path from modules.json must stay inside the model folder. */
static int safe_subpath(const char *s)
{
    if (s[0] == '/' || strchr(s, '\\'))
        return 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if ((n == 2 && !strncmp(p, "..", 2)))
            return 0;
        p += n + (e ? 1 : 0);
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* modules.json: Transformer, Pooling, Normalize; anything else is refused by name. */
static int parse_modules(const char *dir, model_config *cfg, char *err, size_t errlen)
{
    json_t *mods;
    cfg->pool_modes = VKB_POOL_MEAN; /* sentence-transformers' default without the files */
    cfg->normalize = 0;
    int rc = load_json(dir, "modules.json", 0, &mods, err, errlen);
    if (rc == VKB_ENOTFOUND)
        return VKB_OK;
    if (rc != VKB_OK)
        return rc;
    if (!json_is_array(mods)) {
        vkb_set_err(err, errlen, "modules.json: expected a list of modules");
        rc = VKB_EINVAL;
        goto cleanup;
    }
    int have_pooling = 0;
    size_t i;
    json_t *mod;
    json_array_foreach(mods, i, mod) {
        json_t *jt = json_object_get(mod, "type"), *jp = json_object_get(mod, "path");
        const char *type = json_is_string(jt) ? json_string_value(jt) : "";
        const char *path = json_is_string(jp) ? json_string_value(jp) : "";
        if (!safe_subpath(path)) {
            vkb_set_err(err, errlen, "modules.json: module path '%.128s' leaves the folder",
                        path);
            rc = VKB_EINVAL;
            goto cleanup;
        }
        if (ends_with(type, "models.Transformer"))
            continue;
        int dense = ends_with(type, "models.Dense"), norm = ends_with(type, "models.Normalize");
        if (ends_with(type, "models.Pooling")) {
            if ((rc = parse_pooling(dir, *path ? path : ".", cfg, err, errlen)))
                goto cleanup;
            have_pooling = 1;
        } else if ((dense || norm) && !have_pooling) {
            vkb_set_err(err, errlen, "modules.json: module '%.128s' comes before Pooling", type);
            rc = VKB_EUNSUPPORTED;
            goto cleanup;
        } else if (norm && cfg->n_post == 0) {
            cfg->normalize = 1; /* fused into pooling */
        } else if (dense || norm) {
            /* runs in this order after pooling: st_modules.c reads the Dense folders */
            if (cfg->n_post == MODEL_MAX_POST || strlen(path) >= sizeof cfg->post_path[0] ||
                (dense && !*path)) {
                vkb_set_err(err, errlen, "modules.json: more than %d modules after Pooling, or "
                            "a Dense path that is empty or too long ('%.128s')",
                            MODEL_MAX_POST, path);
                rc = VKB_EUNSUPPORTED;
                goto cleanup;
            }
            snprintf(cfg->post_path[cfg->n_post++], sizeof cfg->post_path[0], "%s",
                     dense ? path : "");
        } else {
            vkb_set_err(err, errlen, "modules.json: module '%.128s' is not supported (only "
                        "Transformer, Pooling, Dense, Normalize)", type);
            rc = VKB_EUNSUPPORTED;
            goto cleanup;
        }
    }
    if (!have_pooling) {
        vkb_set_err(err, errlen, "modules.json: no Pooling module, so no sentence embedding");
        rc = VKB_EINVAL;
    }
cleanup:
    json_decref(mods);
    return rc;
}

/* tokenizer_config.json's model_max_length, or 0 if absent, "unset" (HF writes 1e30) or too
 * small to hold the two special tokens (as an explicit max_seq_length must). */
static int tokenizer_max_length(const char *dir)
{
    json_t *tc;
    /* Integers as reals: HF's "unset" value does not fit a 64-bit integer. */
    if (load_json(dir, "tokenizer_config.json", JSON_DECODE_INT_AS_REAL, &tc, NULL, 0) != VKB_OK)
        return 0;
    json_t *v = json_object_get(tc, "model_max_length");
    double d = json_is_number(v) ? json_number_value(v) : 0;
    json_decref(tc);
    return d >= 2 && d <= 1e7 ? (int)d : 0;
}

static int min_int(int a, int b) { return a < b ? a : b; }

static int parse_lengths(const char *dir, model_config *cfg, char *err, size_t errlen)
{
    int tok_max = tokenizer_max_length(dir);
    int dflt = tok_max ? tok_max : 512;
    cfg->bertscore_max_len = min_int(dflt, cfg->max_tokens);
    json_t *sb;
    int rc = load_json(dir, "sentence_bert_config.json", 0, &sb, err, errlen);
    if (rc == VKB_ENOTFOUND) {
        cfg->max_seq_length = min_int(dflt, cfg->max_tokens);
        return VKB_OK;
    }
    if (rc != VKB_OK)
        return rc;
    int msl;
    rc = get_int(sb, "sentence_bert_config.json", "max_seq_length", 0, dflt, 2, 1 << 20, &msl,
                 err, errlen);
    cfg->lower_case = json_is_true(json_object_get(sb, "do_lower_case"));
    json_decref(sb);
    if (rc != VKB_OK)
        return rc;
    cfg->max_seq_length = min_int(msl, cfg->max_tokens);
    return VKB_OK;
}

int model_config_load(const char *dir, model_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    json_t *c;
    int rc = load_json(dir, "config.json", 0, &c, err, errlen);
    if (rc == VKB_ENOTFOUND)
        vkb_set_err(err, errlen, "config.json: missing (not a Hugging Face model folder)");
    if (rc != VKB_OK)
        goto fail;
    if (!json_is_object(c)) {
        vkb_set_err(err, errlen, "config.json: not a JSON object");
        rc = VKB_EINVAL;
    }
    if (rc == VKB_OK)
        rc = parse_arch(c, cfg, err, errlen);
    if (rc == VKB_OK)
        rc = parse_sizes(c, cfg, err, errlen);
    if (rc == VKB_OK && cfg->fam->parse_config)
        rc = cfg->fam->parse_config(c, cfg, err, errlen);
    json_decref(c);
    if (rc == VKB_OK)
        rc = parse_modules(dir, cfg, err, errlen);
    if (rc == VKB_OK)
        rc = parse_lengths(dir, cfg, err, errlen);
    if (rc != VKB_OK)
        goto fail;
    cfg->pool_dim = vkb_pool_mode_count(cfg->pool_modes) * cfg->hidden;
    cfg->dim = cfg->pool_dim; /* a Dense chain changes it (st_modules.c) */
    return VKB_OK;
fail:
    /* Every message above starts with the file's name inside the folder: put the folder
     * in front so the line names the file at fault. */
    if (err && errlen) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err);
        vkb_set_err(err, errlen, "%s/%s", dir, msg);
    }
    return rc;
}

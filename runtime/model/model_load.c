/*
 * model_load.c — a model folder in memory: config, the checkpoint with its tensors bound and
 * checked, and the tokenizer(s). Symlinks that leave the folder are refused before anything
 * in it is opened. Weights stay in the files until a replica reads them (pread) to upload
 * them to a backend (model_replica.c), so loading costs no copy of the weights.
 */
#include "model_internal.h"

#include "vkb_runtime.h"
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int has_tokenizer_files(const char *dir)
{
    static const char *const names[] = {"tokenizer.json", "vocab.txt", "vocab.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0)
            return 1;
    }
    return 0;
}

/* Loads the tokenizer(s): the folder's own, and for byte-level BPE a second instance with
 * add_prefix_space on, which is how bert_score encodes for RoBERTa-family models (the
 * family's bertscore_prefix_space; DeBERTa's BPE is encoded as it is). */
static int load_tokenizers(vkb_model *m, char *err, size_t errlen)
{
    char msg[384] = "";
    int rc = vkb_tokenizer_load(m->dir, NULL, &m->tok, msg, sizeof msg);
    if (rc != 0) {
        /* The tokenizer speaks errno; say it in vkb_status. */
        if (!strncmp(msg, m->dir, strlen(m->dir)))
            vkb_set_err(err, errlen, "tokenizer: %s", msg);
        else
            vkb_set_err(err, errlen, "%s: tokenizer: %s", m->dir, msg);
        return has_tokenizer_files(m->dir) ? VKB_EINVAL : VKB_ENOTFOUND;
    }
    if (vkb_tokenizer_cls_id(m->tok) < 0 || vkb_tokenizer_sep_id(m->tok) < 0) {
        vkb_set_err(err, errlen, "%s: tokenizer has no CLS/SEP (or <s>/</s>) special tokens",
                    m->dir);
        return VKB_EUNSUPPORTED;
    }
    /* bert_score adds the prefix space only for GPT-2 / RoBERTa tokenizer classes; DeBERTa's
     * byte-level BPE tokenizer is neither (testdata README, "DeBERTa semantics"). */
    if (strcmp(vkb_tokenizer_kind(m->tok), "bpe") || !m->cfg.fam->bertscore_prefix_space) {
        m->tok_bs = m->tok;
        return VKB_OK;
    }
    vkb_tokenizer_options o = {.add_prefix_space = 1};
    rc = vkb_tokenizer_load(m->dir, &o, &m->tok_bs, msg, sizeof msg);
    if (rc != 0) {
        vkb_set_err(err, errlen, "%s: tokenizer (prefix-space instance): %s", m->dir, msg);
        return VKB_EINVAL;
    }
    return VKB_OK;
}

int model_load(const char *dir, const model_load_opts *opts, vkb_model **out, char *err,
               size_t errlen)
{
    *out = NULL;
    vkb_model *m = calloc(1, sizeof *m);
    if (!m)
        return VKB_ENOMEM;
    int rc = VKB_ENOMEM;
    m->dir = strdup(dir);
    if (!m->dir)
        goto fail;
    if (opts)
        m->opts = *opts;
    if ((rc = resolve_check_folder(dir, err, errlen)) != VKB_OK)
        goto fail;
    if ((rc = model_config_load(dir, &m->cfg, err, errlen)) != VKB_OK)
        goto fail;
    if ((rc = st_modules_load(dir, &m->cfg, &m->st_mods, err, errlen)) != VKB_OK) {
        char msg[512]; /* name the folder, as model_config_load does */
        snprintf(msg, sizeof msg, "%s", err ? err : "");
        vkb_set_err(err, errlen, "%s/%s", dir, msg);
        goto fail;
    }
    if ((rc = st_open_dir(dir, &m->st, err, errlen)) != VKB_OK)
        goto fail;
    if ((rc = model_weights_bind(m->st, &m->cfg, &m->w, err, errlen)) != VKB_OK) {
        if (err && errlen && strncmp(err, dir, strlen(dir))) { /* name the folder */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", err);
            vkb_set_err(err, errlen, "%s: %s", dir, msg);
        }
        goto fail;
    }
    if ((rc = load_tokenizers(m, err, errlen)) != VKB_OK)
        goto fail;
    int tv = vkb_tokenizer_vocab_size(m->tok);
    if (tv > m->cfg.vocab)
        vkb_log(VKB_LOG_WARN, "%s: tokenizer has %d tokens but the model only %d; texts that "
                "produce the extra ids will be refused", dir, tv, m->cfg.vocab);
    vkb_model_facts *f = &m->facts;
    f->dim = m->cfg.dim;
    f->hidden = m->cfg.hidden;
    f->num_layers = m->cfg.layers;
    f->max_seq_length = m->cfg.max_seq_length;
    f->max_positions = m->cfg.max_tokens;
    snprintf(f->model_type, sizeof f->model_type, "%s", m->cfg.model_type);
    *out = m;
    return VKB_OK;
fail:
    model_free(m);
    return rc;
}

void model_free(vkb_model *m)
{
    if (!m)
        return;
    if (m->tok_bs && m->tok_bs != m->tok)
        vkb_tokenizer_free(m->tok_bs);
    if (m->tok)
        vkb_tokenizer_free(m->tok);
    model_weights_release(&m->w);
    st_modules_free(&m->st_mods);
    st_close(m->st);
    free(m->dir);
    free(m);
}

const vkb_model_facts *model_facts(const vkb_model *m) { return &m->facts; }
const vkb_tokenizer *model_tokenizer(const vkb_model *m) { return m->tok; }
const char *model_dir(const vkb_model *m) { return m->dir; }
int model_id_limit(const vkb_model *m)
{
    int tok = vkb_tokenizer_vocab_size(m->tok);
    return tok < m->cfg.vocab ? tok : m->cfg.vocab;
}
int model_cls_id(const vkb_model *m) { return vkb_tokenizer_cls_id(m->tok); }
int model_sep_id(const vkb_model *m) { return vkb_tokenizer_sep_id(m->tok); }
int model_pad_id(const vkb_model *m) { return m->cfg.pad_id; }

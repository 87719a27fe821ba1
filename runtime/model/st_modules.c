/*
 * st_modules.c — the sentence-transformers modules that are not the Transformer or Pooling:
 * Dense layers after pooling (2_Dense/config.json + model.safetensors, chained in modules.json
 * order) and the prompts of config_sentence_transformers.json (sentence-transformers v5
 * semantics, see testdata/README "Dense and prompts").
 *
 * Dense folder: config.json {in_features, out_features, bias, activation_function} and
 * model.safetensors with linear.weight (out, in) and, with bias, linear.bias (out). Folders
 * written before sentence-transformers 3.1 hold pytorch_model.bin (a pickle) instead, which is
 * refused with a message saying how to convert it: no pickle reader here.
 */
#include "model_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* torch class path -> vkb_act; -1 for one the op set does not have. */
static int activation_of(const char *cls)
{
    static const struct { const char *suffix; vkb_act act; } acts[] = {
        {".Tanh", VKB_ACT_TANH}, {".Identity", VKB_ACT_NONE}, {".ReLU", VKB_ACT_RELU},
        {".GELU", VKB_ACT_GELU_ERF}, /* torch.nn.GELU() defaults to the erf form */
    };
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
        if (ends_with(cls, acts[i].suffix))
            return (int)acts[i].act;
    return -1;
}

/* dir/sub/config.json's integer key, > 0. */
static int positive_int(json_t *c, const char *file, const char *key, int *out, char *err,
                        size_t errlen)
{
    json_t *v = json_object_get(c, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (1 << 20)) {
        vkb_set_err(err, errlen, "%s: \"%s\" must be an integer in 1..%d", file, key, 1 << 20);
        return VKB_EINVAL;
    }
    *out = (int)json_integer_value(v);
    return VKB_OK;
}

/* A float tensor of exactly this shape (rank 1 or 2) copied to host memory as F32. */
static int read_tensor(const st_archive *a, const char *file, const char *name, int rows,
                       int cols, float **out, char *err, size_t errlen)
{
    const st_tensor *t = st_find(a, name);
    int rank = rows ? 2 : 1;
    if (!t || t->dtype == ST_OTHER || t->ndim != rank || (rank == 2 && t->shape[0] != rows) ||
        t->shape[rank - 1] != cols) {
        char shape[48];
        if (rank == 2)
            snprintf(shape, sizeof shape, "[%d, %d]", rows, cols);
        else
            snprintf(shape, sizeof shape, "[%d]", cols);
        vkb_set_err(err, errlen, "%s: %s must be a float tensor of shape %s%s", file, name,
                    shape, t ? "" : " (missing)");
        return VKB_EINVAL;
    }
    *out = malloc(sizeof **out * t->count);
    if (!*out)
        return VKB_ENOMEM;
    st_read_f32(t, 0, t->count, *out);
    return VKB_OK;
}

static int load_dense(const char *dir, const char *sub, int in_width, st_dense **out, char *err,
                      size_t errlen)
{
    char path[4096], file[300];
    snprintf(file, sizeof file, "%s/config.json", sub);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t jerr;
    json_t *c = json_load_file(path, 0, &jerr);
    st_archive *a = NULL;
    st_dense *d = calloc(1, sizeof *d);
    int rc = VKB_ENOMEM;
    if (!d)
        goto fail;
    if (!c) {
        vkb_set_err(err, errlen, "%s: %s", file,
                    file_exists(path) ? jerr.text : "missing (modules.json lists a Dense module)");
        rc = VKB_EINVAL;
        goto fail;
    }
    if ((rc = positive_int(c, file, "in_features", &d->in, err, errlen)) ||
        (rc = positive_int(c, file, "out_features", &d->out, err, errlen)))
        goto fail;
    if (d->in != in_width) {
        vkb_set_err(err, errlen, "%s: in_features %d but the module before it gives %d values",
                    file, d->in, in_width);
        rc = VKB_EINVAL;
        goto fail;
    }
    json_t *jb = json_object_get(c, "bias");
    int bias = jb ? json_is_true(jb) : 1; /* sentence-transformers' default */
    json_t *ja = json_object_get(c, "activation_function");
    const char *act = json_is_string(ja) ? json_string_value(ja)
                                         : "torch.nn.modules.activation.Tanh"; /* its default */
    int k = activation_of(act);
    if (k < 0) {
        vkb_set_err(err, errlen, "%s: activation_function '%.100s' is not supported (Tanh, "
                    "Identity, ReLU, GELU)", file, act);
        rc = VKB_EUNSUPPORTED;
        goto fail;
    }
    d->act = (vkb_act)k;
    char wfile[300];
    snprintf(wfile, sizeof wfile, "%s/model.safetensors", sub);
    snprintf(path, sizeof path, "%s/%s", dir, wfile);
    if (!file_exists(path)) {
        char bin[4096];
        snprintf(bin, sizeof bin, "%s/%s/pytorch_model.bin", dir, sub);
        if (file_exists(bin)) {
            vkb_set_err(err, errlen, "%s/pytorch_model.bin: PyTorch pickles are not read; save "
                        "the module again with sentence-transformers >= 3.1 (it writes "
                        "model.safetensors)", sub);
            rc = VKB_EUNSUPPORTED;
        } else {
            vkb_set_err(err, errlen, "%s: missing (the Dense module's weights)", wfile);
            rc = VKB_EINVAL;
        }
        goto fail;
    }
    if ((rc = st_open_file(path, &a, err, errlen)) ||
        (rc = read_tensor(a, wfile, "linear.weight", d->out, d->in, &d->w, err, errlen)) ||
        (bias && (rc = read_tensor(a, wfile, "linear.bias", 0, d->out, &d->b, err, errlen))))
        goto fail;
    st_close(a);
    json_decref(c);
    *out = d;
    return VKB_OK;
fail:
    st_close(a);
    json_decref(c);
    if (d) {
        free(d->w);
        free(d->b);
        free(d);
    }
    return rc;
}

static int add_prompt(st_modules *sm, const char *name, const char *text)
{
    for (int i = 0; i < sm->n_prompts; i++)
        if (!strcmp(sm->prompt_names[i], name)) {
            char *t = strdup(text);
            if (!t)
                return VKB_ENOMEM;
            free(sm->prompt_texts[i]);
            sm->prompt_texts[i] = t;
            return VKB_OK;
        }
    char **n = realloc(sm->prompt_names, sizeof *n * (size_t)(sm->n_prompts + 1));
    if (!n)
        return VKB_ENOMEM;
    sm->prompt_names = n;
    char **t = realloc(sm->prompt_texts, sizeof *t * (size_t)(sm->n_prompts + 1));
    if (!t)
        return VKB_ENOMEM;
    sm->prompt_texts = t;
    n[sm->n_prompts] = strdup(name);
    t[sm->n_prompts] = strdup(text);
    sm->n_prompts++; /* counted even on failure so st_modules_free frees what was made */
    return n[sm->n_prompts - 1] && t[sm->n_prompts - 1] ? VKB_OK : VKB_ENOMEM;
}

/* config_sentence_transformers.json: prompts {name: text} and default_prompt_name. "query"
 * and "document" always exist (empty unless set), as in sentence-transformers v5. */
static int load_prompts(const char *dir, st_modules *sm, char *err, size_t errlen)
{
    sm->default_prompt = -1;
    int rc;
    if ((rc = add_prompt(sm, "query", "")) || (rc = add_prompt(sm, "document", "")))
        return rc;
    const char *file = "config_sentence_transformers.json";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!file_exists(path))
        return VKB_OK;
    json_error_t jerr;
    json_t *c = json_load_file(path, 0, &jerr);
    if (!c) {
        vkb_set_err(err, errlen, "%s: bad JSON at line %d: %s", file, jerr.line, jerr.text);
        return VKB_EINVAL;
    }
    json_t *prompts = json_object_get(c, "prompts"), *dflt = json_object_get(c, "default_prompt_name");
    rc = VKB_OK;
    if (prompts && !json_is_object(prompts) && !json_is_null(prompts)) {
        vkb_set_err(err, errlen, "%s: \"prompts\" must be an object of name: text", file);
        rc = VKB_EINVAL;
    }
    const char *name;
    json_t *v;
    json_object_foreach(json_is_object(prompts) ? prompts : NULL, name, v) {
        if (rc != VKB_OK)
            break;
        if (!json_is_string(v)) {
            vkb_set_err(err, errlen, "%s: prompt \"%.64s\" must be a string", file, name);
            rc = VKB_EINVAL;
        } else {
            rc = add_prompt(sm, name, json_string_value(v));
        }
    }
    if (rc == VKB_OK && dflt && !json_is_null(dflt)) {
        for (int i = 0; json_is_string(dflt) && i < sm->n_prompts; i++)
            if (!strcmp(sm->prompt_names[i], json_string_value(dflt)))
                sm->default_prompt = i;
        if (sm->default_prompt < 0) {
            vkb_set_err(err, errlen, "%s: default_prompt_name is not one of the prompts", file);
            rc = VKB_EINVAL;
        }
    }
    json_decref(c);
    return rc;
}

int st_modules_load(const char *dir, model_config *cfg, st_modules *sm, char *err,
                    size_t errlen)
{
    memset(sm, 0, sizeof *sm);
    int width = cfg->pool_dim, rc = VKB_OK;
    for (int i = 0; i < cfg->n_post && rc == VKB_OK; i++) {
        if (!cfg->post_path[i][0])
            continue; /* Normalize */
        rc = load_dense(dir, cfg->post_path[i], width, &sm->dense[i], err, errlen);
        if (rc == VKB_OK)
            width = sm->dense[i]->out;
    }
    if (rc == VKB_OK)
        rc = load_prompts(dir, sm, err, errlen);
    if (rc != VKB_OK) {
        st_modules_free(sm);
        return rc;
    }
    cfg->dim = width;
    return VKB_OK;
}

void st_modules_free(st_modules *sm)
{
    for (int i = 0; i < MODEL_MAX_POST; i++)
        if (sm->dense[i]) {
            free(sm->dense[i]->w);
            free(sm->dense[i]->b);
            free(sm->dense[i]);
        }
    for (int i = 0; i < sm->n_prompts; i++) {
        free(sm->prompt_names[i]);
        free(sm->prompt_texts[i]);
    }
    free(sm->prompt_names);
    free(sm->prompt_texts);
    memset(sm, 0, sizeof *sm);
}

/*
 * gen_model.c — writes a random-weight model folder (see gen_model.h): config.json, the
 * checkpoint (one safetensors file or shards + model.safetensors.index.json), tokenizer
 * files, and the sentence-transformers files. Config keys and tensor names come from the
 * model family's tables (model.h, runtime/model/model_family.c), the ones the loader reads.
 *
 * Every tensor's values come from its own random stream seeded by (seed, tensor name), so
 * the same seed gives the same weights however the checkpoint is sharded or typed: F16 and
 * BF16 checkpoints hold the F32 values rounded to nearest even. Tensors are generated and
 * written in chunks, so a roberta-large folder never needs the model in memory.
 */
#include "gen_model.h"
#include "vkb_platform.h"

#include "model.h"
#include "vkb_runtime.h"
#include "vkb_tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct shape_def {
    const char *name, *model_type;
    int layers, hidden, heads, intermediate, vocab, type_vocab, pad_id;
    double eps;
    int max_seq_length, normalize;
    int max_tokens; /* token positions (0: 512) */
} shape_def;

static const shape_def shapes[] = {
    /* sentence-transformers/all-MiniLM-L6-v2 */
    {"minilm", "bert", 6, 384, 12, 1536, 30522, 2, 0, 1e-12, 256, 1, 0},
    /* roberta-large (bert_score's default English model) */
    {"roberta-large", "roberta", 24, 1024, 16, 4096, 50265, 1, 1, 1e-5, 512, 0, 0},
    /* sentence-transformers/all-mpnet-base-v2 */
    {"mpnet-base", "mpnet", 12, 768, 12, 3072, 30527, 0, 1, 1e-5, 384, 1, 0},
    /* distilbert-base-uncased (msmarco-distilbert-*, multi-qa-distilbert-*) */
    {"distilbert-base", "distilbert", 6, 768, 12, 3072, 30522, 0, 0, 1e-12, 512, 0, 0},
    /* small enough for unit tests */
    {"tiny", "bert", 2, 32, 4, 64, 1024, 2, 0, 1e-12, 128, 1, 0},
    /* microsoft/deberta-xlarge-mnli (bert_score's best-correlating model, layer 40): DeBERTa
     * v1, c2p|p2c, no absolute positions (the table is written anyway, as its checkpoint
     * has it), no token types */
    {"deberta-xlarge-mnli", "deberta", 48, 1024, 16, 4096, 50265, 0, 0, 1e-7, 512, 0, 0},
    /* BAAI/bge-m3: XLM-R large with 8192 token positions (max_position_embeddings 8194),
     * one token type */
    {"bge-m3", "xlm-roberta", 24, 1024, 16, 4096, 250002, 1, 1, 1e-5, 8192, 1, 8192},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- the tensor list */

typedef enum { INIT_WEIGHT, INIT_BIAS, INIT_GAMMA, INIT_BETA } init_kind;

typedef struct gen_tensor {
    char name[160];
    int64_t rows, cols; /* cols 0: a vector */
    init_kind init;
    int shard;
} gen_tensor;

typedef struct tensor_list {
    gen_tensor *t;
    int n, cap;
} tensor_list;

static int add(tensor_list *l, const char *prefix, const char *name, int64_t rows, int64_t cols,
               init_kind init)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        gen_tensor *t = realloc(l->t, sizeof *t * cap);
        if (!t)
            return VKB_ENOMEM;
        l->t = t;
        l->cap = cap;
    }
    gen_tensor *g = &l->t[l->n++];
    snprintf(g->name, sizeof g->name, "%s%s", prefix, name);
    g->rows = rows;
    g->cols = cols;
    g->init = init;
    g->shard = 0;
    return VKB_OK;
}

typedef struct dims {
    int layers, hidden, heads, intermediate, vocab, type_vocab, max_pos, pad_id, buckets;
    int max_seq_length; /* sentence_bert_config.json's */
    int rel_rows; /* DeBERTa's relative table */
} dims;

static int64_t dim_of(model_dim m, const dims *d)
{
    switch (m) {
    case MD_C: return d->hidden;
    case MD_I: return d->intermediate;
    case MD_V: return d->vocab;
    case MD_P: return d->max_pos;
    case MD_T: return d->type_vocab;
    case MD_HEADS: return d->heads;
    case MD_BUCKETS: return d->buckets;
    case MD_C3: return 3 * (int64_t)d->hidden;
    case MD_REL_ROWS: return d->rel_rows;
    default: return 0;
    }
}

static init_kind init_of(model_init i)
{
    return i == MI_BIAS ? INIT_BIAS : i == MI_GAMMA ? INIT_GAMMA : i == MI_BETA ? INIT_BETA
                                                                               : INIT_WEIGHT;
}

static int add_table(tensor_list *l, const char *p, const char *head, const model_tensor_def *t,
                     int n, const dims *d)
{
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", head, t[k].name);
        if (dim_of(t[k].rows, d) == 0)
            continue; /* a table of no rows (DeBERTa's token types at type_vocab_size 0) */
        rc = add(l, p, name, dim_of(t[k].rows, d), dim_of(t[k].cols, d), init_of(t[k].init));
    }
    return rc;
}

/* Every tensor of the family's checkpoint, in Hugging Face's names (the loader's tables),
 * plus the pooler: a head tensor the loader must ignore. */
static int build_list(tensor_list *l, const model_family *fam, const char *p, const dims *d)
{
    int rc = add_table(l, p, "", fam->tensors, fam->n_tensors, d);
    for (int i = 0; i < d->layers && !rc; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s%d.", fam->layer_prefix, i);
        rc = add_table(l, p, head, fam->layer_tensors, fam->n_layer_tensors, d);
    }
    if (!rc)
        rc = add(l, p, "pooler.dense.weight", d->hidden, d->hidden, INIT_WEIGHT);
    if (!rc)
        rc = add(l, p, "pooler.dense.bias", d->hidden, 0, INIT_BIAS);
    return rc ? VKB_ENOMEM : VKB_OK;
}

/* ---------------------------------------------------------------- values */

typedef enum { OUT_F32, OUT_F16, OUT_BF16 } out_dtype;

static size_t out_size(out_dtype d) { return d == OUT_F32 ? 4 : 2; }
static const char *out_name(out_dtype d)
{
    return d == OUT_F32 ? "F32" : d == OUT_F16 ? "F16" : "BF16";
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* splitmix64: a good stream from any seed. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float next_sym(uint64_t *s) { return (float)((next_u64(s) >> 40) * (2.0 / 16777216.0)) - 1.0f; }

static float init_value(init_kind k, uint64_t *s)
{
    switch (k) {
    case INIT_WEIGHT:
        return 0.0346f * next_sym(s); /* uniform with std 0.02, HF's initializer_range */
    case INIT_BIAS:
        return 0.02f * next_sym(s);
    case INIT_GAMMA:
        return 1.0f + 0.1f * next_sym(s);
    default:
        return 0.05f * next_sym(s);
    }
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7FFF + ((u >> 16) & 1); /* round to nearest even (no NaNs are generated) */
    return (uint16_t)(u >> 16);
}

enum { CHUNK = 65536 }; /* values generated per write */

static int write_values(FILE *f, const gen_tensor *t, out_dtype dt, uint64_t seed)
{
    uint64_t s = fnv1a(t->name, 0xcbf29ce484222325ull ^ seed);
    size_t count = (size_t)t->rows * (size_t)(t->cols ? t->cols : 1);
    float *vals = malloc(CHUNK * sizeof *vals);
    uint16_t *halves = malloc(CHUNK * sizeof *halves);
    int rc = vals && halves ? VKB_OK : VKB_ENOMEM;
    for (size_t off = 0; off < count && rc == VKB_OK; off += CHUNK) {
        size_t n = count - off < CHUNK ? count - off : CHUNK;
        for (size_t i = 0; i < n; i++)
            vals[i] = init_value(t->init, &s);
        size_t w;
        if (dt == OUT_F32) {
            w = fwrite(vals, 4, n, f);
        } else {
            for (size_t i = 0; i < n; i++)
                halves[i] = dt == OUT_F16 ? vkb_f32_to_f16(vals[i]) : f32_to_bf16(vals[i]);
            w = fwrite(halves, 2, n, f);
        }
        if (w != n)
            rc = VKB_EIO;
    }
    free(vals);
    free(halves);
    return rc;
}

/* ---------------------------------------------------------------- safetensors */

static size_t tensor_bytes(const gen_tensor *t, out_dtype dt)
{
    return (size_t)t->rows * (size_t)(t->cols ? t->cols : 1) * out_size(dt);
}

/* Writes the tensors of `shard` (all when shard < 0) to path. */
static int write_safetensors(const char *path, const tensor_list *l, int shard, out_dtype dt,
                             uint64_t seed, char *err, size_t errlen)
{
    json_t *hdr = json_pack("{s:{s:s}}", "__metadata__", "format", "pt");
    size_t off = 0;
    for (int i = 0; i < l->n; i++) {
        const gen_tensor *t = &l->t[i];
        if (shard >= 0 && t->shard != shard)
            continue;
        size_t b = tensor_bytes(t, dt);
        json_t *shape = t->cols ? json_pack("[I, I]", (json_int_t)t->rows, (json_int_t)t->cols)
                                : json_pack("[I]", (json_int_t)t->rows);
        json_object_set_new(hdr, t->name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", out_name(dt), "shape",
                                      shape, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + b)));
        off += b;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    json_decref(hdr);
    if (!text)
        return VKB_ENOMEM;
    size_t n = strlen(text), padded = (n + 7) & ~(size_t)7; /* data starts 8-aligned */
    int rc = VKB_OK;
    FILE *f = fopen(path, "wb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        free(text);
        return VKB_EIO;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(text, 1, n, f) != n)
        rc = VKB_EIO;
    for (size_t i = n; i < padded && rc == VKB_OK; i++)
        if (fputc(' ', f) == EOF)
            rc = VKB_EIO;
    for (int i = 0; i < l->n && rc == VKB_OK; i++)
        if (shard < 0 || l->t[i].shard == shard)
            rc = write_values(f, &l->t[i], dt, seed);
    if (fclose(f) != 0)
        rc = VKB_EIO;
    if (rc != VKB_OK)
        set_err(err, errlen, "%s: write failed (disk full?)", path);
    free(text);
    return rc;
}

/* Shards by count: tensor i goes to shard i * n / count, so every shard gets tensors and
 * each tensor lives in exactly one. */
static int write_sharded(const char *dir, tensor_list *l, int n_shards, out_dtype dt,
                         uint64_t seed, char *err, size_t errlen)
{
    if (n_shards > l->n)
        n_shards = l->n;
    size_t total = 0;
    for (int i = 0; i < l->n; i++) {
        total += tensor_bytes(&l->t[i], dt);
        l->t[i].shard = (int)((int64_t)i * n_shards / l->n);
    }
    json_t *map = json_object();
    int rc = VKB_OK;
    for (int s = 0; s < n_shards && rc == VKB_OK; s++) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        for (int i = 0; i < l->n; i++)
            if (l->t[i].shard == s)
                json_object_set_new(map, l->t[i].name, json_string(name));
        rc = write_safetensors(path, l, s, dt, seed, err, errlen);
    }
    if (rc == VKB_OK) {
        json_t *idx = json_pack("{s:{s:I}, s:O}", "metadata", "total_size", (json_int_t)total,
                                "weight_map", map);
        char path[4096];
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        if (json_dump_file(idx, path, JSON_INDENT(2)) != 0) {
            set_err(err, errlen, "%s: %s", path, strerror(errno));
            rc = VKB_EIO;
        }
        json_decref(idx);
    }
    json_decref(map);
    return rc;
}

/* ---------------------------------------------------------------- JSON files */

static int dump(json_t *j, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = VKB_OK;
    if (!j || json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) != 0) {
        set_err(err, errlen, "%s: %s", path, j ? strerror(errno) : "could not build the JSON");
        rc = VKB_EIO;
    }
    json_decref(j);
    return rc;
}

static int write_config(const char *dir, const model_family *fam, const char *type,
                        const shape_def *sh, const dims *d, out_dtype dt, char *err,
                        size_t errlen)
{
    json_t *c = json_pack(
        "{s:[s], s:s, s:i, s:i, s:i, s:i, s:s, s:i, s:i, s:f, s:f, s:f, s:s}", "architectures",
        fam->architecture, "model_type", type, fam->hidden.name, d->hidden,
        fam->layers.name, d->layers, fam->heads.name, d->heads, fam->intermediate.name,
        d->intermediate, fam->act.name, "gelu", "vocab_size", d->vocab,
        "max_position_embeddings", d->max_pos, "hidden_dropout_prob", 0.1,
        "attention_probs_dropout_prob", 0.1, "initializer_range", 0.02, "torch_dtype",
        dt == OUT_F32 ? "float32" : dt == OUT_F16 ? "float16" : "bfloat16");
    if (!c)
        return dump(c, dir, "config.json", err, errlen);
    json_object_set_new(c, "pad_token_id", json_integer(d->pad_id));
    if (fam->eps.name)
        json_object_set_new(c, fam->eps.name, json_real(sh->eps));
    if (fam->token_types) {
        json_object_set_new(c, "type_vocab_size", json_integer(d->type_vocab));
        json_object_set_new(c, "position_embedding_type", json_string("absolute"));
    }
    if (fam->rel == MR_T5_BUCKETS)
        json_object_set_new(c, "relative_attention_num_buckets", json_integer(d->buckets));
    if (fam->gen_config) { /* the family's own keys (DeBERTa's relative attention) */
        json_t *extra = json_loads(fam->gen_config, 0, NULL);
        json_object_update(c, extra);
        json_decref(extra);
    }
    if (d->pad_id == 1) { /* <s> 0, <pad> 1, </s> 2 */
        json_object_set_new(c, "bos_token_id", json_integer(0));
        json_object_set_new(c, "eos_token_id", json_integer(2));
    }
    return dump(c, dir, "config.json", err, errlen);
}

static int write_sentence_transformers(const char *dir, const shape_def *sh, const dims *d,
                                       char *err, size_t errlen)
{
    json_t *mods = json_pack("[{s:i, s:s, s:s, s:s}, {s:i, s:s, s:s, s:s}]", "idx", 0, "name",
                             "0", "path", "", "type", "sentence_transformers.models.Transformer",
                             "idx", 1, "name", "1", "path", "1_Pooling", "type",
                             "sentence_transformers.models.Pooling");
    if (mods && sh->normalize)
        json_array_append_new(mods, json_pack("{s:i, s:s, s:s, s:s}", "idx", 2, "name", "2",
                                              "path", "2_Normalize", "type",
                                              "sentence_transformers.models.Normalize"));
    int rc = dump(mods, dir, "modules.json", err, errlen);
    char pool_dir[4096];
    snprintf(pool_dir, sizeof pool_dir, "%s/1_Pooling", dir);
    if (rc == VKB_OK && vkb_mkdir(pool_dir) != 0 && errno != EEXIST) {
        set_err(err, errlen, "%s: %s", pool_dir, strerror(errno));
        rc = VKB_EIO;
    }
    if (rc == VKB_OK)
        rc = dump(json_pack("{s:i, s:b, s:b, s:b, s:b}", "word_embedding_dimension", d->hidden,
                            "pooling_mode_cls_token", 0, "pooling_mode_mean_tokens", 1,
                            "pooling_mode_max_tokens", 0, "pooling_mode_mean_sqrt_len_tokens", 0),
                  pool_dir, "config.json", err, errlen);
    if (rc == VKB_OK)
        rc = dump(json_pack("{s:i, s:b}", "max_seq_length", d->max_seq_length, "do_lower_case",
                            0),
                  dir, "sentence_bert_config.json", err, errlen);
    return rc;
}

/* ---------------------------------------------------------------- the folder */

static const shape_def *find_shape(const char *name)
{
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (!strcmp(shapes[i].name, name))
            return &shapes[i];
    return NULL;
}

/* mkdir -p: the folder and any missing parents. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        set_err(err, errlen, "%.64s...: path too long", path);
        return VKB_EINVAL;
    }
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = 0;
        if (vkb_mkdir(buf) != 0 && errno != EEXIST) {
            set_err(err, errlen, "%s: %s", buf, strerror(errno));
            return VKB_EIO;
        }
        if (!(*p = c))
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "%s: not a folder", path);
        return VKB_EIO;
    }
    return VKB_OK;
}

/* Tokenizer files into dir; fills d->vocab and d->pad_id from them. */
static int write_tokenizer(const gen_model_spec *s, dims *d, char *err, size_t errlen)
{
    if (!s->vocab_from) /* specials at RoBERTa's ids (<pad> 1) when the family pads with 1 */
        return gen_wordpiece_tokenizer(s->out, d->vocab, d->pad_id == 1, err, errlen);
    int rc = gen_copy_tokenizer(s->out, s->vocab_from, err, errlen);
    if (rc != VKB_OK)
        return rc;
    vkb_tokenizer *tok = NULL;
    char msg[256] = "";
    rc = vkb_tokenizer_load(s->out, NULL, &tok, msg, sizeof msg);
    if (rc != VKB_OK) {
        set_err(err, errlen, "%s: the copied tokenizer does not load: %s", s->vocab_from, msg);
        return rc;
    }
    d->vocab = vkb_tokenizer_vocab_size(tok);
    int pad = vkb_tokenizer_pad_id(tok);
    if (pad >= 0)
        d->pad_id = pad;
    vkb_tokenizer_free(tok);
    return VKB_OK;
}

int gen_model_write(const gen_model_spec *s, char *err, size_t errlen)
{
    const shape_def *sh = find_shape(s->shape ? s->shape : "");
    if (!sh) {
        set_err(err, errlen, "unknown shape '%s' (minilm, roberta-large, mpnet-base, "
                "distilbert-base, tiny, deberta-xlarge-mnli, bge-m3)", s->shape ? s->shape : "");
        return VKB_EINVAL;
    }
    const char *type = s->family ? s->family : sh->model_type;
    const model_family *fam = model_family_find(type);
    if (!fam) {
        set_err(err, errlen, "unknown family '%s' (a model_type: bert, roberta, xlm-roberta, "
                "camembert, distilbert, mpnet, deberta, deberta-v2)", type);
        return VKB_EINVAL;
    }
    out_dtype dt = OUT_F32;
    if (s->dtype && !strcmp(s->dtype, "f16"))
        dt = OUT_F16;
    else if (s->dtype && !strcmp(s->dtype, "bf16"))
        dt = OUT_BF16;
    else if (s->dtype && strcmp(s->dtype, "f32")) {
        set_err(err, errlen, "unknown dtype '%s' (f32, f16, bf16)", s->dtype);
        return VKB_EINVAL;
    }
    dims d = {
        .layers = s->layers ? s->layers : sh->layers,
        .hidden = s->hidden ? s->hidden : sh->hidden,
        .heads = s->heads ? s->heads : sh->heads,
        .intermediate = s->intermediate ? s->intermediate : sh->intermediate,
        .vocab = sh->vocab,
        .type_vocab = fam->token_types ? (sh->type_vocab ? sh->type_vocab : 2) : 0,
        .pad_id = s->family ? fam->default_pad_id : sh->pad_id,
        .buckets = 32, /* MPNet's relative_attention_num_buckets */
    };
    if (d.layers < 1 || d.layers > 256 || d.hidden < 1 || d.hidden > 16384 || d.heads < 1 ||
        d.hidden % d.heads || d.intermediate < 1 || d.intermediate > 65536) {
        set_err(err, errlen, "bad sizes: %d layers, hidden %d, %d heads, intermediate %d (hidden "
                "must be a multiple of heads)", d.layers, d.hidden, d.heads, d.intermediate);
        return VKB_EINVAL;
    }
    int rc = make_dirs(s->out, err, errlen);
    if (rc != VKB_OK)
        return rc;
    rc = write_tokenizer(s, &d, err, errlen);
    if (rc != VKB_OK)
        return rc;
    /* RoBERTa-style positions start after the padding index: room for 512 tokens (or the
     * shape's or --max-tokens' count) and pad_id + 1 more rows (514 for roberta-large and
     * all-mpnet-base-v2, 8194 for bge-m3). --max-tokens also sets max_seq_length. */
    int pos_pad = fam->position_pad >= 0 ? fam->position_pad : d.pad_id;
    int tokens = s->max_tokens ? s->max_tokens : sh->max_tokens ? sh->max_tokens : 512;
    d.max_pos = fam->positions == MP_ROBERTA ? tokens + pos_pad + 1 : tokens;
    d.max_seq_length = s->max_tokens ? s->max_tokens : sh->max_seq_length;
    /* DeBERTa's relative table: 2 * position_buckets rows where the family's config sets
     * them, else 2 * max_relative_positions (-1: max_position_embeddings) */
    d.rel_rows = 2 * d.max_pos;
    if (fam->gen_config) {
        json_t *extra = json_loads(fam->gen_config, 0, NULL);
        json_int_t pb = json_integer_value(json_object_get(extra, "position_buckets"));
        if (pb > 0)
            d.rel_rows = 2 * (int)pb;
        json_decref(extra);
    }
    tensor_list l = {0};
    const char *prefix = s->prefix ? s->prefix : fam->default_prefix;
    rc = build_list(&l, fam, prefix, &d);
    if (rc == VKB_OK)
        rc = write_config(s->out, fam, type, sh, &d, dt, err, errlen);
    if (rc == VKB_OK)
        rc = write_sentence_transformers(s->out, sh, &d, err, errlen);
    /* A checkpoint of the other layout left in the folder would shadow (or confuse) the new
     * one: the index wins over model.safetensors when both exist. */
    char single[4096], index[4096];
    snprintf(single, sizeof single, "%s/model.safetensors", s->out);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", s->out);
    unlink(s->shards > 1 ? single : index);
    if (rc == VKB_OK && s->shards > 1)
        rc = write_sharded(s->out, &l, s->shards, dt, s->seed, err, errlen);
    else if (rc == VKB_OK)
        rc = write_safetensors(single, &l, -1, dt, s->seed, err, errlen);
    free(l.t);
    return rc;
}

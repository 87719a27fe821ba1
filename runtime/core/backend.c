/*
 * backend.c — the public face of the backend layer: opening backends, tensors, recording.
 *
 * Every vkb_op_* checks its arguments here, once: tensor sizes against the stated shapes,
 * dtypes, aliasing. Implementations (cpu_*.c, vk_*.c) then trust their inputs. An op called
 * outside vkb_batch_begin/end runs in a batch of its own, which keeps tests and one-off work
 * simple; the encoder records whole forwards between one begin/end.
 */
#include "backend.h"

#include <limits.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vkb_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int vkb_backend_open(const char *spec, vkb_backend **out, char *err, size_t errlen)
{
    *out = NULL;
    /* One device, read with the engine's grammar (vkb_device_spec_parse). */
    vkb_device_spec ds;
    int rc = vkb_device_spec_parse(spec, &ds, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if (ds.kind == VKB_SPEC_ALL || ds.n > 1) {
        vkb_set_err(err, errlen, "bad device '%s': want one of cpu, auto, vulkan or vulkan:N",
                    spec);
        return VKB_EINVAL;
    }
    const char *one = ds.kind == VKB_SPEC_AUTO ? "auto" : ds.items[0];
    vkb_backend *b = calloc(1, sizeof *b);
    if (!b)
        return VKB_ENOMEM;
    char chosen[32] = "";
    if (!strcmp(one, "auto")) {
        vkb_device_auto(chosen, sizeof chosen, b->choice, sizeof b->choice);
        one = chosen;
    }
    if (!strcmp(one, "cpu")) {
        rc = cpu_backend_open(b, err, errlen);
    } else if (!strcmp(one, "vulkan")) {
        rc = vk_backend_open(b, -1, err, errlen);
    } else { /* "vulkan:N", N canonical digits */
        rc = vk_backend_open(b, atoi(one + strlen("vulkan:")), err, errlen);
        if (rc != VKB_OK && chosen[0]) { /* the GPU auto chose would not open */
            char choice[sizeof b->choice];
            snprintf(choice, sizeof choice, "auto: cpu, the CPU backend; %s would not open (%s)",
                     one, err ? err : "unknown reason");
            vkb_log(VKB_LOG_WARN, "%s", choice);
            memset(b, 0, sizeof *b);
            memcpy(b->choice, choice, sizeof choice);
            rc = cpu_backend_open(b, err, errlen);
        }
    }
    if (rc != VKB_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return VKB_OK;
}

void vkb_backend_close(vkb_backend *b)
{
    if (!b)
        return;
    if (b->ops && b->ops->close)
        b->ops->close(b);
    free(b);
}

int vkb_backend_is_vulkan(const vkb_backend *b) { return b->has_info; }
const char *vkb_backend_id(const vkb_backend *b) { return b->id; }
const char *vkb_backend_device_name(const vkb_backend *b) { return b->device_name; }
const char *vkb_backend_choice(const vkb_backend *b) { return b->choice; }
const vkb_device_info *vkb_backend_device_info(const vkb_backend *b)
{
    return b->has_info ? &b->info : NULL;
}
int vkb_backend_supports_f16(const vkb_backend *b) { return b->supports_f16; }
uint64_t vkb_backend_bytes_in_use(const vkb_backend *b) { return b->bytes_in_use; }
uint64_t vkb_backend_bytes_peak(const vkb_backend *b) { return b->bytes_peak; }

void vkb_backend_caps(const vkb_backend *b, vkb_caps *out)
{
    *out = (vkb_caps){.max_seq_len = VKB_ATTENTION_MAX_L, .max_head_size = INT_MAX};
    if (b->ops->caps)
        b->ops->caps(b, out);
}

int vkb_backend_check_attention(const vkb_backend *b, int seq_len, int heads, int head_size,
                                char *err, size_t errlen)
{
    vkb_caps caps;
    vkb_backend_caps(b, &caps);
    if (seq_len > caps.max_seq_len) {
        vkb_set_err(err, errlen, "%s (%s): attention: sequence length %d is over the %d this "
                                 "backend's attention takes", b->id, b->device_name, seq_len,
                    caps.max_seq_len);
        return VKB_EUNSUPPORTED;
    }
    if (head_size > caps.max_head_size) {
        vkb_set_err(err, errlen, "%s (%s): attention: head size %d (hidden %d / %d heads) is "
                                 "over the %d this device's attention kernel takes (%u bytes of "
                                 "shared memory)", b->id, b->device_name, head_size,
                    head_size * heads, heads, caps.max_head_size, caps.shared_memory);
        return VKB_EUNSUPPORTED;
    }
    return VKB_OK;
}

/* ---------------------------------------------------------------- tensors */

vkb_tensor *vkb_tensor_new(vkb_backend *b, vkb_dtype dtype, size_t n)
{
    if (!b || n == 0 || (dtype != VKB_F32 && dtype != VKB_F16 && dtype != VKB_I32))
        return NULL;
    if (dtype == VKB_F16 && !b->supports_f16)
        return NULL;
    vkb_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->b = b;
    t->dtype = dtype;
    t->n = n;
    t->bytes = n * vkb_dtype_size(dtype);
    if (b->ops->tensor_alloc(b, t) != VKB_OK) {
        free(t);
        return NULL;
    }
    b->bytes_in_use += t->bytes;
    if (b->bytes_in_use > b->bytes_peak)
        b->bytes_peak = b->bytes_in_use;
    return t;
}

void vkb_tensor_free(vkb_tensor *t)
{
    if (!t)
        return;
    t->b->bytes_in_use -= t->bytes;
    t->b->ops->tensor_free(t);
    free(t);
}

size_t vkb_tensor_count(const vkb_tensor *t) { return t->n; }
vkb_dtype vkb_tensor_dtype(const vkb_tensor *t) { return t->dtype; }

int vkb_tensor_upload(vkb_tensor *t, size_t offset, const void *src, size_t n)
{
    if (!t || !src || offset > t->n || n > t->n - offset || t->b->recording || t->pack_lanes)
        return VKB_EINVAL;
    if (n == 0)
        return VKB_OK;
    size_t es = vkb_dtype_size(t->dtype);
    return t->b->ops->upload(t, offset * es, src, n * es);
}

int vkb_tensor_download(const vkb_tensor *t, size_t offset, void *dst, size_t n)
{
    if (!t || !dst || offset > t->n || n > t->n - offset || t->b->recording || t->pack_lanes)
        return VKB_EINVAL;
    if (n == 0)
        return VKB_OK;
    size_t es = vkb_dtype_size(t->dtype);
    return t->b->ops->download(t, offset * es, dst, n * es);
}

/* ---------------------------------------------------------------- recording */

int vkb_batch_begin(vkb_backend *b)
{
    if (!b || b->recording)
        return VKB_EINVAL;
    b->n_timings = 0;
    b->batch_status = VKB_OK;
    int rc = b->ops->batch_begin(b);
    if (rc == VKB_OK)
        b->recording = 1;
    return rc;
}

int vkb_batch_end(vkb_backend *b)
{
    if (!b || !b->recording)
        return VKB_EINVAL;
    int rc = b->ops->batch_end(b);
    b->recording = 0;
    b->auto_batch = 0;
    return b->batch_status != VKB_OK ? b->batch_status : rc;
}

void vkb_backend_set_timing(vkb_backend *b, int on)
{
    b->timing = on != 0;
}

int vkb_batch_timings(const vkb_backend *b, const char ***names, const double **ms)
{
    *names = (const char **)b->timing_names;
    *ms = b->timing_ms;
    return b->n_timings;
}

/* A lone op (no batch open) gets a batch of its own: open before, close after. */
static int op_enter(vkb_backend *b)
{
    if (b->recording)
        return VKB_OK;
    int rc = vkb_batch_begin(b);
    if (rc == VKB_OK)
        b->auto_batch = 1;
    return rc;
}

static int op_leave(vkb_backend *b, int rc)
{
    if (rc != VKB_OK && b->batch_status == VKB_OK)
        b->batch_status = rc;
    if (b->auto_batch) {
        int rc2 = vkb_batch_end(b);
        return rc != VKB_OK ? rc : rc2;
    }
    return rc;
}

/* A tensor argument is valid if it exists, lives on b, has the dtype and >= n elements (and
 * is not a weight in a blocked layout, which only matmul's W reads). */
static int tensor_ok(const vkb_backend *b, const vkb_tensor *t, vkb_dtype dtype, size_t n)
{
    return t && t->b == b && t->dtype == dtype && t->n >= n && !t->pack_lanes;
}

/* A table read element by element (F32 or F16, >= n elements, not in a blocked layout). */
static int table_ok(const vkb_backend *b, const vkb_tensor *t, size_t n)
{
    return t && t->b == b && (t->dtype == VKB_F32 || t->dtype == VKB_F16) && t->n >= n &&
           !t->pack_lanes;
}

/* W of a matmul: such a table of N*K elements, or a vkb_weight_new tensor made N x K. */
static int weight_ok(const vkb_backend *b, const vkb_tensor *t, int N, int K)
{
    if (t && t->w_rows)
        return t->b == b && t->w_rows == N && t->w_cols == K;
    return table_ok(b, t, (size_t)N * K);
}

int vkb_op_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                  const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act)
{
    if (!b || M <= 0 || N <= 0 || K <= 0 || act < VKB_ACT_NONE || act > VKB_ACT_TANH)
        return VKB_EINVAL;
    size_t mn = (size_t)M * N;
    if (!tensor_ok(b, Y, VKB_F32, mn) || !tensor_ok(b, X, VKB_F32, (size_t)M * K) ||
        !weight_ok(b, W, N, K) || (bias && !tensor_ok(b, bias, VKB_F32, (size_t)N)) ||
        (R && !tensor_ok(b, R, VKB_F32, mn)) || Y == X || Y == W || (R && Y == R))
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->matmul(b, Y, X, W, bias, R, M, N, K, act));
}

int vkb_op_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, int B, int L, int H, int d)
{
    if (!b || B <= 0 || L <= 0 || H <= 0 || d <= 0)
        return VKB_EINVAL;
    char why[256];
    if (vkb_backend_check_attention(b, L, H, d, why, sizeof why) != VKB_OK) {
        vkb_log(VKB_LOG_ERROR, "%s", why);
        return VKB_EUNSUPPORTED;
    }
    size_t rows = (size_t)B * L;
    if (!tensor_ok(b, ctx, VKB_F32, rows * H * d) ||
        !tensor_ok(b, qkv, VKB_F32, rows * 3 * H * d) ||
        !tensor_ok(b, lengths, VKB_I32, (size_t)B) || ctx == qkv)
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->attention(b, ctx, qkv, lengths, B, L, H, d));
}

int vkb_op_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                         const vkb_tensor *lengths, const vkb_tensor *pos,
                         const vkb_tensor *rel, const vkb_rel_attn *ra, int B, int L, int H,
                         int d)
{
    if (!b || !ra || B <= 0 || L <= 0 || H <= 0 || d <= 0 || L > 512)
        return VKB_EINVAL;
    size_t rows = (size_t)B * L, hd = (size_t)H * d;
    if (!tensor_ok(b, ctx, VKB_F32, rows * hd) || !tensor_ok(b, qkv, VKB_F32, rows * 3 * hd) ||
        !tensor_ok(b, lengths, VKB_I32, (size_t)B) ||
        !tensor_ok(b, rel, VKB_I32, (size_t)2 * L - 1) || ctx == qkv)
        return VKB_EINVAL;
    int terms = (ra->pk_col >= 0) + (ra->pq_col >= 0);
    if (terms) {
        /* Each term's H*d columns lie inside a row of pos. */
        if (ra->rows <= 0 || ra->ld <= 0 || !tensor_ok(b, pos, VKB_F32, (size_t)ra->rows * ra->ld) ||
            pos == ctx)
            return VKB_EINVAL;
        if ((ra->pk_col >= 0 && (size_t)ra->pk_col + hd > (size_t)ra->ld) ||
            (ra->pq_col >= 0 && (size_t)ra->pq_col + hd > (size_t)ra->ld))
            return VKB_EINVAL;
    }
    if (!(ra->scale > 0.0f) || ra->scale > 1e30f)
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->attention_rel(b, ctx, qkv, lengths, terms ? pos : NULL, rel, ra,
                                             B, L, H, d));
}

int vkb_op_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                     const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols,
                     float eps)
{
    if (!b || rows <= 0 || cols <= 0 || !(eps >= 0))
        return VKB_EINVAL;
    size_t n = (size_t)rows * cols;
    if (!tensor_ok(b, Y, VKB_F32, n) || !tensor_ok(b, X, VKB_F32, n) ||
        (R && !tensor_ok(b, R, VKB_F32, n)) || !tensor_ok(b, gamma, VKB_F32, (size_t)cols) ||
        !tensor_ok(b, beta, VKB_F32, (size_t)cols) || Y == X || (R && Y == R))
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->layernorm(b, Y, X, R, gamma, beta, rows, cols, eps));
}

int vkb_op_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
                 const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
                 vkb_pos_mode pos_mode, int pad_id, float eps)
{
    if (!b || B <= 0 || L <= 0 || C <= 0 || !(eps >= 0) ||
        (pos_mode != VKB_POS_BERT && pos_mode != VKB_POS_ROBERTA) || pad_id < 0)
        return VKB_EINVAL;
    size_t rows = (size_t)B * L;
    /* Positions reach L-1 (BERT) or pad_id + L (RoBERTa). */
    size_t max_pos = pos_mode == VKB_POS_BERT ? (size_t)L : (size_t)pad_id + 1 + (size_t)L;
    if (!tensor_ok(b, Y, VKB_F32, rows * C) || !tensor_ok(b, ids, VKB_I32, rows) ||
        !tensor_ok(b, lengths, VKB_I32, (size_t)B) || !table_ok(b, word, (size_t)C) ||
        !table_ok(b, pos, max_pos * C) || !table_ok(b, type, (size_t)C) ||
        !tensor_ok(b, gamma, VKB_F32, (size_t)C) || !tensor_ok(b, beta, VKB_F32, (size_t)C) ||
        word->n % (size_t)C)
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->embed(b, Y, ids, lengths, word, pos, type, gamma, beta, B, L, C,
                                     pos_mode, pad_id, eps));
}

int vkb_pool_mode_count(int modes)
{
    int n = 0;
    for (int m = VKB_POOL_CLS; m <= VKB_POOL_MEAN_SQRT; m <<= 1)
        n += !!(modes & m);
    return n;
}

int vkb_op_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
                int B, int L, int C, int modes, int normalize)
{
    int nm = vkb_pool_mode_count(modes);
    if (!b || B <= 0 || L <= 0 || C <= 0 || nm == 0 || (modes & ~15))
        return VKB_EINVAL;
    if (!tensor_ok(b, out, VKB_F32, (size_t)B * nm * C) ||
        !tensor_ok(b, H, VKB_F32, (size_t)B * L * C) ||
        !tensor_ok(b, lengths, VKB_I32, (size_t)B) || out == H)
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->pool(b, out, H, lengths, B, L, C, modes, !!normalize));
}

int vkb_op_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T,
                        const vkb_tensor *w, const vkb_tensor *pairs, int P, int C)
{
    if (!b || P <= 0 || C <= 0 || !T || T->n % (size_t)C)
        return VKB_EINVAL;
    size_t rows = T->n / (size_t)C;
    if (!tensor_ok(b, prf, VKB_F32, (size_t)P * 3) || !tensor_ok(b, T, VKB_F32, rows * C) ||
        !tensor_ok(b, w, VKB_F32, rows) || !tensor_ok(b, pairs, VKB_I32, (size_t)P * 4))
        return VKB_EINVAL;
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->greedy_match(b, prf, T, w, pairs, P, C));
}

int vkb_op_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
                size_t src_off, size_t n)
{
    if (!b || !dst || !src || dst->b != b || src->b != b || dst->dtype != src->dtype || n == 0 ||
        dst->pack_lanes || src->pack_lanes ||
        dst_off > dst->n || n > dst->n - dst_off || src_off > src->n || n > src->n - src_off)
        return VKB_EINVAL;
    if (dst == src && dst_off < src_off + n && src_off < dst_off + n)
        return VKB_EINVAL; /* overlapping ranges */
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->copy(b, dst, dst_off, src, src_off, n));
}

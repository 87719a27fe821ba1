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
#include <math.h>

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
    uint64_t qkv_bytes = (uint64_t)seq_len * 3 * (uint64_t)heads * (uint64_t)head_size * 4;
    if (caps.max_binding && qkv_bytes + 256 > caps.max_binding) {
        vkb_set_err(err, errlen, "%s (%s): attention: one sequence of %d tokens has %llu bytes "
                                 "of QKV (%d x 3 x %d x %d floats), over the %llu one binding "
                                 "of this device covers", b->id, b->device_name, seq_len,
                    (unsigned long long)qkv_bytes, seq_len, heads, head_size,
                    (unsigned long long)caps.max_binding);
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

/* ---------------------------------------------------------------- argument checks
 * Every refusal says which op, which operand and which sizes (vkb_backend_op_error, and a
 * debug log line), so a caller's bug is found from the message rather than from a bare
 * VKB_EINVAL. */

static const char *dtype_name(vkb_dtype t)
{
    return t == VKB_F32 ? "F32" : t == VKB_F16 ? "F16" : t == VKB_I32 ? "I32" : "?";
}

static int refuse(const vkb_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(const vkb_backend *b, const char *fmt, ...)
{
    if (b) {
        vkb_backend *mb = (vkb_backend *)b; /* the message is diagnostics, not state */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(mb->op_error, sizeof mb->op_error, fmt, ap);
        va_end(ap);
        vkb_log(VKB_LOG_DEBUG, "%s: op refused: %s", b->id, mb->op_error);
    }
    return VKB_EINVAL;
}

const char *vkb_backend_op_error(const vkb_backend *b) { return b ? b->op_error : ""; }

/* A tensor argument is valid if it exists, lives on b, has the dtype (F32 or F16 when dtype
 * is -1: a table read element by element) and >= n elements, and is not a weight in a blocked
 * layout (only matmul's W reads those). `sizes` says where n came from ("B*L*C = 2*3*4"). */
static int check(const vkb_backend *b, const char *op, const char *name, const vkb_tensor *t,
                 int dtype, size_t n, const char *sizes)
{
    const char *want = dtype < 0 ? "F32 or F16" : dtype_name((vkb_dtype)dtype);
    if (!t)
        return refuse(b, "%s: %s is NULL (needs %zu %s values, %s)", op, name, n, want, sizes);
    if (t->b != b)
        return refuse(b, "%s: %s lives on another backend", op, name);
    if (dtype < 0 ? t->dtype == VKB_I32 : t->dtype != (vkb_dtype)dtype)
        return refuse(b, "%s: %s is %s, needs %s", op, name, dtype_name(t->dtype), want);
    if (t->n < n)
        return refuse(b, "%s: %s holds %zu %s values, needs %zu (%s)", op, name, t->n,
                      dtype_name(t->dtype), n, sizes);
    if (t->pack_lanes)
        return refuse(b, "%s: %s is a blocked matmul weight (only matmul's W may be)", op, name);
    return VKB_OK;
}

/* The same for an operand that may be NULL. */
static int check_opt(const vkb_backend *b, const char *op, const char *name, const vkb_tensor *t,
                     int dtype, size_t n, const char *sizes)
{
    return t ? check(b, op, name, t, dtype, n, sizes) : VKB_OK;
}

/* W of a matmul: a table of N*K elements, or a vkb_weight_new tensor made N x K. */
static int check_weight(const vkb_backend *b, const vkb_tensor *t, int N, int K)
{
    char sizes[64];
    snprintf(sizes, sizeof sizes, "N*K = %d*%d", N, K);
    if (t && t->w_rows) {
        if (t->b != b)
            return refuse(b, "matmul: W lives on another backend");
        if (t->w_rows != N || t->w_cols != K)
            return refuse(b, "matmul: W was made %d x %d, used as N x K = %d x %d", t->w_rows,
                          t->w_cols, N, K);
        return VKB_OK;
    }
    return check(b, "matmul", "W", t, -1, (size_t)N * K, sizes);
}

static int aliased(const vkb_backend *b, const char *op, const char *a, const char *c)
{
    return refuse(b, "%s: %s must not alias %s", op, a, c);
}

int vkb_op_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                  const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act)
{
    if (!b)
        return VKB_EINVAL;
    if (M <= 0 || N <= 0 || K <= 0 || act < VKB_ACT_NONE || act > VKB_ACT_TANH)
        return refuse(b, "matmul: M %d, N %d, K %d must be > 0 and act %d known", M, N, K,
                      (int)act);
    size_t mn = (size_t)M * N;
    char s_mn[64], s_mk[64], s_n[32];
    snprintf(s_mn, sizeof s_mn, "M*N = %d*%d", M, N);
    snprintf(s_mk, sizeof s_mk, "M*K = %d*%d", M, K);
    snprintf(s_n, sizeof s_n, "N = %d", N);
    int rc;
    if ((rc = check(b, "matmul", "Y", Y, VKB_F32, mn, s_mn)) ||
        (rc = check(b, "matmul", "X", X, VKB_F32, (size_t)M * K, s_mk)) ||
        (rc = check_weight(b, W, N, K)) ||
        (rc = check_opt(b, "matmul", "bias", bias, VKB_F32, (size_t)N, s_n)) ||
        (rc = check_opt(b, "matmul", "R", R, VKB_F32, mn, s_mn)))
        return rc;
    if (Y == X || Y == W || (R && Y == R))
        return aliased(b, "matmul", "Y", Y == X ? "X" : Y == W ? "W" : "R");
    rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->matmul(b, Y, X, W, bias, R, M, N, K, act));
}

/* The longest sequence attention runs (an invocation walks every key; the bias rules and
 * the kernels' registers are sized for it). */
int vkb_attn_bias_row(const vkb_attn_desc *desc, int i, int j)
{
    if (!desc || desc->rule != VKB_ATTN_BIAS_T5)
        return -1;
    /* Exact arithmetic: the shaders' float32 version agrees for every |j - i| < 1024 (the
     * fractional parts of the log term stay >= 0.01 away from integers there). */
    int n = desc->buckets / 2, e = n / 2, a = j > i ? j - i : i - j;
    int row = j > i ? n : 0;
    if (a < e)
        return row + a;
    int v = e + (int)floor(log((double)a / e) / log((double)desc->max_distance / e) * (n - e));
    return row + (v < n - 1 ? v : n - 1);
}

int vkb_op_attention_ex(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                        const vkb_tensor *lengths, int B, int L, int H, int d,
                        const vkb_attn_desc *desc)
{
    if (!b)
        return VKB_EINVAL;
    if (B <= 0 || L <= 0 || H <= 0 || d <= 0)
        return refuse(b, "attention: B %d, L %d, H %d, d %d must be > 0", B, L, H, d);
    char why[256];
    if (vkb_backend_check_attention(b, L, H, d, why, sizeof why) != VKB_OK) {
        refuse(b, "%s", why);
        return VKB_EUNSUPPORTED;
    }
    size_t rows = (size_t)B * L;
    char s_ctx[96], s_qkv[96], s_b[32];
    snprintf(s_ctx, sizeof s_ctx, "B*L*H*d = %d*%d*%d*%d", B, L, H, d);
    snprintf(s_qkv, sizeof s_qkv, "B*L*3*H*d = %d*%d*3*%d*%d", B, L, H, d);
    snprintf(s_b, sizeof s_b, "B = %d", B);
    int rc;
    if ((rc = check(b, "attention", "ctx", ctx, VKB_F32, rows * H * d, s_ctx)) ||
        (rc = check(b, "attention", "qkv", qkv, VKB_F32, rows * 3 * H * d, s_qkv)) ||
        (rc = check(b, "attention", "lengths", lengths, VKB_I32, (size_t)B, s_b)))
        return rc;
    if (ctx == qkv)
        return aliased(b, "attention", "ctx", "qkv");
    if (desc && (!(desc->scale >= 0) || desc->rule < VKB_ATTN_BIAS_NONE ||
                 desc->rule > VKB_ATTN_BIAS_T5))
        return refuse(b, "attention: descriptor scale %g must be >= 0 and rule %d known",
                      desc->scale, (int)desc->rule);
    if (desc && desc->rule == VKB_ATTN_BIAS_NONE && desc->bias)
        return refuse(b, "attention: a bias table without a rule to index it");
    if (desc && desc->rule == VKB_ATTN_BIAS_T5) {
        if (L > VKB_ATTENTION_T5_MAX_L)
            return refuse(b, "attention: L %d is over the %d the T5 bucket rule is exact for",
                          L, VKB_ATTENTION_T5_MAX_L);
        if (desc->buckets < 4 || desc->buckets % 4 || desc->max_distance <= desc->buckets / 4)
            return refuse(b, "attention: T5 buckets %d (a multiple of 4 >= 4) and max_distance "
                          "%d (> buckets/4) out of range", desc->buckets, desc->max_distance);
        char s_bias[64];
        snprintf(s_bias, sizeof s_bias, "buckets*H = %d*%d", desc->buckets, H);
        if ((rc = check(b, "attention", "bias", desc->bias, VKB_F32, (size_t)desc->buckets * H,
                        s_bias)))
            return rc;
    }
    rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->attention(b, ctx, qkv, lengths, B, L, H, d, desc));
}

int vkb_op_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, int B, int L, int H, int d)
{
    return vkb_op_attention_ex(b, ctx, qkv, lengths, B, L, H, d, NULL);
}

int vkb_op_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                         const vkb_tensor *lengths, const vkb_tensor *pos,
                         const vkb_tensor *rel, const vkb_rel_attn *ra, int B, int L, int H,
                         int d)
{
    if (!b)
        return VKB_EINVAL;
    if (!ra || B <= 0 || L <= 0 || H <= 0 || d <= 0)
        return refuse(b, "attention_rel: descriptor %s, B %d, L %d, H %d, d %d must be > 0",
                      ra ? "given" : "NULL", B, L, H, d);
    char why[256];
    if (vkb_backend_check_attention(b, L, H, d, why, sizeof why) != VKB_OK) {
        refuse(b, "%s", why);
        return VKB_EUNSUPPORTED;
    }
    size_t rows = (size_t)B * L, hd = (size_t)H * d;
    char s_ctx[96], s_qkv[96], s_b[32], s_rel[32];
    snprintf(s_ctx, sizeof s_ctx, "B*L*H*d = %d*%d*%d*%d", B, L, H, d);
    snprintf(s_qkv, sizeof s_qkv, "B*L*3*H*d = %d*%d*3*%d*%d", B, L, H, d);
    snprintf(s_b, sizeof s_b, "B = %d", B);
    snprintf(s_rel, sizeof s_rel, "2*L-1 = 2*%d-1", L);
    int chk;
    if ((chk = check(b, "attention_rel", "ctx", ctx, VKB_F32, rows * hd, s_ctx)) ||
        (chk = check(b, "attention_rel", "qkv", qkv, VKB_F32, rows * 3 * hd, s_qkv)) ||
        (chk = check(b, "attention_rel", "lengths", lengths, VKB_I32, (size_t)B, s_b)) ||
        (chk = check(b, "attention_rel", "rel", rel, VKB_I32, (size_t)2 * L - 1, s_rel)))
        return chk;
    if (ctx == qkv)
        return aliased(b, "attention_rel", "ctx", "qkv");
    int terms = (ra->pk_col >= 0) + (ra->pq_col >= 0);
    if (terms) {
        /* Each term's H*d columns lie inside a row of pos. */
        char s_pos[64];
        snprintf(s_pos, sizeof s_pos, "rows*ld = %d*%d", ra->rows, ra->ld);
        if (ra->rows <= 0 || ra->ld <= 0)
            return refuse(b, "attention_rel: pos rows %d and ld %d must be > 0", ra->rows,
                          ra->ld);
        if ((chk = check(b, "attention_rel", "pos", pos, VKB_F32, (size_t)ra->rows * ra->ld,
                         s_pos)))
            return chk;
        if (pos == ctx)
            return aliased(b, "attention_rel", "pos", "ctx");
        if ((ra->pk_col >= 0 && (size_t)ra->pk_col + hd > (size_t)ra->ld) ||
            (ra->pq_col >= 0 && (size_t)ra->pq_col + hd > (size_t)ra->ld))
            return refuse(b, "attention_rel: pos columns pk %d / pq %d + H*d %zu pass ld %d",
                          ra->pk_col, ra->pq_col, hd, ra->ld);
    }
    if (!(ra->scale > 0.0f) || ra->scale > 1e30f)
        return refuse(b, "attention_rel: scale %g must be in (0, 1e30]", ra->scale);
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
    if (!b)
        return VKB_EINVAL;
    if (rows <= 0 || cols <= 0 || !(eps >= 0))
        return refuse(b, "layernorm: rows %d, cols %d must be > 0 and eps %g >= 0", rows, cols,
                      eps);
    size_t n = (size_t)rows * cols;
    char s_n[64], s_c[32];
    snprintf(s_n, sizeof s_n, "rows*cols = %d*%d", rows, cols);
    snprintf(s_c, sizeof s_c, "cols = %d", cols);
    int rc;
    if ((rc = check(b, "layernorm", "Y", Y, VKB_F32, n, s_n)) ||
        (rc = check(b, "layernorm", "X", X, VKB_F32, n, s_n)) ||
        (rc = check_opt(b, "layernorm", "R", R, VKB_F32, n, s_n)) ||
        (rc = check(b, "layernorm", "gamma", gamma, VKB_F32, (size_t)cols, s_c)) ||
        (rc = check_opt(b, "layernorm", "beta", beta, VKB_F32, (size_t)cols, s_c)))
        return rc;
    if (Y == X || (R && Y == R))
        return aliased(b, "layernorm", "Y", Y == X ? "X" : "R");
    rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->layernorm(b, Y, X, R, gamma, beta, rows, cols, eps));
}

int vkb_op_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
                 const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
                 vkb_pos_mode pos_mode, int pad_id, float eps)
{
    if (!b)
        return VKB_EINVAL;
    if (B <= 0 || L <= 0 || C <= 0 || !(eps >= 0) ||
        (pos_mode != VKB_POS_BERT && pos_mode != VKB_POS_ROBERTA) || pad_id < 0)
        return refuse(b, "embed: B %d, L %d, C %d must be > 0, eps %g >= 0, pos_mode %d known, "
                      "pad_id %d >= 0", B, L, C, eps, (int)pos_mode, pad_id);
    size_t rows = (size_t)B * L;
    /* Positions reach L-1 (BERT) or pad_id + L (RoBERTa). */
    size_t max_pos = pos_mode == VKB_POS_BERT ? (size_t)L : (size_t)pad_id + 1 + (size_t)L;
    char s_y[64], s_r[64], s_b[32], s_c[32], s_p[96];
    snprintf(s_y, sizeof s_y, "B*L*C = %d*%d*%d", B, L, C);
    snprintf(s_r, sizeof s_r, "B*L = %d*%d", B, L);
    snprintf(s_b, sizeof s_b, "B = %d", B);
    snprintf(s_c, sizeof s_c, "C = %d", C);
    if (pos_mode == VKB_POS_BERT)
        snprintf(s_p, sizeof s_p, "positions 0..L-1, L = %d, times C = %d", L, C);
    else
        snprintf(s_p, sizeof s_p, "positions up to pad_id + L = %d + %d, times C = %d", pad_id, L,
                 C);
    int rc;
    if ((rc = check(b, "embed", "Y", Y, VKB_F32, rows * C, s_y)) ||
        (rc = check(b, "embed", "ids", ids, VKB_I32, rows, s_r)) ||
        (rc = check(b, "embed", "lengths", lengths, VKB_I32, (size_t)B, s_b)) ||
        (rc = check(b, "embed", "word", word, -1, (size_t)C, s_c)) ||
        (rc = check_opt(b, "embed", "pos", pos, -1, max_pos * C, s_p)) ||
        (rc = check_opt(b, "embed", "type", type, -1, (size_t)C, s_c)) ||
        (rc = check(b, "embed", "gamma", gamma, VKB_F32, (size_t)C, s_c)) ||
        (rc = check_opt(b, "embed", "beta", beta, VKB_F32, (size_t)C, s_c)))
        return rc;
    if (word->n % (size_t)C)
        return refuse(b, "embed: word holds %zu values, not a whole number of rows of C = %d",
                      word->n, C);
    rc = op_enter(b);
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
    if (!b)
        return VKB_EINVAL;
    if (B <= 0 || L <= 0 || C <= 0 || nm == 0 || (modes & ~15))
        return refuse(b, "pool: B %d, L %d, C %d must be > 0 and modes %#x a non-empty set", B,
                      L, C, (unsigned)modes);
    char s_o[64], s_h[64], s_b[32];
    snprintf(s_o, sizeof s_o, "B*modes*C = %d*%d*%d", B, nm, C);
    snprintf(s_h, sizeof s_h, "B*L*C = %d*%d*%d", B, L, C);
    snprintf(s_b, sizeof s_b, "B = %d", B);
    int rc;
    if ((rc = check(b, "pool", "out", out, VKB_F32, (size_t)B * nm * C, s_o)) ||
        (rc = check(b, "pool", "H", H, VKB_F32, (size_t)B * L * C, s_h)) ||
        (rc = check(b, "pool", "lengths", lengths, VKB_I32, (size_t)B, s_b)))
        return rc;
    if (out == H)
        return aliased(b, "pool", "out", "H");
    rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->pool(b, out, H, lengths, B, L, C, modes, !!normalize));
}

int vkb_op_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T,
                        const vkb_tensor *w, const vkb_tensor *pairs, int P, int C,
                        int max_len)
{
    if (!b)
        return VKB_EINVAL;
    if (P <= 0 || C <= 0 || max_len < 0 || !T || T->n % (size_t)C)
        return refuse(b, "greedy_match: P %d, C %d must be > 0, max_len %d >= 0 and T (%zu "
                      "values) whole rows of C", P, C, max_len, T ? T->n : 0);
    size_t rows = T->n / (size_t)C;
    char s_p3[32], s_t[64], s_w[32], s_p4[32];
    snprintf(s_p3, sizeof s_p3, "P*3 = %d*3", P);
    snprintf(s_t, sizeof s_t, "rows*C = %zu*%d", rows, C);
    snprintf(s_w, sizeof s_w, "rows = %zu", rows);
    snprintf(s_p4, sizeof s_p4, "P*4 = %d*4", P);
    int rc;
    if ((rc = check(b, "greedy_match", "prf", prf, VKB_F32, (size_t)P * 3, s_p3)) ||
        (rc = check(b, "greedy_match", "T", T, VKB_F32, rows * C, s_t)) ||
        (rc = check(b, "greedy_match", "w", w, VKB_F32, rows, s_w)) ||
        (rc = check(b, "greedy_match", "pairs", pairs, VKB_I32, (size_t)P * 4, s_p4)))
        return rc;
    rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->greedy_match(b, prf, T, w, pairs, P, C, max_len));
}

int vkb_op_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
                size_t src_off, size_t n)
{
    if (!b)
        return VKB_EINVAL;
    if (!dst || !src || dst->b != b || src->b != b || dst->dtype != src->dtype || n == 0 ||
        dst->pack_lanes || src->pack_lanes)
        return refuse(b, "copy: dst and src must be plain tensors of one dtype on this backend, "
                      "n %zu > 0", n);
    if (dst_off > dst->n || n > dst->n - dst_off || src_off > src->n || n > src->n - src_off)
        return refuse(b, "copy: %zu values from src[%zu] (holds %zu) to dst[%zu] (holds %zu)",
                      n, src_off, src->n, dst_off, dst->n);
    if (dst == src && dst_off < src_off + n && src_off < dst_off + n)
        return refuse(b, "copy: ranges [%zu, +%zu) and [%zu, +%zu) of one tensor overlap",
                      src_off, n, dst_off, n);
    int rc = op_enter(b);
    if (rc != VKB_OK)
        return rc;
    return op_leave(b, b->ops->copy(b, dst, dst_off, src, src_off, n));
}

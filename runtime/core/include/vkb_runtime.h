/*
 * vkb_runtime.h — the one public header of runtime/.
 *
 * Two layers, one header:
 *   1. The backend layer: devices, tensors and the op set, on Vulkan or on the CPU.
 *      It knows nothing about models. Every op has a Vulkan shader and a CPU twin;
 *      the CPU twin is the oracle the Vulkan version is tested against.
 *   2. The model layer: model folders (config.json, safetensors, tokenizer, pooling),
 *      the encoder forward, sentence embeddings, BERTScore, and the engine that owns
 *      device worker threads and batches jobs. It reaches devices only through layer 1.
 *
 * Conventions: functions return VKB_OK (0) or a negative vkb_status and, where they take
 * (err, errlen), write one human-readable line there. Tensors are row-major; layouts are
 * written next to each op as (rows, cols). No hidden global state except the logger.
 */
#ifndef VKB_RUNTIME_H
#define VKB_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkb_status {
    VKB_OK = 0,
    VKB_EINVAL = -1,      /* bad argument or bad input (a 4xx for the service) */
    VKB_ENOTFOUND = -2,   /* model / file / device not found (404) */
    VKB_ENOMEM = -3,      /* host or device out of memory */
    VKB_EDEVICE = -4,     /* Vulkan failure, lost device, no device */
    VKB_EIO = -5,         /* file or network I/O */
    VKB_EUNSUPPORTED = -6,/* an architecture, dtype or option this build does not support */
    VKB_EBUSY = -7,       /* no capacity now; retry later */
} vkb_status;

const char *vkb_status_str(int status);

/* For the runtime's own libraries: snprintf into err when err != NULL (every error line the
 * runtime returns is made by it). */
void vkb_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- logging */

typedef enum { VKB_LOG_ERROR = 0, VKB_LOG_WARN, VKB_LOG_INFO, VKB_LOG_DEBUG } vkb_log_level;
void vkb_log_set_level(vkb_log_level level);
vkb_log_level vkb_log_get_level(void);
/* One line to stderr, prefixed with time and level; thread-safe. */
void vkb_log(vkb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ================================================================ layer 1: backends */

/* Memory heaps one device reports: Vulkan's VK_MAX_MEMORY_HEAPS, so none is ever dropped. */
enum { VKB_MAX_HEAPS = 16 };

/* What one Vulkan physical device is; the inventory `vkbridge info` and /info print. */
typedef struct vkb_memory_heap {
    uint64_t size;          /* bytes */
    uint64_t budget;        /* bytes, from VK_EXT_memory_budget; 0 = unknown */
    uint64_t usage;         /* bytes, from VK_EXT_memory_budget; 0 = unknown */
    int device_local;       /* VK_MEMORY_HEAP_DEVICE_LOCAL_BIT */
} vkb_memory_heap;

typedef struct vkb_device_info {
    int index;                      /* position in vkEnumeratePhysicalDevices */
    char name[256];
    uint32_t vendor_id, device_id;
    char vendor[32];                /* "nvidia", "amd", "intel", "mesa", ... */
    char type[16];                  /* "discrete", "integrated", "virtual", "cpu", "other" */
    char driver_name[256];          /* VkPhysicalDeviceDriverProperties, or "" */
    char driver_info[256];
    uint32_t driver_version;        /* raw */
    char driver_version_str[64];    /* decoded per vendor convention */
    uint32_t api_version;
    char api_version_str[32];       /* "1.3.239" */
    uint32_t subgroup_size;
    uint32_t subgroup_ops;          /* VkSubgroupFeatureFlags */
    int subgroup_arithmetic;        /* convenience: arithmetic supported in compute */
    uint32_t min_subgroup_size, max_subgroup_size; /* VK_EXT_subgroup_size_control (1.3
                                       core), else both subgroup_size */
    int subgroup_size_control;      /* the driver may be asked for a subgroup size */
    uint32_t max_shared_memory;     /* maxComputeSharedMemorySize */
    uint32_t max_invocations;       /* maxComputeWorkGroupInvocations */
    uint32_t max_workgroup_size[3]; /* maxComputeWorkGroupSize */
    int limits_faked;               /* VKB_TEST_MIN_LIMITS=1: the limits above are the Vulkan
                                       minimums, not the device's (tests only) */
    uint64_t max_storage_buffer_range;
    uint32_t max_texel_buffer_elements;
    int fp16;                       /* shaderFloat16 */
    int storage16;                  /* storageBuffer16BitAccess */
    int int8;                       /* shaderInt8 */
    int timestamps;                 /* compute queue supports timestamp queries */
    float timestamp_period_ns;
    int has_memory_budget;          /* VK_EXT_memory_budget present */
    int n_heaps;                    /* 0 .. VKB_MAX_HEAPS */
    vkb_memory_heap heaps[VKB_MAX_HEAPS];
} vkb_device_info;

/* Opens the Vulkan loader (once) and lists every physical device. *out is malloc'd and owned
 * by the caller (free()). Returns VKB_EDEVICE with a clear line in err when there is no loader
 * or no device; callers fall back to the CPU backend. */
int vkb_vulkan_devices(vkb_device_info **out, int *n, char *err, size_t errlen);
/* "1.3.239" of the loader's instance version, or "none". */
const char *vkb_vulkan_loader_version(void);
/* Mesa's drivers (lavapipe, radv, anv) keep a shader disk cache under MESA_SHADER_CACHE_DIR,
 * else $XDG_CACHE_HOME, else ~/.cache, and map an index file there: on a full filesystem a
 * page of that mapping cannot be backed and the process dies of SIGBUS inside the driver.
 * Call before any thread starts and before Vulkan loads: when that folder (or its nearest
 * existing parent) is not writable or has under 64 MiB free, sets MESA_SHADER_CACHE_DISABLE
 * (a value the user set is left alone). Returns 1 when it turned the cache off, with the
 * reason in why; 0 otherwise. */
int vkb_vulkan_guard_disk_cache(char *why, size_t whylen);
/* Validation-layer warnings and errors seen so far in this process (env VKB_VALIDATION=1 with
 * VK_LAYER_KHRONOS_validation installed; otherwise always 0). Tests fail when it is non-zero. */
int vkb_vulkan_validation_errors(void);
/* 1 once a Vulkan instance exists with the validation layer's synchronization validation on
 * (VKB_VALIDATION=1 or =gpu, the layer installed with VK_EXT_validation_features). */
int vkb_vulkan_sync_validation(void);
/* Of vkb_vulkan_validation_errors, the synchronization hazards (message ids SYNC-*). */
int vkb_vulkan_sync_hazards(void);

typedef struct vkb_backend vkb_backend;

/* spec: one item of the device-spec grammar below: "cpu", "vulkan" (best Vulkan device:
 * discrete > integrated > virtual > cpu), "vulkan:N", "auto"; NULL or "" is "auto".
 * "auto" is vkb_device_auto's choice: a real GPU, else the CPU backend (never a CPU-type
 * Vulkan device such as lavapipe: the CPU backend is faster; ask for it as vulkan:N).
 * Opening the same Vulkan device twice gives two independent backends (two replicas). */
int vkb_backend_open(const char *spec, vkb_backend **out, char *err, size_t errlen);
void vkb_backend_close(vkb_backend *b);
int vkb_backend_is_vulkan(const vkb_backend *b);
/* "cpu" or "vulkan:0"; and a human name ("llvmpipe (LLVM 15.0.6, 256 bits)"). */
const char *vkb_backend_id(const vkb_backend *b);
const char *vkb_backend_device_name(const vkb_backend *b);
/* Opened as "auto": "auto: <device>, <why>" (vkb_device_auto); "" when opened by name. */
const char *vkb_backend_choice(const vkb_backend *b);
/* What "auto" opens on this machine: "vulkan:N" (the best real GPU: discrete > integrated >
 * virtual) or "cpu" (no GPU; a CPU-type Vulkan device is not taken), into one; the line
 * saying which and why, into why. */
void vkb_device_auto(char *one, size_t onelen, char *why, size_t whylen);
/* NULL for the CPU backend. */
const vkb_device_info *vkb_backend_device_info(const vkb_backend *b);
/* Whether f16 weight tensors are usable here (16-bit storage on Vulkan; always on the CPU). */
int vkb_backend_supports_f16(const vkb_backend *b);

/* What a backend's kernels can run, derived from its device's limits in one place (each
 * backend's caps function), so shapes are checked once at model load instead of failing
 * deep inside an op at the first batch. */
typedef struct vkb_caps {
    int max_seq_len;           /* tokens per sequence attention takes */
    int max_head_size;         /* attention's head size d */
    uint32_t shared_memory;    /* bytes per workgroup the kernels may use (0: CPU backend) */
    uint32_t max_invocations;  /* per workgroup (0: CPU backend) */
    uint32_t subgroup_size;    /* lanes the kernels size their tiles from (0: CPU backend) */
    uint64_t max_binding;      /* bytes one storage binding covers (0: no limit): one
                                * sequence's QKV must fit in it */
} vkb_caps;
void vkb_backend_caps(const vkb_backend *b, vkb_caps *out);
/* VKB_OK if an encoder with these attention shapes runs here; else VKB_EUNSUPPORTED with one
 * line in err naming the backend, the op, the operand and the sizes (model load calls it). */
int vkb_backend_check_attention(const vkb_backend *b, int seq_len, int heads, int head_size,
                                char *err, size_t errlen);
/* Why the last refused vkb_op_* call was refused: the op, the operand and the sizes
 * ("attention: qkv holds 96 F32 values, needs 384 (B*L*3*H*d = 2*4*3*4*4)"); "" if none. */
const char *vkb_backend_op_error(const vkb_backend *b);
/* Bytes of tensors currently allocated on this backend, and the peak since open. */
uint64_t vkb_backend_bytes_in_use(const vkb_backend *b);
uint64_t vkb_backend_bytes_peak(const vkb_backend *b);

typedef enum { VKB_F32 = 0, VKB_F16 = 1, VKB_I32 = 2 } vkb_dtype;
size_t vkb_dtype_size(vkb_dtype t);

/* A tensor is a flat array of n elements of one dtype living on one backend. Shape is the
 * caller's business; ops take the sizes they need. */
typedef struct vkb_tensor vkb_tensor;

vkb_tensor *vkb_tensor_new(vkb_backend *b, vkb_dtype dtype, size_t n);
void vkb_tensor_free(vkb_tensor *t);
size_t vkb_tensor_count(const vkb_tensor *t);
vkb_dtype vkb_tensor_dtype(const vkb_tensor *t);
/* Host <-> tensor copies of n elements starting at element `offset`; src/dst hold elements of
 * the tensor's dtype (uint16_t halves for F16). Not allowed between vkb_batch_begin/end. */
int vkb_tensor_upload(vkb_tensor *t, size_t offset, const void *src, size_t n);
int vkb_tensor_download(const vkb_tensor *t, size_t offset, void *dst, size_t n);

/* Weight matrices for vkb_op_matmul's W: (N,K) row-major on the host, PyTorch Linear layout.
 * A backend may store them in a layout of its own (lavapipe's texel kernels read W in column
 * blocks, so each workgroup streams one contiguous range; weights.c), so such a tensor is
 * written only with vkb_weight_upload_rows and read only by vkb_op_matmul with this N and K
 * (vkb_tensor_upload/download and vkb_op_copy refuse a blocked one).
 * vkb_weight_upload_rows writes rows [row0, row0 + n) from src (n*K elements of the dtype,
 * uint16_t halves for F16); row0 must be a multiple of vkb_weight_row_step(w), and so must n
 * unless the rows run to N. */
vkb_tensor *vkb_weight_new(vkb_backend *b, vkb_dtype dtype, int N, int K);
int vkb_weight_row_step(const vkb_tensor *w);
int vkb_weight_upload_rows(vkb_tensor *w, int row0, int n, const void *src);

/* float <-> IEEE half, round to nearest even. */
uint16_t vkb_f32_to_f16(float f);
float vkb_f16_to_f32(uint16_t h);

/* ---- recording ops
 * vkb_batch_begin opens a recording on the backend; every vkb_op_* call between begin and end
 * records one step (Vulkan: dispatches + barriers into one command buffer; CPU: runs at once);
 * vkb_batch_end submits, waits, and returns the first error. One recording at a time per
 * backend; a backend is used by one thread at a time (the engine's worker).
 * Every recorded dispatch (and device copy) of a Vulkan batch gets a timings entry named by
 * its op, with its GPU milliseconds when timing is on (vkb_backend_set_timing) and the device
 * has timestamp queries; read them with vkb_batch_timings after end. An op split into several
 * dispatches (windows of a large tensor) has several entries. The CPU backend keeps none. */
int vkb_batch_begin(vkb_backend *b);
int vkb_batch_end(vkb_backend *b);
/* After vkb_batch_end: the number of timings entries (dispatches), their op names and GPU
 * times in ms (-1 if unknown). */
int vkb_batch_timings(const vkb_backend *b, const char ***names, const double **ms);
/* GPU timestamps around every dispatch, for batches begun from now on: off by default, because
 * they are not free: lavapipe flushes its pipeline at each one (a MiniLM forward of one short
 * sentence took ~2-3 ms longer with them). Profilers (bench ops, bench encode --profile) turn
 * them on. */
void vkb_backend_set_timing(vkb_backend *b, int on);

typedef enum {
    VKB_ACT_NONE = 0,
    VKB_ACT_GELU_ERF = 1,   /* 0.5 x (1 + erf(x / sqrt 2)), HF "gelu" */
    VKB_ACT_GELU_TANH = 2,  /* HF "gelu_new" / "gelu_pytorch_tanh" */
    VKB_ACT_RELU = 3,
    VKB_ACT_TANH = 4,       /* tanh x: sentence-transformers Dense modules (torch.nn.Tanh) */
} vkb_act;

/* Y = act(X · Wᵀ + b) + R
 *   X is (M,K) F32; W is (N,K) F32 or F16 (PyTorch Linear layout: a plain tensor, or one made
 *   by vkb_weight_new for this N and K, which the Vulkan texel kernels read faster); b is (N)
 *   F32 or NULL;
 *   R is (M,N) F32 or NULL (residual, added after the activation); Y is (M,N) F32.
 *   Y must not alias X, W or R. */
int vkb_op_matmul(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *W,
                  const vkb_tensor *bias, const vkb_tensor *R, int M, int N, int K, vkb_act act);

/* Multi-head self-attention read straight from the packed QKV projection.
 *   qkv is (B*L, 3*H*d) F32: row b*L+t holds [Q | K | V], head h at columns h*d .. h*d+d-1
 *   of each third. lengths is (B) I32: sequence b has real tokens 0..lengths[b]-1, the rest
 *   is padding. ctx is (B*L, H*d) F32:
 *     ctx[b,t,h] = softmax_j<len(Q[b,t,h]·K[b,j,h] / sqrt d) · V[b,j,h]
 *   Padding keys get zero weight (HF's additive mask). Rows t >= len are computed the same
 *   way (their values are unspecified but finite). Never materialises (B,H,L,L). */
int vkb_op_attention(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                     const vkb_tensor *lengths, int B, int L, int H, int d);

/* How (query i, key j) picks a row of an attention bias table. */
typedef enum {
    VKB_ATTN_BIAS_NONE = 0,
    /* HF's bidirectional relative_position_bucket(j - i, buckets, max_distance) (T5, MPNet):
     * with n = buckets / 2, e = n / 2, a = |j - i|: (n if j > i) + (a if a < e, else
     * min(n - 1, e + floor(ln(a / e) / ln(max_distance / e) * (n - e)))). */
    VKB_ATTN_BIAS_T5 = 1,
} vkb_attn_bias_rule;

/* What attention adds to BERT's: the score scale and an additive position bias.
 *   scores[b,h,i,j] = Q[b,i,h]·K[b,j,h] * scale + bias[row(i, j), h]
 *   scale 0 means 1/sqrt(d); bias is (rows, H) F32 with rows >= buckets, NULL with
 *   VKB_ATTN_BIAS_NONE. The bias depends on indices only, so right padding leaves it alone.
 * On Vulkan the rule is a specialization constant: without a bias the pipeline computes
 * exactly BERT's attention. */
typedef struct vkb_attn_desc {
    float scale;
    const vkb_tensor *bias;
    vkb_attn_bias_rule rule;
    int buckets, max_distance; /* the rule's parameters (MPNet: 32, 128) */
} vkb_attn_desc;

/* vkb_op_attention with a descriptor; desc NULL is vkb_op_attention. */
int vkb_op_attention_ex(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                        const vkb_tensor *lengths, int B, int L, int H, int d,
                        const vkb_attn_desc *desc);
/* The row of the bias table vkb_attn_desc's rule gives (query i, key j); -1 for no rule. */
int vkb_attn_bias_row(const vkb_attn_desc *desc, int i, int j);

/* DeBERTa's disentangled self-attention: vkb_op_attention plus the content-to-position (c2p)
 * and position-to-content (p2c) terms, read from the projected relative-position table.
 *   qkv (B*L, 3*H*d), lengths (B), ctx (B*L, H*d): as for vkb_op_attention.
 *   pos (ra->rows, ra->ld) F32: row r is the relative table's row r through the position
 *     projections; its position key is at columns ra->pk_col + h*d .. + d-1 for head h,
 *     its position query at ra->pq_col + h*d .. (a column < 0: that term is off).
 *   rel (2L-1) I32: rel[i - j + L-1] is the row of pos for query i and key j (the clamped or
 *     log-bucketed relative position, computed by the model; values outside 0..rows-1 are
 *     clamped, never read out of bounds).
 *   ctx[b,i,h] = softmax_j<len(s_ij) · V[b,j,h] with, for r = rel[i-j+L-1],
 *     s_ij = (q_i·k_j + q_i·Pk[r] (c2p) + k_j·Pq[r] (p2c)) * ra->scale.
 *   Padding keys get zero weight; rows i >= len are unspecified but finite. pos may be NULL
 *   only when both terms are off. Never materialises (B,H,L,L). */
typedef struct vkb_rel_attn {
    int rows;     /* rows of pos */
    int ld;       /* floats per row of pos */
    int pk_col;   /* first column of the position keys (c2p), or -1 */
    int pq_col;   /* first column of the position queries (p2c), or -1 */
    float scale;  /* DeBERTa: 1/sqrt(d * (1 + number of terms on)) */
} vkb_rel_attn;
int vkb_op_attention_rel(vkb_backend *b, vkb_tensor *ctx, const vkb_tensor *qkv,
                         const vkb_tensor *lengths, const vkb_tensor *pos,
                         const vkb_tensor *rel, const vkb_rel_attn *ra, int B, int L, int H,
                         int d);

/* Y = LayerNorm(X + R) · gamma + beta over each row of (rows, cols); R and beta may be NULL
 * (no residual, no shift). Biased variance, eps inside the sqrt (PyTorch). Y must not alias
 * X or R. */
int vkb_op_layernorm(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *X, const vkb_tensor *R,
                     const vkb_tensor *gamma, const vkb_tensor *beta, int rows, int cols,
                     float eps);

typedef enum {
    VKB_POS_BERT = 0,     /* position of token t is t */
    VKB_POS_ROBERTA = 1,  /* real token t: pad_id + 1 + t; padding: pad_id */
} vkb_pos_mode;

/* Embeddings: Y[b*L+t] = LayerNorm(word[ids[b*L+t]] + pos[p(b,t)] + type[0]) · gamma + beta
 *   ids (B*L) I32 (padding rows hold pad_id); lengths (B) I32; word (V,C), pos (P,C),
 *   type (T,C) F32 or F16; gamma, beta (C) F32; Y (B*L, C) F32.
 *   p(b,t) per pos_mode (see vkb_pos_mode); pad_id is the padding index of that rule.
 *   pos, type and beta may be NULL: that term is left out (DistilBERT and MPNet have no
 *   token types). Ids outside 0..V-1 are the caller's bug. */
int vkb_op_embed(vkb_backend *b, vkb_tensor *Y, const vkb_tensor *ids, const vkb_tensor *lengths,
                 const vkb_tensor *word, const vkb_tensor *pos, const vkb_tensor *type,
                 const vkb_tensor *gamma, const vkb_tensor *beta, int B, int L, int C,
                 vkb_pos_mode pos_mode, int pad_id, float eps);

/* Pooling modes, concatenated in this order when several are set (sentence-transformers). */
enum { VKB_POOL_CLS = 1, VKB_POOL_MAX = 2, VKB_POOL_MEAN = 4, VKB_POOL_MEAN_SQRT = 8 };
/* How many of the four pooling modes are set in modes (the pooled width is that times C). */
int vkb_pool_mode_count(int modes);

/* out[b] = concat over set modes of pool(H[b*L .. b*L+lengths[b]-1]), then optionally
 *   out[b] /= max(||out[b]||2, 1e-12).
 *   H (B*L, C) F32; lengths (B) I32; out (B, nmodes*C) F32.
 *   mean = sum / max(n, 1e-9); mean_sqrt = sum / sqrt(n); max over real tokens; cls = row 0.
 *   n = lengths[b] clamped to 0..L (so CLS with L = 1 and normalize is an L2 normalisation
 *   of each row of H, which is how a Normalize after a Dense module runs). */
int vkb_op_pool(vkb_backend *b, vkb_tensor *out, const vkb_tensor *H, const vkb_tensor *lengths,
                int B, int L, int C, int modes, int normalize);

/* BERTScore greedy matching for P pairs over one table of token vectors.
 *   T (rows, C) F32: token vectors (need not be normalised: cosine is used).
 *   w (rows) F32: per-token weight (0 for special tokens; 1 or idf otherwise).
 *   pairs (P, 4) I32: [cand_row, cand_len, ref_row, ref_len] — each sentence is the rows
 *     row .. row+len-1 of T.
 *   prf (P, 3) F32: [precision, recall, f1] with
 *     P = Σ_i w_i max_j cos(c_i, r_j) / Σ_i w_i over candidate rows i (similarity over ALL
 *     rows of both, weights only in the sums), R likewise over reference rows,
 *     F = 2PR/(P+R), and 0 where a denominator is 0 or the result is NaN.
 * max_len: at least the longest candidate or reference of any pair (0: unknown, taken as
 * the table's rows). The device kernels size their work from it: a long pair is split over
 * many workgroups, each walking a bounded number of keys.
 * The similarity matrix never leaves the device. */
int vkb_op_greedy_match(vkb_backend *b, vkb_tensor *prf, const vkb_tensor *T,
                        const vkb_tensor *w, const vkb_tensor *pairs, int P, int C,
                        int max_len);

/* dst[dst_off .. dst_off+n) = src[src_off .. src_off+n), same dtype, recorded like an op. */
int vkb_op_copy(vkb_backend *b, vkb_tensor *dst, size_t dst_off, const vkb_tensor *src,
                size_t src_off, size_t n);


/* ================================================================ layer 2: models and engine */

/* ---- the engine: models by name, a worker thread per device, dynamic batching.
 * Thread-safe: every vkb_engine_* function may be called from any thread. Requests are
 * queued to device workers; jobs that arrive together are merged into device batches and
 * split on return. Results come back through a callback on the worker thread (async) or by
 * blocking (sync wrappers). */
typedef struct vkb_engine vkb_engine;

/* Devices one engine drives at most (replicas of one device count once each), and the
 * largest N a spec's vulkan:N may name (far beyond any machine; keeps an index short). */
enum { VKB_MAX_DEVICES = 16, VKB_MAX_VULKAN_INDEX = 1023 };

/* ---- device specs: one grammar for vkb_engine_config.device and VKB_DEVICE / --device.
 *   spec := "auto" | "all" | item ("," item)*        NULL or "" means "auto"
 *   item := "cpu" | "vulkan" | "vulkan:N"             N: decimal digits, 0..VKB_MAX_VULKAN_INDEX
 * Spaces and tabs around the spec and around each item are ignored: "vulkan:0, vulkan:1" is
 * "vulkan:0,vulkan:1". "auto" (best Vulkan device, else the CPU) and "all" (every Vulkan
 * device, else the CPU) stand alone. A list holds 1..VKB_MAX_DEVICES items; an item given
 * twice opens that device twice (two replicas). Whether vulkan:N exists is known only when
 * the engine opens it. */
typedef enum { VKB_SPEC_AUTO, VKB_SPEC_ALL, VKB_SPEC_LIST } vkb_device_spec_kind;
typedef struct vkb_device_spec {
    vkb_device_spec_kind kind;
    int n;                                 /* LIST: items */
    char items[VKB_MAX_DEVICES][16];       /* LIST: "cpu", "vulkan" or "vulkan:N", N canonical */
} vkb_device_spec;
/* Parses spec into *out (out may be NULL: check only). VKB_EINVAL with one line in err that
 * names the bad item. */
int vkb_device_spec_parse(const char *spec, vkb_device_spec *out, char *err, size_t errlen);

typedef struct vkb_engine_config {
    const char *device;       /* a device spec (above); NULL = "auto" */
    const char *model_dir;    /* VKB_MODEL_DIR, or NULL; the HF cache is searched after it */
    const char *baseline_dir; /* VKB_BASELINE_DIR for BERTScore baselines, or NULL */
    int embed_batch;          /* GPU_EMBED_BATCH: max sequences per device batch (default 32) */
    int weights_f16;          /* 1: downcast F32 checkpoints to f16 where the device allows */
    int allow_pull;           /* 1: download missing models from the HF hub */
} vkb_engine_config;

int vkb_engine_create(const vkb_engine_config *cfg, vkb_engine **out, char *err, size_t errlen);
/* Finishes queued jobs, joins workers, frees models. */
void vkb_engine_destroy(vkb_engine *e);

/* Loads (or finds loaded) a model by name or folder name under the model roots. Concurrent
 * callers for the same name wait for one load. VKB_EINVAL: bad name (path escape etc.);
 * VKB_ENOTFOUND: not under any root. */
int vkb_engine_load(vkb_engine *e, const char *name, char *err, size_t errlen);
/* Loads the folder dir under the name `name` (then used like any loaded name). For folders a
 * user named on the command line; never pass a path that came from a request. */
int vkb_engine_load_dir(vkb_engine *e, const char *name, const char *dir, char *err,
                        size_t errlen);
int vkb_engine_unload(vkb_engine *e, const char *name);
/* Names of loaded models; *names is malloc'd array of malloc'd strings (free with
 * vkb_engine_free_names). */
int vkb_engine_loaded_models(vkb_engine *e, char ***names, int *n);
void vkb_engine_free_names(char **names, int n);
/* Facts about a loaded (or loadable) model: output dimension, max tokens. */
typedef struct vkb_model_facts {
    int dim;               /* sentence-embedding dimension */
    int hidden;            /* hidden size */
    int num_layers;        /* num_hidden_layers */
    int max_seq_length;    /* sentence-transformers truncation (tokens incl. specials) */
    int max_positions;     /* hard upper bound from the checkpoint */
    char model_type[32];   /* "bert", "roberta", ... */
} vkb_model_facts;
int vkb_engine_model_facts(vkb_engine *e, const char *name, vkb_model_facts *out, char *err,
                           size_t errlen);

/* Progress during a job: done of total items processed so far (for /status). */
typedef void (*vkb_progress_fn)(void *user, int done, int total);

/* Sentence embeddings. texts[i] is UTF-8 of length lens[i] (lens may be NULL: NUL-terminated).
 * out holds n*dim floats (dim from vkb_engine_model_facts). n_tokens, if non-NULL, receives
 * the number of tokens processed (for OpenAI usage). */
typedef void (*vkb_embed_done_fn)(void *user, int status, const char *err);
/* Async calls copy texts (free them at once), keep out/P/R/F until done runs; done runs
 * exactly once on an engine thread, after the job's last progress call, unless the call
 * itself returns an error (bad arguments or name: VKB_EINVAL; n must be > 0). A model that is
 * not loaded is loaded on demand; a failed load fails the job through done. */
int vkb_engine_embed_async(vkb_engine *e, const char *model, const char *const *texts,
                           const size_t *lens, int n, float *out, long *n_tokens,
                           vkb_progress_fn progress, vkb_embed_done_fn done, void *user);
int vkb_engine_embed(vkb_engine *e, const char *model, const char *const *texts,
                     const size_t *lens, int n, float *out, long *n_tokens, char *err,
                     size_t errlen);
/* Which prompt goes in front of every text (sentence-transformers prompts from the model's
 * config_sentence_transformers.json): prompt, a literal text ("" = none), wins over
 * prompt_name; both NULL, or opts NULL (the calls above), = the model's default_prompt_name
 * if it has one. An unknown prompt_name fails the call or job with VKB_EINVAL and a message
 * naming the model's prompts. Token-id input (vkb_engine_embed_ids) gets no prompt. */
typedef struct vkb_embed_opts {
    const char *prompt_name;
    const char *prompt;
} vkb_embed_opts;
int vkb_engine_embed_opts_async(vkb_engine *e, const char *model, const char *const *texts,
                                const size_t *lens, int n, const vkb_embed_opts *opts,
                                float *out, long *n_tokens, vkb_progress_fn progress,
                                vkb_embed_done_fn done, void *user);
int vkb_engine_embed_opts(vkb_engine *e, const char *model, const char *const *texts,
                          const size_t *lens, int n, const vkb_embed_opts *opts, float *out,
                          long *n_tokens, char *err, size_t errlen);
/* Same from token ids (OpenAI input as token arrays): ids[i] of length n_ids[i], special
 * tokens NOT included (added here), truncated like text; n_tokens as for vkb_engine_embed
 * (the ids after truncation, specials included). */
int vkb_engine_embed_ids(vkb_engine *e, const char *model, const int32_t *const *ids,
                         const int *n_ids, int n, float *out, long *n_tokens, char *err,
                         size_t errlen);

/* hidden_states[layer] (0 = embeddings output .. num_layers) of one text, tokenized as for
 * sentence embeddings (so with the model's default prompt, if it has one). *out is malloc'd (n_tokens, hidden), caller frees. VKB_EINVAL for a
 * layer out of range. */
int vkb_engine_hidden_states(vkb_engine *e, const char *model, const char *text, size_t len,
                             int layer, float **out, int *n_tokens, char *err, size_t errlen);

/* BERTScore for n (candidate, reference) pairs. cands[i] is UTF-8 of cand_lens[i] bytes and
 * refs[i] of ref_lens[i] bytes, so a text may hold U+0000 (either lens may be NULL: those
 * texts are NUL-terminated). */
typedef struct vkb_bertscore_opts {
    int num_layers;            /* 0 = bert_score's default for the model */
    int idf;                   /* idf weights over the references */
    int rescale_with_baseline; /* needs a baseline TSV for (lang, model) */
    const char *lang;          /* "en" default */
    int batch_size;            /* 0 = default */
} vkb_bertscore_opts;
int vkb_engine_bertscore_async(vkb_engine *e, const char *model, const char *const *cands,
                               const char *const *refs, const size_t *cand_lens,
                               const size_t *ref_lens, int n, const vkb_bertscore_opts *opts,
                               float *P, float *R, float *F, vkb_progress_fn progress,
                               vkb_embed_done_fn done, void *user);
int vkb_engine_bertscore(vkb_engine *e, const char *model, const char *const *cands,
                         const char *const *refs, const size_t *cand_lens,
                         const size_t *ref_lens, int n, const vkb_bertscore_opts *opts,
                         float *P, float *R, float *F, char *err, size_t errlen);
/* bert_score's default model for a language and default num_layers for a model name
 * (0 if the model is not in the table). vkb_bertscore_table_layers tells "not in the table"
 * (-1) from a table entry of 0 (amazon/bort). */
const char *vkb_bertscore_default_model(const char *lang);
int vkb_bertscore_default_layers(const char *model);
int vkb_bertscore_table_layers(const char *model);

/* Engine counters for /status and /metrics. */
typedef struct vkb_engine_stats {
    int queued_jobs;           /* waiting in queues */
    int active_jobs;           /* on devices now */
    uint64_t batches;          /* device batches run */
    uint64_t sequences;        /* sequences encoded */
    uint64_t tokens;           /* tokens encoded */
    int n_devices;             /* 0 .. VKB_MAX_DEVICES */
    struct { char id[32]; char name[128]; uint64_t bytes_in_use; uint64_t bytes_peak;
             int queued; int busy;
             uint64_t batches;  /* device batches this device ran */
           } devices[VKB_MAX_DEVICES];
    char device_choice[256];   /* device "auto": which device and why (vkb_backend_choice) */
} vkb_engine_stats;
void vkb_engine_get_stats(vkb_engine *e, vkb_engine_stats *out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * vk_push.h — the push-constant block of every shader, as the host writes it.
 *
 * Each struct mirrors the `layout(push_constant)` block of the shader(s) named above it,
 * member for member (std430-style: 4-byte scalars, no padding). Change both together: the
 * _Static_asserts pin size and offsets here, and test_vk_push checks them against the
 * push-constant blocks reflected from the compiled SPIR-V.
 */
#ifndef VKB_VK_PUSH_H
#define VKB_VK_PUSH_H

#include <stddef.h>
#include <stdint.h>

/* shaders/matmul.comp, shaders/matmul_texel.comp */
typedef struct {
    uint32_t M, N, K, act, flags, x_off, y_off, r_off;
} matmul_push;
_Static_assert(sizeof(matmul_push) == 32, "matmul_push: 32 bytes, as in its shaders");
_Static_assert(offsetof(matmul_push, M) == 0, "matmul_push.M");
_Static_assert(offsetof(matmul_push, N) == 4, "matmul_push.N");
_Static_assert(offsetof(matmul_push, K) == 8, "matmul_push.K");
_Static_assert(offsetof(matmul_push, act) == 12, "matmul_push.act");
_Static_assert(offsetof(matmul_push, flags) == 16, "matmul_push.flags");
_Static_assert(offsetof(matmul_push, x_off) == 20, "matmul_push.x_off");
_Static_assert(offsetof(matmul_push, y_off) == 24, "matmul_push.y_off");
_Static_assert(offsetof(matmul_push, r_off) == 28, "matmul_push.r_off");
/* shaders/attention.comp, shaders/attention_texel.comp */
typedef struct {
    uint32_t L, H, qkv_off, ctx_off;
    float scale;
    uint32_t b0;
} attention_push;
_Static_assert(sizeof(attention_push) == 24, "attention_push: 24 bytes, as in its shaders");
_Static_assert(offsetof(attention_push, L) == 0, "attention_push.L");
_Static_assert(offsetof(attention_push, H) == 4, "attention_push.H");
_Static_assert(offsetof(attention_push, qkv_off) == 8, "attention_push.qkv_off");
_Static_assert(offsetof(attention_push, ctx_off) == 12, "attention_push.ctx_off");
_Static_assert(offsetof(attention_push, scale) == 16, "attention_push.scale");
_Static_assert(offsetof(attention_push, b0) == 20, "attention_push.b0");
/* shaders/attention_rel.comp, shaders/attention_rel_texel.comp */
typedef struct {
    uint32_t L, H, qkv_off, ctx_off;
    float scale;
    uint32_t b0, P, ld, pk_col, pq_col;
} attention_rel_push;
_Static_assert(sizeof(attention_rel_push) == 40, "attention_rel_push: 40 bytes, as in its shaders");
_Static_assert(offsetof(attention_rel_push, L) == 0, "attention_rel_push.L");
_Static_assert(offsetof(attention_rel_push, H) == 4, "attention_rel_push.H");
_Static_assert(offsetof(attention_rel_push, qkv_off) == 8, "attention_rel_push.qkv_off");
_Static_assert(offsetof(attention_rel_push, ctx_off) == 12, "attention_rel_push.ctx_off");
_Static_assert(offsetof(attention_rel_push, scale) == 16, "attention_rel_push.scale");
_Static_assert(offsetof(attention_rel_push, b0) == 20, "attention_rel_push.b0");
_Static_assert(offsetof(attention_rel_push, P) == 24, "attention_rel_push.P");
_Static_assert(offsetof(attention_rel_push, ld) == 28, "attention_rel_push.ld");
_Static_assert(offsetof(attention_rel_push, pk_col) == 32, "attention_rel_push.pk_col");
_Static_assert(offsetof(attention_rel_push, pq_col) == 36, "attention_rel_push.pq_col");
/* shaders/layernorm.comp, shaders/layernorm_texel.comp */
typedef struct {
    uint32_t cols, has_res;
    float eps;
    uint32_t x_off, r_off, y_off, rows;
} layernorm_push;
_Static_assert(sizeof(layernorm_push) == 28, "layernorm_push: 28 bytes, as in its shaders");
_Static_assert(offsetof(layernorm_push, cols) == 0, "layernorm_push.cols");
_Static_assert(offsetof(layernorm_push, has_res) == 4, "layernorm_push.has_res");
_Static_assert(offsetof(layernorm_push, eps) == 8, "layernorm_push.eps");
_Static_assert(offsetof(layernorm_push, x_off) == 12, "layernorm_push.x_off");
_Static_assert(offsetof(layernorm_push, r_off) == 16, "layernorm_push.r_off");
_Static_assert(offsetof(layernorm_push, y_off) == 20, "layernorm_push.y_off");
_Static_assert(offsetof(layernorm_push, rows) == 24, "layernorm_push.rows");
/* shaders/embed.comp */
typedef struct {
    uint32_t L, C, pos_mode, pad_id;
    float eps;
    uint32_t f16, rows_per_chunk, n_words, y_off, b0;
    uint32_t w_shift[4];
} embed_push;
_Static_assert(sizeof(embed_push) == 56, "embed_push: 56 bytes, as in its shaders");
_Static_assert(offsetof(embed_push, L) == 0, "embed_push.L");
_Static_assert(offsetof(embed_push, C) == 4, "embed_push.C");
_Static_assert(offsetof(embed_push, pos_mode) == 8, "embed_push.pos_mode");
_Static_assert(offsetof(embed_push, pad_id) == 12, "embed_push.pad_id");
_Static_assert(offsetof(embed_push, eps) == 16, "embed_push.eps");
_Static_assert(offsetof(embed_push, f16) == 20, "embed_push.f16");
_Static_assert(offsetof(embed_push, rows_per_chunk) == 24, "embed_push.rows_per_chunk");
_Static_assert(offsetof(embed_push, n_words) == 28, "embed_push.n_words");
_Static_assert(offsetof(embed_push, y_off) == 32, "embed_push.y_off");
_Static_assert(offsetof(embed_push, b0) == 36, "embed_push.b0");
_Static_assert(offsetof(embed_push, w_shift) == 40, "embed_push.w_shift");
/* shaders/embed_texel.comp */
typedef struct {
    uint32_t L, C, pos_mode, pad_id;
    float eps;
    uint32_t n_words, b0;
} embed_texel_push;
_Static_assert(sizeof(embed_texel_push) == 28, "embed_texel_push: 28 bytes, as in its shader");
_Static_assert(offsetof(embed_texel_push, L) == 0, "embed_texel_push.L");
_Static_assert(offsetof(embed_texel_push, C) == 4, "embed_texel_push.C");
_Static_assert(offsetof(embed_texel_push, pos_mode) == 8, "embed_texel_push.pos_mode");
_Static_assert(offsetof(embed_texel_push, pad_id) == 12, "embed_texel_push.pad_id");
_Static_assert(offsetof(embed_texel_push, eps) == 16, "embed_texel_push.eps");
_Static_assert(offsetof(embed_texel_push, n_words) == 20, "embed_texel_push.n_words");
_Static_assert(offsetof(embed_texel_push, b0) == 24, "embed_texel_push.b0");
/* shaders/pool.comp */
typedef struct {
    uint32_t L, C, modes, normalize, b0, h_off, o_off;
} pool_push;
_Static_assert(sizeof(pool_push) == 28, "pool_push: 28 bytes, as in its shaders");
_Static_assert(offsetof(pool_push, L) == 0, "pool_push.L");
_Static_assert(offsetof(pool_push, C) == 4, "pool_push.C");
_Static_assert(offsetof(pool_push, modes) == 8, "pool_push.modes");
_Static_assert(offsetof(pool_push, normalize) == 12, "pool_push.normalize");
_Static_assert(offsetof(pool_push, b0) == 16, "pool_push.b0");
_Static_assert(offsetof(pool_push, h_off) == 20, "pool_push.h_off");
_Static_assert(offsetof(pool_push, o_off) == 24, "pool_push.o_off");
/* shaders/greedy_match.comp */
typedef struct {
    uint32_t rows, C, P, ML, JC, q0, nq;
} greedy_push;
_Static_assert(sizeof(greedy_push) == 28, "greedy_push: 28 bytes, as in its shaders");
_Static_assert(offsetof(greedy_push, rows) == 0, "greedy_push.rows");
_Static_assert(offsetof(greedy_push, C) == 4, "greedy_push.C");
_Static_assert(offsetof(greedy_push, P) == 8, "greedy_push.P");
_Static_assert(offsetof(greedy_push, ML) == 12, "greedy_push.ML");
_Static_assert(offsetof(greedy_push, JC) == 16, "greedy_push.JC");
_Static_assert(offsetof(greedy_push, q0) == 20, "greedy_push.q0");
_Static_assert(offsetof(greedy_push, nq) == 24, "greedy_push.nq");

#endif

/*
 * test_vk_push.c — every host push-constant struct (runtime/vulkan/vk_push.h) matches the
 * push-constant block of its shaders as compiled: the same number of members, the same
 * offsets, the same size, read from the embedded SPIR-V itself. Every embedded shader must
 * be listed here (one with no push block lists 0 members), so a new shader cannot go
 * unchecked. No Vulkan device needed.
 */
#include "testlib.h"
#include "vk_push.h"

#include <stdio.h>
#include <string.h>

struct vkb_embedded_shader { const char *name; const uint32_t *words; const size_t *size; };
extern const struct vkb_embedded_shader vkb_embedded_shaders[];

enum { MAX_MEMBERS = 32 };

typedef struct {
    const char *shader;
    size_t size;
    int n_members;
    size_t offsets[MAX_MEMBERS];
} push_layout;

static const push_layout layouts[] = {
    {"matmul", sizeof(matmul_push), 8, {
         offsetof(matmul_push, M), offsetof(matmul_push, N), offsetof(matmul_push, K),
         offsetof(matmul_push, act), offsetof(matmul_push, flags), offsetof(matmul_push, x_off),
         offsetof(matmul_push, y_off), offsetof(matmul_push, r_off)}},
    {"matmul_texel", sizeof(matmul_push), 8, {
         offsetof(matmul_push, M), offsetof(matmul_push, N), offsetof(matmul_push, K),
         offsetof(matmul_push, act), offsetof(matmul_push, flags), offsetof(matmul_push, x_off),
         offsetof(matmul_push, y_off), offsetof(matmul_push, r_off)}},
    {"attention", sizeof(attention_push), 6, {
         offsetof(attention_push, L), offsetof(attention_push, H),
         offsetof(attention_push, qkv_off), offsetof(attention_push, ctx_off),
         offsetof(attention_push, scale), offsetof(attention_push, b0)}},
    {"attention_texel", sizeof(attention_push), 6, {
         offsetof(attention_push, L), offsetof(attention_push, H),
         offsetof(attention_push, qkv_off), offsetof(attention_push, ctx_off),
         offsetof(attention_push, scale), offsetof(attention_push, b0)}},
    {"attention_rel", sizeof(attention_rel_push), 10, {
         offsetof(attention_rel_push, L), offsetof(attention_rel_push, H),
         offsetof(attention_rel_push, qkv_off), offsetof(attention_rel_push, ctx_off),
         offsetof(attention_rel_push, scale), offsetof(attention_rel_push, b0),
         offsetof(attention_rel_push, P), offsetof(attention_rel_push, ld),
         offsetof(attention_rel_push, pk_col), offsetof(attention_rel_push, pq_col)}},
    {"attention_rel_texel", sizeof(attention_rel_push), 10, {
         offsetof(attention_rel_push, L), offsetof(attention_rel_push, H),
         offsetof(attention_rel_push, qkv_off), offsetof(attention_rel_push, ctx_off),
         offsetof(attention_rel_push, scale), offsetof(attention_rel_push, b0),
         offsetof(attention_rel_push, P), offsetof(attention_rel_push, ld),
         offsetof(attention_rel_push, pk_col), offsetof(attention_rel_push, pq_col)}},
    {"layernorm", sizeof(layernorm_push), 7, {
         offsetof(layernorm_push, cols), offsetof(layernorm_push, has_res),
         offsetof(layernorm_push, eps), offsetof(layernorm_push, x_off),
         offsetof(layernorm_push, r_off), offsetof(layernorm_push, y_off),
         offsetof(layernorm_push, rows)}},
    {"layernorm_texel", sizeof(layernorm_push), 7, {
         offsetof(layernorm_push, cols), offsetof(layernorm_push, has_res),
         offsetof(layernorm_push, eps), offsetof(layernorm_push, x_off),
         offsetof(layernorm_push, r_off), offsetof(layernorm_push, y_off),
         offsetof(layernorm_push, rows)}},
    {"embed", sizeof(embed_push), 11, {
         offsetof(embed_push, L), offsetof(embed_push, C), offsetof(embed_push, pos_mode),
         offsetof(embed_push, pad_id), offsetof(embed_push, eps), offsetof(embed_push, f16),
         offsetof(embed_push, rows_per_chunk), offsetof(embed_push, n_words),
         offsetof(embed_push, y_off), offsetof(embed_push, b0), offsetof(embed_push, w_shift)}},
    {"embed_texel", sizeof(embed_texel_push), 7, {
         offsetof(embed_texel_push, L), offsetof(embed_texel_push, C),
         offsetof(embed_texel_push, pos_mode), offsetof(embed_texel_push, pad_id),
         offsetof(embed_texel_push, eps), offsetof(embed_texel_push, n_words),
         offsetof(embed_texel_push, b0)}},
    {"pool", sizeof(pool_push), 7, {
         offsetof(pool_push, L), offsetof(pool_push, C), offsetof(pool_push, modes),
         offsetof(pool_push, normalize), offsetof(pool_push, b0), offsetof(pool_push, h_off),
         offsetof(pool_push, o_off)}},
    {"greedy_match", sizeof(greedy_push), 7, {
         offsetof(greedy_push, rows), offsetof(greedy_push, C), offsetof(greedy_push, P),
         offsetof(greedy_push, ML), offsetof(greedy_push, JC), offsetof(greedy_push, q0),
         offsetof(greedy_push, nq)}},
};

/* What the SPIR-V says about its push-constant block. */
typedef struct {
    int found;
    int n_members;
    uint32_t offsets[MAX_MEMBERS];
    uint32_t size; /* last member's offset + its size */
} spv_push;

enum { MAX_IDS = 1 << 16 };

/* SPIR-V opcodes and enums used below (the SPIR-V 1.x specification, section 3). */
enum {
    OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_VECTOR = 23, OP_TYPE_ARRAY = 28,
    OP_TYPE_STRUCT = 30, OP_TYPE_POINTER = 32, OP_CONSTANT = 43, OP_VARIABLE = 59,
    OP_MEMBER_DECORATE = 72, DEC_OFFSET = 35, SC_PUSH_CONSTANT = 9
};

static uint32_t type_size(const uint32_t *words, size_t n, uint32_t id, int depth);

/* Finds the instruction that defines id; returns its first word's index or 0. */
static size_t find_def(const uint32_t *words, size_t n, uint32_t id)
{
    for (size_t i = 5; i < n;) {
        uint32_t op = words[i] & 0xffff, wc = words[i] >> 16;
        if (wc == 0)
            return 0;
        uint32_t result = 0;
        if (op == OP_TYPE_INT || op == OP_TYPE_FLOAT || op == OP_TYPE_VECTOR ||
            op == OP_TYPE_ARRAY || op == OP_TYPE_STRUCT || op == OP_TYPE_POINTER)
            result = words[i + 1];
        else if (op == OP_CONSTANT || op == OP_VARIABLE)
            result = words[i + 2];
        if (result == id && id != 0)
            return i;
        i += wc;
    }
    return 0;
}

static uint32_t type_size(const uint32_t *words, size_t n, uint32_t id, int depth)
{
    size_t at = find_def(words, n, id);
    if (!at || depth > 4)
        return 0;
    uint32_t op = words[at] & 0xffff;
    if (op == OP_TYPE_INT || op == OP_TYPE_FLOAT)
        return words[at + 2] / 8;
    if (op == OP_TYPE_VECTOR)
        return words[at + 3] * type_size(words, n, words[at + 2], depth + 1);
    if (op == OP_TYPE_ARRAY) {
        size_t len_at = find_def(words, n, words[at + 3]);
        uint32_t len = len_at ? words[len_at + 3] : 0;
        return len * type_size(words, n, words[at + 2], depth + 1);
    }
    return 0;
}

static spv_push reflect_push(const uint32_t *words, size_t n)
{
    spv_push r = {0};
    uint32_t struct_id = 0;
    for (size_t i = 5; i < n;) {
        uint32_t op = words[i] & 0xffff, wc = words[i] >> 16;
        if (wc == 0)
            break;
        if (op == OP_VARIABLE && words[i + 3] == SC_PUSH_CONSTANT) {
            size_t ptr = find_def(words, n, words[i + 1]);
            if (ptr && (words[ptr] & 0xffff) == OP_TYPE_POINTER)
                struct_id = words[ptr + 3];
        }
        i += wc;
    }
    if (!struct_id)
        return r;
    size_t st = find_def(words, n, struct_id);
    if (!st || (words[st] & 0xffff) != OP_TYPE_STRUCT)
        return r;
    r.found = 1;
    r.n_members = (int)(words[st] >> 16) - 2;
    if (r.n_members > MAX_MEMBERS)
        r.n_members = MAX_MEMBERS;
    for (size_t i = 5; i < n;) {
        uint32_t op = words[i] & 0xffff, wc = words[i] >> 16;
        if (op == OP_MEMBER_DECORATE && words[i + 1] == struct_id && words[i + 3] == DEC_OFFSET &&
            words[i + 2] < (uint32_t)r.n_members)
            r.offsets[words[i + 2]] = words[i + 4];
        i += wc;
    }
    int last = r.n_members - 1;
    if (last >= 0)
        r.size = r.offsets[last] + type_size(words, n, words[st + 2 + last], 0);
    return r;
}

static const push_layout *layout_of(const char *shader)
{
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (strcmp(layouts[i].shader, shader) == 0)
            return &layouts[i];
    return NULL;
}

int main(void)
{
    int shaders = 0;
    for (const struct vkb_embedded_shader *s = vkb_embedded_shaders; s->name; s++) {
        shaders++;
        size_t n = *s->size / 4;
        spv_push r = reflect_push(s->words, n);
        const push_layout *l = layout_of(s->name);
        if (!l) {
            CHECK(!r.found, "%s: has a push-constant block but no struct in vk_push.h "
                                   "(add it there and to this test)", s->name);
            continue;
        }
        CHECK(r.found, "%s: vk_push.h has a struct but the shader has no push block",
                     s->name);
        CHECK(r.n_members == l->n_members, "%s: shader has %d push members, host %d",
                     s->name, r.n_members, l->n_members);
        for (int m = 0; m < l->n_members && m < r.n_members; m++)
            CHECK(r.offsets[m] == l->offsets[m], "%s: member %d at %u in the shader, %zu "
                         "on the host", s->name, m, r.offsets[m], l->offsets[m]);
        CHECK(r.size == l->size, "%s: push block %u bytes in the shader, %zu on the host",
                     s->name, r.size, l->size);
    }
    CHECK(shaders > 0, "no embedded shaders");
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        int seen = 0;
        for (const struct vkb_embedded_shader *s = vkb_embedded_shaders; s->name; s++)
            seen |= strcmp(s->name, layouts[i].shader) == 0;
        CHECK(seen, "%s: listed here but not an embedded shader", layouts[i].shader);
    }
    printf("test_vk_push: %d shaders checked\n", shaders);
    return tl_finish();
}

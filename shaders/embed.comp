#version 450
// embed.comp — Y[b*L+t] = LayerNorm(word[id] + pos[p(b,t)] + type[0]) · gamma + beta.
// One variant for every device: it runs once per forward and is bound by its gathers.
//
// Bindings (storage buffers; weight tables as uint[] so f32 and f16 share one shader: an f32
// element i is word i, an f16 element i is half i&1 of word i>>1):
//   0 ids     int[]  (B*L): ids[b*L + t], b counted from b0
//   1 lengths int[]  (B): lengths[b]
//   2..5 word uint[] (V, C) split in up to 4 windows of rows_per_chunk rows each (a table may
//             exceed maxStorageBufferRange, e.g. roberta-large's 50265 x 1024 f32 = 206 MB);
//             row v lives in window v / rows_per_chunk at element
//             w_shift[window] + (v % rows_per_chunk)*C + c
//   6 pos     uint[] (P, C)            } read only when TERMS says the model has them (the
//   7 type    uint[] (T, C), row 0 used } host binds a dummy otherwise): DistilBERT and MPNet
//   8 gamma   float[] (C)               } have no token types
//   9 beta    float[] (C)
//  10 Y       float[] (B*L, C): Y[b*L+t, c] = y[y_off + ((b - b0)*L + t)*C + c]
// Push constants: L, C, pos_mode (0 BERT: p = t; 1 RoBERTa: p = pad_id+1+t for t < len, else
// pad_id), pad_id, eps, f16 flags (1 word, 2 pos, 4 type), rows_per_chunk, n_words (V),
// y_off, b0, w_shift[4].
//
// Workgroup (x = t, y = b - b0) builds one row: each invocation sums its strided columns into
// Y, the row's mean and biased variance are reduced in shared memory (two passes), then each
// invocation normalises the columns it wrote. Ids outside 0..V-1 are clamped (caller's bug).
layout(constant_id = 0) const uint WG = 64; // power of two
layout(constant_id = 1) const uint TERMS = 7; // 1: pos, 2: type, 4: beta (BERT: all three)
layout(local_size_x_id = 0) in;

const bool HAS_POS = (TERMS & 1u) != 0u, HAS_TYPE = (TERMS & 2u) != 0u,
           HAS_BETA = (TERMS & 4u) != 0u;

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };
layout(std430, binding = 1) readonly buffer Len { int lengths[]; };
layout(std430, binding = 2) readonly buffer Word0 { uint word0[]; };
layout(std430, binding = 3) readonly buffer Word1 { uint word1[]; };
layout(std430, binding = 4) readonly buffer Word2 { uint word2[]; };
layout(std430, binding = 5) readonly buffer Word3 { uint word3[]; };
layout(std430, binding = 6) readonly buffer Pos { uint pos[]; };
layout(std430, binding = 7) readonly buffer Type { uint type_[]; };
layout(std430, binding = 8) readonly buffer GBuf { float gamma[]; };
layout(std430, binding = 9) readonly buffer BBuf { float beta[]; };
layout(std430, binding = 10) buffer YBuf { float y[]; };

layout(push_constant) uniform Push {
    uint L, C, pos_mode, pad_id;
    float eps;
    uint f16, rows_per_chunk, n_words, y_off, b0;
    uint w_shift[4];
} p;

#extension GL_GOOGLE_include_directive : require
#include "reduce.glsl"

float decode(uint word, uint i, bool half_)
{
    return half_ ? unpackHalf2x16(word)[i & 1u] : uintBitsToFloat(word);
}

// Element i of word window k (branches keep the descriptor index a constant).
float word_at(uint k, uint i)
{
    bool h = (p.f16 & 1u) != 0u;
    uint wi = h ? i >> 1 : i;
    uint v;
    if (k == 0u)
        v = word0[wi];
    else if (k == 1u)
        v = word1[wi];
    else if (k == 2u)
        v = word2[wi];
    else
        v = word3[wi];
    return decode(v, i, h);
}

float pos_at(uint i)
{
    bool h = (p.f16 & 2u) != 0u;
    return decode(pos[h ? i >> 1 : i], i, h);
}

float type_at(uint i)
{
    bool h = (p.f16 & 4u) != 0u;
    return decode(type_[h ? i >> 1 : i], i, h);
}

void main()
{
    uint t = gl_WorkGroupID.x, bl = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    uint b = p.b0 + bl;
    uint id = uint(clamp(ids[b * p.L + t], 0, int(p.n_words) - 1));
    uint chunk = id / p.rows_per_chunk, in_chunk = id % p.rows_per_chunk;
    uint wbase = p.w_shift[chunk] + in_chunk * p.C;
    uint len = uint(clamp(lengths[b], 0, int(p.L)));
    uint position = p.pos_mode == 0u ? t : (t < len ? p.pad_id + 1u + t : p.pad_id);
    uint pbase = position * p.C;
    uint ybase = p.y_off + (bl * p.L + t) * p.C;

    float s = 0.0;
    for (uint c = lid; c < p.C; c += WG) {
        float v = word_at(chunk, wbase + c);
        if (HAS_POS)
            v += pos_at(pbase + c);
        if (HAS_TYPE)
            v += type_at(c);
        y[ybase + c] = v; // read back below by this same invocation only
        s += v;
    }
    float mean = workgroup_sum(s) / float(p.C);
    float var = 0.0;
    for (uint c = lid; c < p.C; c += WG) {
        float d = y[ybase + c] - mean;
        var = fma(d, d, var);
    }
    float inv = inversesqrt(workgroup_sum(var) / float(p.C) + p.eps);
    for (uint c = lid; c < p.C; c += WG)
        y[ybase + c] = (y[ybase + c] - mean) * inv * gamma[c] + (HAS_BETA ? beta[c] : 0.0);
}

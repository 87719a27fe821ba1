#version 450
// embed_texel.comp — Y[b*L+t] = LayerNorm(word[id] + pos[p(b,t)] + type[0]) · gamma + beta,
// the variant for CPU-type devices (lavapipe): every read through a texel view, Y written
// through a storage texel image, the row held in registers (the shape of layernorm_texel).
// embed.comp's storage-buffer loads and shared-memory reductions ran 15 ms for a 2048-row
// MiniLM batch there; lavapipe turns each storage-buffer access into a loop over the lanes.
//
// Bindings (C a multiple of 4; f16 tables through RGBA16F views, which convert):
//   0 ids     isamplerBuffer R32I (B*L): token b*L + t at texel b*L + t
//   1 lengths isamplerBuffer R32I (B): lengths[b]
//   2 word    samplerBuffer RGBA32F/RGBA16F (V, C): texel (v*C + c)/4 holds word[v, c..c+3]
//   3 pos     samplerBuffer (P, C), same layout    } read only when TERMS says the model
//   4 type    samplerBuffer (T, C), row 0 is used } has them (the host binds a dummy
//   5 gamma   samplerBuffer RGBA32F (C)           } otherwise): DistilBERT and MPNet have
//   6 beta    samplerBuffer RGBA32F (C)           } no token types
//   7 Y       imageBuffer rgba32f (B*L, C): texel ((b*L + t)*C + c)/4 holds Y[b*L+t, c..c+3]
// Push constants: L, C, pos_mode (0 BERT: p = t; 1 RoBERTa: p = pad_id+1+t for t < len, else
// pad_id), pad_id, eps, n_words (V), b0 (first sequence of this dispatch).
//
// Workgroup (x = t, y = b - b0) is one subgroup of WG lanes and builds one row: lane l holds
// the NV chunks l, l+WG, ... of 4 columns; chunks past C are clamped and masked (no branch
// around a fetch), the mean and the biased variance (two passes over the registers) come
// from subgroupAdd. Ids outside 0..V-1 are clamped (a caller's bug, as in embed.comp).
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint WG = 8;  // = subgroup size (the host checks it is fixed)
layout(constant_id = 1) const uint NV = 12; // chunks per lane: ceil(C / (4 * WG))
layout(constant_id = 2) const uint TERMS = 7; // 1: pos, 2: type, 4: beta (BERT: all three)
layout(local_size_x_id = 0) in;

const bool HAS_POS = (TERMS & 1u) != 0u, HAS_TYPE = (TERMS & 2u) != 0u,
           HAS_BETA = (TERMS & 4u) != 0u;

layout(binding = 0) uniform isamplerBuffer ids;
layout(binding = 1) uniform isamplerBuffer lengths;
layout(binding = 2) uniform samplerBuffer word;
layout(binding = 3) uniform samplerBuffer pos;
layout(binding = 4) uniform samplerBuffer type_;
layout(binding = 5) uniform samplerBuffer gamma;
layout(binding = 6) uniform samplerBuffer beta;
layout(binding = 7, rgba32f) uniform writeonly imageBuffer Y;

layout(push_constant) uniform Push {
    uint L, C, pos_mode, pad_id;
    float eps;
    uint n_words, b0;
} p;

void main()
{
    uint t = gl_WorkGroupID.x, b = p.b0 + gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    uint C4 = p.C / 4u;
    uint id = uint(clamp(texelFetch(ids, int(b * p.L + t)).x, 0, int(p.n_words) - 1));
    uint len = uint(clamp(texelFetch(lengths, int(b)).x, 0, int(p.L)));
    uint position = p.pos_mode == 0u ? t : (t < len ? p.pad_id + 1u + t : p.pad_id);

    vec4 v[NV];
    vec4 s = vec4(0.0);
    [[unroll]] for (uint i = 0; i < NV; i++) {
        uint c4 = i * WG + lid;
        float live = c4 < C4 ? 1.0 : 0.0;
        int cc = int(min(c4, C4 - 1u));
        vec4 w = texelFetch(word, int(id * C4) + cc);
        if (HAS_POS)
            w += texelFetch(pos, int(position * C4) + cc);
        if (HAS_TYPE)
            w += texelFetch(type_, cc);
        v[i] = w * live;
        s += v[i];
    }
    float mean = subgroupAdd(s.x + s.y + s.z + s.w) / float(p.C);
    vec4 q = vec4(0.0);
    [[unroll]] for (uint i = 0; i < NV; i++) {
        float live = i * WG + lid < C4 ? 1.0 : 0.0;
        vec4 d = (v[i] - mean) * live;
        q += d * d;
    }
    float inv = inversesqrt(subgroupAdd(q.x + q.y + q.z + q.w) / float(p.C) + p.eps);
    uint row = (b * p.L + t) * C4;
    [[unroll]] for (uint i = 0; i < NV; i++) {
        uint c4 = i * WG + lid;
        int cc = int(min(c4, C4 - 1u));
        vec4 y = (v[i] - mean) * inv * texelFetch(gamma, cc);
        if (HAS_BETA)
            y += texelFetch(beta, cc);
        if (c4 < C4)
            imageStore(Y, int(row + c4), y);
    }
}

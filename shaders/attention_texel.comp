#version 450
// attention_texel.comp — fused multi-head self-attention from the packed QKV projection, the
// variant for CPU-type devices (lavapipe): QKV is read through a texel buffer (fast there),
// no shared memory. (Real GPUs use attention.comp.)
//
// Bindings:
//   0 qkv     samplerBuffer (B*L, 3*H*D): row b*L+t = [Q | K | V], head h at columns
//             h*D..h*D+D-1 of each third. VEC4 = true: RGBA32F view, element (row, col) in
//             texel (qkv_off + row*3*H*D + col)/4 (D and qkv_off multiples of 4);
//             VEC4 = false: R32F view, texel qkv_off + row*3*H*D + col.
//   1 lengths isamplerBuffer R32I (B): real tokens of sequence b are 0..lengths[b]-1
//   2 ctx4    imageBuffer rgba32f (B*L, H*D), written when VEC4: element (row, col) in texel
//             (ctx_off + row*H*D + col)/4, a view of the whole output tensor
//   3 ctx1    imageBuffer r32f, the same written one element per texel when not VEC4 (the
//             unused one of 2 and 3 is bound to a dummy). Images, not storage buffers:
//             lavapipe turns each storage-buffer access into a loop over the lanes.
//   4 bias    samplerBuffer R32F (rows, H): the additive position bias, texel row*H + h,
//             read when BIAS != 0 (else any R32F view is bound)
// Push constants: L, H, qkv_off, ctx_off, scale (1/sqrt(D)), b0 (first sequence in lengths).
//
// Invocation (x = query row t, y = head h, z = sequence b) computes
// softmax_j(q·k_j*scale + bias(j - t, h))·v_j
// over the real keys j < len with the online softmax, rescaling once per tile of KT keys.
// Nothing of size (L, L) is stored. len == 0 gives 0.
//
// The SG lanes of a subgroup are SG queries of one (b, h) and walk the same keys, so each
// K/V row is fetched once per subgroup: lane l fetches chunks l, l+SG, ... and every lane
// reads the whole row through subgroupShuffle (halved the time on lavapipe: 50 -> 25 ms at
// 32x12x128x32). Keys past len are clamped and masked instead of branched around (a branch
// around a texel fetch is slow there), and loops over D and KT are [[unroll]]ed (lavapipe ends
// an invocation after 65535 loop iterations in total; what remains iterates L/KT times).
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 0) const uint D = 64;
layout(constant_id = 1) const uint KT = 8;
layout(constant_id = 2) const bool VEC4 = true;
layout(local_size_x_id = 3) in;               // a multiple of SG
layout(constant_id = 4) const uint SG = 8;    // subgroup size
// The position bias (vkb_attn_desc): 0 none (BERT: the pipeline is the plain one), 1 T5/MPNet
// buckets of j - t with NBUCKETS buckets and MAXDIST (see position_bias.glsl).
layout(constant_id = 5) const uint BIAS = 0;
layout(constant_id = 6) const uint NBUCKETS = 32;
layout(constant_id = 7) const uint MAXDIST = 128;

layout(binding = 0) uniform samplerBuffer qkv;
layout(binding = 1) uniform isamplerBuffer lengths;
layout(binding = 2, rgba32f) uniform writeonly imageBuffer ctx4;
layout(binding = 3, r32f) uniform writeonly imageBuffer ctx1;
layout(binding = 4) uniform samplerBuffer bias;

#extension GL_GOOGLE_include_directive : require
#include "position_bias.glsl"

layout(push_constant) uniform Push {
    uint L, H, qkv_off, ctx_off;
    float scale;
    uint b0;
} p;

const uint STEP = VEC4 ? 4u : 1u;     // floats per chunk
const uint NC = D / STEP;             // chunks per row (D % 4 == 0 when VEC4)
const uint PER = (NC + SG - 1u) / SG; // chunks fetched per lane

// This lane's own row of D floats starting at element e.
void load_own_row(int e, out float v[D])
{
    [[unroll]] for (uint c = 0; c < NC; c++) {
        vec4 x = VEC4 ? texelFetch(qkv, e / 4 + int(c)) : texelFetch(qkv, e + int(c));
        v[STEP * c] = x.x;
        if (VEC4) {
            v[STEP * c + 1] = x.y;
            v[STEP * c + 2] = x.z;
            v[STEP * c + 3] = x.w;
        }
    }
}

// The D floats of the row starting at element e, the same e in every lane of the subgroup,
// fetched cooperatively.
void load_row(int e, out float v[D])
{
    vec4 mine[PER];
    uint lane = gl_SubgroupInvocationID;
    [[unroll]] for (uint i = 0; i < PER; i++) {
        int chunk = int(min(i * SG + lane, NC - 1u));
        mine[i] = VEC4 ? texelFetch(qkv, e / 4 + chunk) : texelFetch(qkv, e + chunk);
    }
    [[unroll]] for (uint c = 0; c < NC; c++) {
        vec4 x = subgroupShuffle(mine[c / SG], c % SG);
        v[STEP * c] = x.x;
        if (VEC4) {
            v[STEP * c + 1] = x.y;
            v[STEP * c + 2] = x.z;
            v[STEP * c + 3] = x.w;
        }
    }
}

void main()
{
    uint t = gl_GlobalInvocationID.x, h = gl_GlobalInvocationID.y, b = gl_GlobalInvocationID.z;
    uint len = uint(clamp(texelFetch(lengths, int(p.b0 + b)).x, 0, int(p.L)));
    int stride = int(3u * p.H * D);
    int base = int(p.qkv_off + b * p.L * uint(stride) + h * D);

    // Every lane stays active until the end: the shuffles need the whole subgroup.
    float q[D], acc[D];
    load_own_row(base + int(min(t, p.L - 1u)) * stride, q);
    [[unroll]] for (uint c = 0; c < D; c++) {
        q[c] *= p.scale;
        acc[c] = 0.0;
    }
    const float NEG = -3.0e38;
    float run_max = NEG, run_sum = 0.0;
    uint last = max(len, 1u) - 1u;

    for (uint j0 = 0; j0 < len; j0 += KT) {
        float s[KT];
        float tile_max = NEG;
        [[unroll]] for (uint jj = 0; jj < KT; jj++) {
            float k[D];
            load_row(base + int(min(j0 + jj, last)) * stride + int(p.H * D), k);
            float dotv = 0.0;
            [[unroll]] for (uint c = 0; c < D; c++)
                dotv = fma(q[c], k[c], dotv);
            if (BIAS != 0u)
                dotv += texelFetch(bias, int(t5_bucket(int(j0 + jj) - int(t), NBUCKETS, MAXDIST) *
                                             p.H + h)).x;
            s[jj] = j0 + jj < len ? dotv : NEG;
            tile_max = max(tile_max, s[jj]);
        }
        float new_max = max(run_max, tile_max);
        float corr = exp(run_max - new_max);
        run_sum *= corr;
        [[unroll]] for (uint c = 0; c < D; c++)
            acc[c] *= corr;
        [[unroll]] for (uint jj = 0; jj < KT; jj++) {
            float e = j0 + jj < len ? exp(s[jj] - new_max) : 0.0;
            run_sum += e;
            float v[D];
            load_row(base + int(min(j0 + jj, last)) * stride + int(2u * p.H * D), v);
            [[unroll]] for (uint c = 0; c < D; c++)
                acc[c] = fma(e, v[c], acc[c]);
        }
        run_max = new_max;
    }

    float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
    if (t >= p.L)
        return;
    uint orow = p.ctx_off + (b * p.L + t) * p.H * D + h * D;
    if (VEC4) {
        [[unroll]] for (uint c = 0; c < D; c += 4u)
            imageStore(ctx4, int((orow + c) / 4u),
                       vec4(acc[c], acc[c + 1u], acc[c + 2u], acc[c + 3u]) * inv);
    } else {
        [[unroll]] for (uint c = 0; c < D; c++)
            imageStore(ctx1, int(orow + c), vec4(acc[c] * inv));
    }
}

#version 450
// attention.comp — fused multi-head self-attention from the packed QKV projection, the
// variant for real GPUs: K and V tiles are staged in shared memory and reused by every query
// of the workgroup. (CPU-type devices use attention_texel.)
//
// Bindings (storage buffers):
//   0 qkv     float[] (B*L, 3*H*D): row b*L+t = [Q | K | V], head h at columns h*D..h*D+D-1
//             of each third; element (row, col) at qkv_off + row*3*H*D + col
//   1 lengths int[]   (B): real tokens of sequence b are 0..lengths[b]-1
//   2 ctx     float[] (B*L, H*D): element (row, col) at ctx_off + row*H*D + col
//   3 bias    float[] (rows, H): the additive position bias, element (row, h) at row*H + h,
//             read when BIAS != 0 (else any buffer is bound)
// Push constants: L, H, qkv_off, ctx_off, scale (1/sqrt(D), as float bits), b0 (index of this
// dispatch's first sequence in lengths; rows are relative to the bound windows).
//
// Workgroup (gl_WorkGroupID.x, y = head h, z = sequence b) owns QB queries; one invocation
// owns one query row t and computes softmax_j(q·k_j * scale + bias) · v_j over the real keys
// j < len with the online softmax: per tile of KT keys, the running max, the running sum
// and the output are rescaled once. Nothing of size (L, L) is ever stored. len == 0 gives 0.
//
// Loops over D are [[unroll]]ed: lavapipe (which runs this variant in the tests) ends an
// invocation after 65535 loop iterations in total; what remains iterates about 2L times.
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint D = 64;   // head dim
layout(constant_id = 1) const uint QB = 64;  // queries per workgroup (= local size)
layout(constant_id = 2) const uint KT = 32;  // keys per shared-memory tile
// The position bias (vkb_attn_desc): 0 none (BERT: the pipeline is the plain one), 1 T5/MPNet
// buckets of j - t with NBUCKETS buckets and MAXDIST (see position_bias.glsl).
layout(constant_id = 3) const uint BIAS = 0;
layout(constant_id = 4) const uint NBUCKETS = 32;
layout(constant_id = 5) const uint MAXDIST = 128;
layout(local_size_x_id = 1) in;

layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) readonly buffer Len { int lengths[]; };
layout(std430, binding = 2) writeonly buffer Ctx { float ctx[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
    uint L, H, qkv_off, ctx_off;
    float scale;
    uint b0;
} p;

#extension GL_GOOGLE_include_directive : require
#include "position_bias.glsl"

shared float Ks[KT * D];
shared float Vs[KT * D];

void main()
{
    uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    uint t = gl_WorkGroupID.x * QB + gl_LocalInvocationID.x;
    uint len = uint(clamp(lengths[p.b0 + b], 0, int(p.L)));
    uint stride = 3u * p.H * D;
    uint base = p.qkv_off + b * p.L * stride + h * D;

    float q[D], acc[D];
    uint qrow = base + min(t, p.L - 1u) * stride;
    [[unroll]] for (uint c = 0; c < D; c++) {
        q[c] = qkv[qrow + c];
        acc[c] = 0.0;
    }
    float run_max = -1.0 / 0.0, run_sum = 0.0;

    for (uint j0 = 0; j0 < len; j0 += KT) {
        uint nk = min(KT, len - j0);
        for (uint i = gl_LocalInvocationID.x; i < KT * D; i += QB) {
            uint jj = i / D, c = i % D;
            uint row = base + (j0 + min(jj, nk - 1u)) * stride;
            Ks[i] = qkv[row + p.H * D + c];
            Vs[i] = qkv[row + 2u * p.H * D + c];
        }
        barrier();
        float s[KT];
        float tile_max = -1.0 / 0.0;
        for (uint jj = 0; jj < nk; jj++) {
            float dotv = 0.0;
            [[unroll]] for (uint c = 0; c < D; c++)
                dotv = fma(q[c], Ks[jj * D + c], dotv);
            s[jj] = dotv * p.scale;
            if (BIAS != 0u)
                s[jj] += bias[t5_bucket(int(j0 + jj) - int(t), NBUCKETS, MAXDIST) * p.H + h];
            tile_max = max(tile_max, s[jj]);
        }
        float new_max = max(run_max, tile_max);
        float corr = exp(run_max - new_max);
        run_sum *= corr;
        [[unroll]] for (uint c = 0; c < D; c++)
            acc[c] *= corr;
        for (uint jj = 0; jj < nk; jj++) {
            float e = exp(s[jj] - new_max);
            run_sum += e;
            [[unroll]] for (uint c = 0; c < D; c++)
                acc[c] = fma(e, Vs[jj * D + c], acc[c]);
        }
        run_max = new_max;
        barrier();
    }

    if (t >= p.L)
        return;
    float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
    uint orow = p.ctx_off + (b * p.L + t) * p.H * D + h * D;
    [[unroll]] for (uint c = 0; c < D; c++)
        ctx[orow + c] = acc[c] * inv;
}

#version 450
// matmul_texel.comp — Y = act(X · Wᵀ + bias) + R, the variant for CPU-type Vulkan devices
// (lavapipe): X and W are read through texel buffers, which lavapipe serves ~20x faster than
// storage-buffer loads, and there is no shared memory (tiling through it is slower there).
//
// Bindings:
//   0 X    samplerBuffer (M,K): VEC4 = true: RGBA32F view, texel (x_off + m*K + k)/4 holds
//          X[m,k..k+3] (K and x_off multiples of 4); VEC4 = false: R32F view, texel
//          x_off + m*K + k holds X[m,k].
//   1 W    samplerBuffer (N,K), PyTorch Linear layout: RGBA32F or RGBA16F view (VEC4) or
//          R32F / R16F (scalar); the view's format does the f16 -> f32 conversion.
//          W_PACKED (VEC4 and SHARE_X only): column blocks (runtime/core/weights.c): texel
//          ((gl_WorkGroupID.x*K4 + t)*RN + j)*LX + l holds W[n, 4t..4t+3] for the column
//          n = n0 + j of lane l, rows past N zero, so a workgroup streams one contiguous range.
//   2 bias samplerBuffer (N), read when flags & 1: RGBA32F view (VEC4_OUT, texel n/4 holds
//          bias[n..n+3]) or R32F.
//   3 R    samplerBuffer (M,N) residual, added after act when flags & 2: texel view of the
//          whole tensor, R[m,n] at element r_off + m*N + n (RGBA32F when VEC4_OUT, else R32F).
//   4 Y4   vec4[] storage buffer, written when VEC4_OUT (N, RN multiples of 4): a window
//          of the output's rows; y4[(y_off + m*N + n)/4] holds Y[m,n..n+3] (y_off % 4 == 0).
//   5 Y1   imageBuffer r32f, written otherwise: texel y_off + m*N + n holds Y[m,n], a view
//          of the whole output tensor.
//   (The unused one of 4 and 5 is bound to a dummy.) lavapipe runs every store as a loop
//   over the lanes: a 4-wide storage-buffer store is one loop, a 4-wide image store four
//   (the 512-row MiniLM products took 2.5-3% less time with the storage buffer); its
//   loads are another matter: a storage-buffer load is a loop with a branch per lane while
//   texel fetches are vectorised, so the inputs are texel views (at K = 384 a per-element
//   storage-buffer epilogue cost 25-30% of the op).
// Push constants: M, N, K, act, flags, x_off, y_off, r_off (act and flags are read from the
// specialization constants ACT and FLAGS here; matmul.comp shares the block).
//
// One invocation computes an RM x RN block of Y (rows gl_GlobalInvocationID.y*RM.., cols
// gl_GlobalInvocationID.x*RN..) with RM*RN scalar fp32 accumulators; rows/cols past the edge
// re-read the last valid row (no branch in the inner loop) and are not stored. Every loop but
// the one over K is [[unroll]]ed (lavapipe ends an invocation after 65535 loop iterations).
//
// Skew: in the 4-wide loop, invocation l of the workgroup starts its walk over K at texel
// 4*l (one 64-byte cache line per lane) and wraps around. With K = 1024 or 4096 every row is
// a multiple of 4 KiB apart, so unskewed lanes hit the same L1 sets at the same moment and
// evict each other; skewing lifted 4096x1024x1024 from 28 to 43 GFLOP/s on lavapipe (per
// 2 cores of CPU time), with no cost at K = 384. Measured tiles (RM x RN, lanes along N):
// 8x8 43, 16x8 50, 16x12 54, 16x16 52, 24x8 53 GFLOP/s at 4096x1024x1024 (storage-buffer
// epilogue). With the texel/image epilogue, one MiniLM layer's four products at 2048 rows
// (384x384, 1152x384, 1536x384, 384x1536) took 32x8 107-110 ms, 24x8 112, 64x4 122,
// 40x8 127, 32x4 132, 16x8 134, 24x16 140 (16x12: 120). Mesa 22.3 compiles each texel fetch
// into a call that clobbers every vector register, and keeps loop-carried values under an
// execution mask (load, blend, store per update), so bigger tiles mostly buy fewer calls;
// summing 2 or 4 texels of K before touching the accumulators made it slower.
//
// SHARE_X: the lanes of a subgroup use the same X rows, so lane l fetches rows l, l+SG, ...
// and the others read them through subgroupShuffle (fewer texel fetches: 4096x768x768 went
// from 56 to 65 GFLOP/s). It needs every lane at the same k, so it excludes the skew; the
// host picks it when W is blocked (W_PACKED: one stream, nothing to alias) or its rows are
// not 4 KiB-aliased ((K*4) % 4096 != 0), the skew otherwise. The encoder's weights are
// blocked: that took MiniLM's products at 512 rows from 62-67 to 70-80 GFLOP/s and
// roberta-large's from 53-56 (skewed) to 74-76; with it, tiles 16x16 and 16x12 ran the
// same as 32x8, and summing two steps of K before touching the accumulators was slower.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"

layout(constant_id = 0) const uint RM = 32;
layout(constant_id = 1) const uint RN = 8;
layout(constant_id = 2) const bool VEC4 = true;
layout(local_size_x_id = 3, local_size_y_id = 4) in; // x: a multiple of SG, y: 1
layout(constant_id = 5) const bool SHARE_X = false;
layout(constant_id = 6) const uint SG = 8; // subgroup size

layout(constant_id = 7) const bool VEC4_OUT = false; // the epilogue works on 4 columns at once
layout(constant_id = 8) const bool W_PACKED = false;  // W in column blocks (binding 1)
// The epilogue's activation (vkb_act) and flags (1: bias, 2: residual) are specialization
// constants, not push constants: lavapipe runs both sides of a branch under a mask, so with
// them read at run time every product paid for GELU's erf and a residual fetch (a quarter of
// a 512x1536x384 product's time went to its epilogue).
layout(constant_id = 9) const int ACT = 0;
layout(constant_id = 10) const uint FLAGS = 0;

layout(binding = 0) uniform samplerBuffer X;
layout(binding = 1) uniform samplerBuffer W;
layout(binding = 2) uniform samplerBuffer BIAS;
layout(binding = 3) uniform samplerBuffer R;
layout(std430, binding = 4) writeonly buffer Y4B { vec4 y4[]; };
layout(binding = 5, r32f) uniform writeonly imageBuffer Y1;

layout(push_constant) uniform Push {
    uint M, N, K, act, flags, x_off, y_off, r_off;
} p;

void main()
{
    uint m0 = gl_GlobalInvocationID.y * RM, n0 = gl_GlobalInvocationID.x * RN;
    // Lanes past the edge keep running (clamped) to the stores, which skip them: the shuffles
    // need every lane.
    int xrow[RM], wrow[RN];
    [[unroll]] for (uint i = 0; i < RM; i++)
        xrow[i] = int(p.x_off + min(m0 + i, p.M - 1) * p.K);
    [[unroll]] for (uint j = 0; j < RN; j++)
        wrow[j] = int(min(n0 + j, p.N - 1) * p.K);

    float acc[RM * RN];
    [[unroll]] for (uint i = 0; i < RM * RN; i++)
        acc[i] = 0.0;

    if (VEC4) {
        int K4 = int(p.K / 4);
        int wblock = int(gl_WorkGroupID.x) * K4; // W_PACKED: this workgroup's block, in steps
        int skew = SHARE_X ? 0 : int(gl_LocalInvocationID.x * 4u) % K4;
        const uint PER = (RM + SG - 1u) / SG; // X rows each lane fetches when sharing
        int xown[PER];
        [[unroll]] for (uint u = 0; u < PER; u++)
            xown[u] = int(p.x_off + min(m0 + u * SG + gl_SubgroupInvocationID, p.M - 1) * p.K) / 4;
        for (int kk = 0; kk < K4; kk++) {
            int k4 = kk + skew < K4 ? kk + skew : kk + skew - K4;
            vec4 a[RM], b[RN];
            if (SHARE_X) {
                vec4 mine[PER];
                [[unroll]] for (uint u = 0; u < PER; u++)
                    mine[u] = texelFetch(X, xown[u] + k4);
                [[unroll]] for (uint i = 0; i < RM; i++)
                    a[i] = subgroupShuffle(mine[i / SG], i % SG);
            } else {
                [[unroll]] for (uint i = 0; i < RM; i++)
                    a[i] = texelFetch(X, xrow[i] / 4 + k4);
            }
            if (W_PACKED) {
                int wt = (wblock + k4) * int(RN * gl_WorkGroupSize.x) + int(gl_LocalInvocationID.x);
                [[unroll]] for (uint j = 0; j < RN; j++)
                    b[j] = texelFetch(W, wt + int(j * gl_WorkGroupSize.x));
            } else {
                [[unroll]] for (uint j = 0; j < RN; j++)
                    b[j] = texelFetch(W, wrow[j] / 4 + k4);
            }
            [[unroll]] for (uint i = 0; i < RM; i++)
                [[unroll]] for (uint j = 0; j < RN; j++)
                    acc[i * RN + j] += dot(a[i], b[j]);
        }
    } else {
        for (int k = 0; k < int(p.K); k++) {
            float a[RM], b[RN];
            [[unroll]] for (uint i = 0; i < RM; i++)
                a[i] = texelFetch(X, xrow[i] + k).x;
            [[unroll]] for (uint j = 0; j < RN; j++)
                b[j] = texelFetch(W, wrow[j] + k).x;
            [[unroll]] for (uint i = 0; i < RM; i++)
                [[unroll]] for (uint j = 0; j < RN; j++)
                    acc[i * RN + j] = fma(a[i], b[j], acc[i * RN + j]);
        }
    }

    // The epilogue: bias, act, residual, store (texel views in, Y4 or Y1 out: see the header).
    // No break and no run-time branch around a fetch (both cost lavapipe dearly): bias and
    // residual are there or not by specialization, and the edge test guards only the store.
    const bool has_bias = (FLAGS & 1u) != 0u, has_res = (FLAGS & 2u) != 0u;
    if (VEC4_OUT) {
        [[unroll]] for (uint q = 0; q < RN / 4u; q++) {
            uint n = min(n0 + 4u * q, p.N - 4u);
            vec4 b4 = has_bias ? texelFetch(BIAS, int(n / 4u)) : vec4(0.0);
            [[unroll]] for (uint i = 0; i < RM; i++) {
                uint m = min(m0 + i, p.M - 1u);
                uint e = m * p.N + n;
                vec4 v = vec4(acc[i * RN + 4u * q], acc[i * RN + 4u * q + 1u],
                              acc[i * RN + 4u * q + 2u], acc[i * RN + 4u * q + 3u]) + b4;
                if (ACT != 0)
                    v = vec4(vkb_activate(v.x, ACT), vkb_activate(v.y, ACT),
                             vkb_activate(v.z, ACT), vkb_activate(v.w, ACT));
                if (has_res)
                    v += texelFetch(R, int((p.r_off + e) / 4u));
                if (m0 + i < p.M && n0 + 4u * q < p.N)
                    y4[(p.y_off + e) / 4u] = v;
            }
        }
        return;
    }
    [[unroll]] for (uint i = 0; i < RM; i++) {
        uint m = m0 + i;
        if (m >= p.M)
            break;
        [[unroll]] for (uint j = 0; j < RN; j++) {
            uint n = n0 + j;
            if (n >= p.N)
                break;
            float v = acc[i * RN + j];
            if (has_bias)
                v += texelFetch(BIAS, int(n)).x;
            v = vkb_activate(v, ACT);
            if (has_res)
                v += texelFetch(R, int(p.r_off + m * p.N + n)).x;
            imageStore(Y1, int(p.y_off + m * p.N + n), vec4(v));
        }
    }
}

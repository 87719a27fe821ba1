#version 450
// matmul.comp — Y = act(X · Wᵀ + bias) + R, the variant for real GPUs (NVIDIA, AMD, Intel):
// classic shared-memory tiling with register blocking. (CPU-type devices use matmul_texel.)
//
// Bindings (all storage buffers):
//   0 X    float[]  (M,K) row-major: X[m,k] = x[x_off + m*K + k]
//   1 W    uint[]   (N,K) row-major, PyTorch Linear layout. W_F16 = false: one f32 per word
//                   (uintBitsToFloat); W_F16 = true: two f16 per word, element i in half i&1
//                   of word i>>1 (little-endian halves, as uploaded).
//   2 bias float[]  (N), read when flags & 1
//   3 R    float[]  (M,N) residual: R[m,n] = r[r_off + m*N + n], added after act when flags & 2
//   4 Y    float[]  (M,N): Y[m,n] = y[y_off + m*N + n]
// Push constants: M, N, K, act (vkb_act), flags, x_off, y_off, r_off.
//
// One workgroup computes a BM x BN tile of Y at (gl_WorkGroupID.y*BM, gl_WorkGroupID.x*BN).
// It walks K in steps of BK: the BM x BK slice of X and the BN x BK slice of W are staged in
// shared memory (stored k-major so the inner loop reads consecutive addresses), then each
// invocation accumulates TM x TN outputs in registers. Outputs of one invocation are spread
// with stride BM/TM (rows) and BN/TN (cols) so neighbouring invocations touch neighbouring
// shared-memory words. Accumulation is fp32 for both weight types. Every loop but the one
// over K is [[unroll]]ed (lavapipe, where the tests run this variant too, ends an invocation
// after 65535 loop iterations in total).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(constant_id = 5) const bool W_F16 = false;
layout(local_size_x_id = 6) in; // must equal (BM/TM) * (BN/TN)

layout(std430, binding = 0) readonly buffer XBuf { float x[]; };
layout(std430, binding = 1) readonly buffer WBuf { uint w[]; };
layout(std430, binding = 2) readonly buffer BBuf { float bias[]; };
layout(std430, binding = 3) readonly buffer RBuf { float r[]; };
layout(std430, binding = 4) writeonly buffer YBuf { float y[]; };

layout(push_constant) uniform Push {
    uint M, N, K, act, flags, x_off, y_off, r_off;
} p;

shared float Xs[BK * BM]; // Xs[k*BM + m]
shared float Ws[BK * BN]; // Ws[k*BN + n]

float load_w(uint i)
{
    if (W_F16)
        return unpackHalf2x16(w[i >> 1])[i & 1u];
    return uintBitsToFloat(w[i]);
}

void main()
{
    const uint threads = (BM / TM) * (BN / TN);
    uint tid = gl_LocalInvocationID.x;
    uint tx = tid % (BN / TN), ty = tid / (BN / TN);
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;

    float acc[TM * TN];
    [[unroll]] for (uint i = 0; i < TM * TN; i++)
        acc[i] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        [[unroll]] for (uint it = 0; it < (BM * BK + threads - 1) / threads; it++) {
            uint i = it * threads + tid;
            if (i >= BM * BK)
                break;
            uint row = i / BK, kk = i % BK;
            uint m = m0 + row, k = k0 + kk;
            Xs[kk * BM + row] = (m < p.M && k < p.K) ? x[p.x_off + m * p.K + k] : 0.0;
        }
        [[unroll]] for (uint it = 0; it < (BN * BK + threads - 1) / threads; it++) {
            uint i = it * threads + tid;
            if (i >= BN * BK)
                break;
            uint col = i / BK, kk = i % BK;
            uint n = n0 + col, k = k0 + kk;
            Ws[kk * BN + col] = (n < p.N && k < p.K) ? load_w(n * p.K + k) : 0.0;
        }
        barrier();
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
            [[unroll]] for (uint i = 0; i < TM; i++)
                a[i] = Xs[kk * BM + ty + i * (BM / TM)];
            [[unroll]] for (uint j = 0; j < TN; j++)
                b[j] = Ws[kk * BN + tx + j * (BN / TN)];
            [[unroll]] for (uint i = 0; i < TM; i++)
                [[unroll]] for (uint j = 0; j < TN; j++)
                    acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }

    [[unroll]] for (uint i = 0; i < TM; i++) {
        uint m = m0 + ty + i * (BM / TM);
        if (m >= p.M)
            continue;
        [[unroll]] for (uint j = 0; j < TN; j++) {
            uint n = n0 + tx + j * (BN / TN);
            if (n >= p.N)
                continue;
            float v = acc[i * TN + j];
            if ((p.flags & 1u) != 0u)
                v += bias[n];
            v = vkb_activate(v, int(p.act));
            if ((p.flags & 2u) != 0u)
                v += r[p.r_off + m * p.N + n];
            y[p.y_off + m * p.N + n] = v;
        }
    }
}

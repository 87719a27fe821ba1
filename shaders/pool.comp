#version 450
// pool.comp — sentence pooling over real tokens, optional L2 normalisation (one variant:
// it reads each hidden state once and is cheap next to the encoder).
//
// Bindings (storage buffers):
//   0 H       float[] (B*L, C): H[b*L+t, c] = h[h_off + ((b - b0)*L + t)*C + c]
//   1 lengths int[]   (B): lengths[b]
//   2 out     float[] (B, nm*C): out[b, k*C + c] = o[o_off + (b - b0)*nm*C + k*C + c], where
//             k counts the set modes in the order cls (1), max (2), mean (4), mean_sqrt (8)
// Push constants: L, C, modes, normalize, b0, h_off, o_off.
//
// Workgroup b: each invocation pools its strided columns c over t < n (n = len clamped to
// 0..L): cls = H[b,0,c], max, mean = sum / max(n, 1e-9), mean_sqrt = sum / sqrt(n). With
// normalize, the row's sum of squares is reduced in shared memory and every invocation
// rescales what it wrote by 1 / max(norm, 1e-12).
layout(constant_id = 0) const uint WG = 128; // power of two
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer HBuf { float h[]; };
layout(std430, binding = 1) readonly buffer Len { int lengths[]; };
layout(std430, binding = 2) buffer OBuf { float o[]; };

layout(push_constant) uniform Push {
    uint L, C, modes, normalize, b0, h_off, o_off;
} p;

#extension GL_GOOGLE_include_directive : require
#include "reduce.glsl"

void main()
{
    uint bl = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
    uint n = uint(clamp(lengths[p.b0 + bl], 0, int(p.L)));
    uint nm = bitCount(p.modes & 15u);
    uint hbase = p.h_off + bl * p.L * p.C;
    uint obase = p.o_off + bl * nm * p.C;
    float ss = 0.0;
    for (uint c = lid; c < p.C; c += WG) {
        float s = 0.0, mx = -3.402823466e38;
        for (uint t = 0; t < n; t++) {
            float v = h[hbase + t * p.C + c];
            s += v;
            mx = max(mx, v);
        }
        uint k = 0;
        float vals[4];
        if ((p.modes & 1u) != 0u)
            vals[k++] = h[hbase + c];
        if ((p.modes & 2u) != 0u)
            vals[k++] = mx;
        if ((p.modes & 4u) != 0u)
            vals[k++] = s / max(float(n), 1e-9);
        if ((p.modes & 8u) != 0u)
            vals[k++] = s / sqrt(float(n));
        for (uint i = 0; i < k; i++) {
            o[obase + i * p.C + c] = vals[i];
            ss = fma(vals[i], vals[i], ss);
        }
    }
    if (p.normalize == 0u)
        return; // uniform across the workgroup: no invocation skips a barrier below
    float inv = 1.0 / max(sqrt(workgroup_sum(ss)), 1e-12);
    for (uint c = lid; c < p.C; c += WG)
        for (uint i = 0; i < nm; i++)
            o[obase + i * p.C + c] *= inv; // only this invocation wrote these
}

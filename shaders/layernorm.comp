#version 450
// layernorm.comp — Y = LayerNorm(X + R) · gamma + beta per row, the variant for real GPUs:
// one workgroup per row, reductions through shared memory (valid on every device).
// (CPU-type devices use layernorm_texel.)
//
// Bindings (storage buffers):
//   0 X     float[] (rows, cols): X[i,c] = x[x_off + i*cols + c]
//   1 R     float[] (rows, cols): R[i,c] = r[r_off + i*cols + c], added to X when has_res
//   2 gamma float[] (cols)
//   3 beta  float[] (cols), read when HAS_BETA (else a dummy is bound)
//   4 Y     float[] (rows, cols): Y[i,c] = y[y_off + i*cols + c]
// Push constants: cols, has_res, eps, x_off, r_off, y_off, rows (unused: one workgroup a row).
//
// Workgroup i normalises row i: the WG invocations sum their strided columns, the sums are
// combined in shared memory (mean), then again for the squared deviations (biased variance,
// two passes for accuracy), then each invocation writes its columns.
layout(constant_id = 0) const uint WG = 128; // power of two
layout(constant_id = 1) const bool HAS_BETA = true;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer XBuf { float x[]; };
layout(std430, binding = 1) readonly buffer RBuf { float r[]; };
layout(std430, binding = 2) readonly buffer GBuf { float gamma[]; };
layout(std430, binding = 3) readonly buffer BBuf { float beta[]; };
layout(std430, binding = 4) writeonly buffer YBuf { float y[]; };

layout(push_constant) uniform Push {
    uint cols, has_res;
    float eps;
    uint x_off, r_off, y_off, rows;
} p;

#extension GL_GOOGLE_include_directive : require
#include "reduce.glsl"

float load(uint row, uint c)
{
    float v = x[p.x_off + row * p.cols + c];
    if (p.has_res != 0u)
        v += r[p.r_off + row * p.cols + c];
    return v;
}

void main()
{
    uint row = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
    float s = 0.0;
    for (uint c = lid; c < p.cols; c += WG)
        s += load(row, c);
    float mean = workgroup_sum(s) / float(p.cols);
    float v = 0.0;
    for (uint c = lid; c < p.cols; c += WG) {
        float d = load(row, c) - mean;
        v = fma(d, d, v);
    }
    float inv = inversesqrt(workgroup_sum(v) / float(p.cols) + p.eps);
    for (uint c = lid; c < p.cols; c += WG)
        y[p.y_off + row * p.cols + c] =
            (load(row, c) - mean) * inv * gamma[c] + (HAS_BETA ? beta[c] : 0.0);
}

#version 450
// layernorm_texel.comp — Y = LayerNorm(X + R) · gamma + beta per row, the variant for
// CPU-type devices (lavapipe): inputs through texel buffers (storage loads are ~15x slower
// there), reductions with subgroup arithmetic (lavapipe: 8 lanes), shared memory only to
// combine subgroups when a workgroup has several. (Real GPUs use layernorm.comp.)
//
// Bindings:
//   0 X     samplerBuffer (rows, cols); VEC4: RGBA32F view, texel (x_off + i*cols + c)/4 holds
//           X[i,c..c+3] (cols and x_off multiples of 4); else R32F view, texel x_off+i*cols+c
//   1 R     samplerBuffer (rows, cols), same layout with r_off, added to X when has_res
//   2 gamma samplerBuffer (cols), same view format as X
//   3 beta  samplerBuffer (cols), same view format as X
//   4 Y     float[] (rows, cols): Y[i,c] = y[y_off + i*cols + c]
// Push constants: cols, has_res, eps, x_off, r_off, y_off.
//
// Workgroup i normalises row i: invocations take strided (vec4) columns, sum them, reduce
// (mean), again for squared deviations (biased variance, two passes), then write.
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(constant_id = 0) const uint WG = 8;
layout(constant_id = 1) const bool VEC4 = true;
layout(local_size_x_id = 0) in;

layout(binding = 0) uniform samplerBuffer X;
layout(binding = 1) uniform samplerBuffer R;
layout(binding = 2) uniform samplerBuffer G;
layout(binding = 3) uniform samplerBuffer Bt;
layout(std430, binding = 4) writeonly buffer YBuf { float y[]; };

layout(push_constant) uniform Push {
    uint cols, has_res;
    float eps;
    uint x_off, r_off, y_off;
} p;

shared float partial[32];

float workgroup_sum(float v)
{
    v = subgroupAdd(v);
    if (gl_NumSubgroups == 1)
        return v;
    if (subgroupElect())
        partial[gl_SubgroupID] = v;
    barrier();
    float total = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; i++)
        total += partial[i];
    barrier();
    return total;
}

// Four (VEC4) or one column(s) starting at c of row i, residual added.
vec4 load(uint i, uint c)
{
    if (VEC4) {
        vec4 v = texelFetch(X, int((p.x_off + i * p.cols + c) / 4));
        if (p.has_res != 0u)
            v += texelFetch(R, int((p.r_off + i * p.cols + c) / 4));
        return v;
    }
    float v = texelFetch(X, int(p.x_off + i * p.cols + c)).x;
    if (p.has_res != 0u)
        v += texelFetch(R, int(p.r_off + i * p.cols + c)).x;
    return vec4(v, 0.0, 0.0, 0.0);
}

void main()
{
    uint row = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
    uint step = VEC4 ? 4u : 1u;
    vec4 s = vec4(0.0);
    for (uint c = lid * step; c < p.cols; c += WG * step)
        s += load(row, c);
    float mean = workgroup_sum(s.x + s.y + s.z + s.w) / float(p.cols);
    vec4 v = vec4(0.0);
    vec4 mask = VEC4 ? vec4(1.0) : vec4(1.0, 0.0, 0.0, 0.0);
    for (uint c = lid * step; c < p.cols; c += WG * step) {
        vec4 d = (load(row, c) - mean) * mask;
        v += d * d;
    }
    float inv = inversesqrt(workgroup_sum(v.x + v.y + v.z + v.w) / float(p.cols) + p.eps);
    for (uint c = lid * step; c < p.cols; c += WG * step) {
        vec4 n = (load(row, c) - mean) * inv;
        if (VEC4) {
            vec4 g = texelFetch(G, int(c / 4)), b = texelFetch(Bt, int(c / 4));
            uint o = p.y_off + row * p.cols + c;
            y[o] = n.x * g.x + b.x;
            y[o + 1] = n.y * g.y + b.y;
            y[o + 2] = n.z * g.z + b.z;
            y[o + 3] = n.w * g.w + b.w;
        } else {
            y[p.y_off + row * p.cols + c] =
                n.x * texelFetch(G, int(c)).x + texelFetch(Bt, int(c)).x;
        }
    }
}

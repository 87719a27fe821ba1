#version 450
// attention_texel.comp — fused multi-head self-attention from the packed QKV projection, the
// variant for CPU-type devices (lavapipe): Q, K and V are read through a texel buffer (fast
// there), no shared memory. (Real GPUs use attention.comp.)
//
// Bindings:
//   0 qkv     samplerBuffer (B*L, 3*H*D): row b*L+t = [Q | K | V], head h at columns
//             h*D..h*D+D-1 of each third. VEC4 = true: RGBA32F view, element (row, col) in
//             texel (qkv_off + row*3*H*D + col)/4 (D and qkv_off multiples of 4);
//             VEC4 = false: R32F view, texel qkv_off + row*3*H*D + col.
//   1 lengths int[]   (B): real tokens of sequence b are 0..lengths[b]-1
//   2 ctx     float[] (B*L, H*D): element (row, col) at ctx_off + row*H*D + col
// Push constants: L, H, qkv_off, ctx_off, scale (1/sqrt(D)), b0 (first sequence in lengths).
//
// Invocation (x = query row t, y = head h, z = sequence b) computes softmax_j(q·k_j*scale)·v_j
// over the real keys j < len with the online softmax, rescaling once per KT keys. The
// invocations of one workgroup share (b, h), so their K/V loads hit the same texels.
// Nothing of size (L, L) is stored. len == 0 gives 0.
//
// Loops over D are [[unroll]]ed: lavapipe ends an invocation after 65535 loop iterations in
// total; what remains iterates about 2L times.
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint D = 64;
layout(constant_id = 1) const uint KT = 8;
layout(constant_id = 2) const bool VEC4 = true;
layout(local_size_x_id = 3) in;

layout(binding = 0) uniform samplerBuffer qkv;
layout(std430, binding = 1) readonly buffer Len { int lengths[]; };
layout(std430, binding = 2) writeonly buffer Ctx { float ctx[]; };

layout(push_constant) uniform Push {
    uint L, H, qkv_off, ctx_off;
    float scale;
    uint b0;
} p;

// D/4 texels from element index e (a multiple of 4 when VEC4), or D scalar texels.
void load_row(int e, out float v[D])
{
    if (VEC4) {
        [[unroll]] for (uint c = 0; c < D / 4; c++) {
            vec4 t = texelFetch(qkv, e / 4 + int(c));
            v[4 * c] = t.x;
            v[4 * c + 1] = t.y;
            v[4 * c + 2] = t.z;
            v[4 * c + 3] = t.w;
        }
    } else {
        [[unroll]] for (uint c = 0; c < D; c++)
            v[c] = texelFetch(qkv, e + int(c)).x;
    }
}

void main()
{
    uint t = gl_GlobalInvocationID.x, h = gl_GlobalInvocationID.y, b = gl_GlobalInvocationID.z;
    if (t >= p.L)
        return;
    uint len = uint(clamp(lengths[p.b0 + b], 0, int(p.L)));
    int stride = int(3u * p.H * D);
    int base = int(p.qkv_off + b * p.L * uint(stride) + h * D);

    float q[D], acc[D];
    load_row(base + int(t) * stride, q);
    [[unroll]] for (uint c = 0; c < D; c++) {
        q[c] *= p.scale;
        acc[c] = 0.0;
    }
    float run_max = -1.0 / 0.0, run_sum = 0.0;

    for (uint j0 = 0; j0 < len; j0 += KT) {
        uint nk = min(KT, len - j0);
        float s[KT];
        float tile_max = -1.0 / 0.0;
        for (uint jj = 0; jj < nk; jj++) {
            float k[D];
            load_row(base + int(j0 + jj) * stride + int(p.H * D), k);
            float dotv = 0.0;
            [[unroll]] for (uint c = 0; c < D; c++)
                dotv = fma(q[c], k[c], dotv);
            s[jj] = dotv;
            tile_max = max(tile_max, dotv);
        }
        float new_max = max(run_max, tile_max);
        float corr = exp(run_max - new_max);
        run_sum *= corr;
        [[unroll]] for (uint c = 0; c < D; c++)
            acc[c] *= corr;
        for (uint jj = 0; jj < nk; jj++) {
            float e = exp(s[jj] - new_max);
            run_sum += e;
            float v[D];
            load_row(base + int(j0 + jj) * stride + int(2u * p.H * D), v);
            [[unroll]] for (uint c = 0; c < D; c++)
                acc[c] = fma(e, v[c], acc[c]);
        }
        run_max = new_max;
    }

    float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
    uint orow = p.ctx_off + (b * p.L + t) * p.H * D + h * D;
    [[unroll]] for (uint c = 0; c < D; c++)
        ctx[orow + c] = acc[c] * inv;
}

#version 450
// attention_rel_texel.comp — DeBERTa's disentangled self-attention from the packed QKV
// projection and the projected relative-position table, the variant for CPU-type devices
// (lavapipe): operands through texel buffers, no shared memory, the structure of
// attention_texel.comp. (Real GPUs use attention_rel.comp.)
//
// Bindings:
//   0 qkv     samplerBuffer (B*L, 3*H*D): row b*L+t = [Q | K | V], head h at columns
//             h*D..h*D+D-1 of each third. VEC4 = true: RGBA32F view, element (row, col) in
//             texel (qkv_off + row*3*H*D + col)/4; VEC4 = false: R32F view, one per texel
//   1 lengths isamplerBuffer R32I (B): real tokens of sequence b are 0..lengths[b]-1
//   2 pos     samplerBuffer (P, ld), same format as qkv: row r = relative row r through the
//             position projections; position key of head h at column pk_col + h*D,
//             position query at pq_col + h*D (with VEC4, ld, pk_col, pq_col are multiples
//             of 4). Bound to a dummy when both terms are off.
//   3 rel     isamplerBuffer R32I (2L-1): rel[i - j + L-1] = the row of pos for query i, key j
//   4 ctx4    imageBuffer rgba32f (B*L, H*D), written when VEC4 (texel (ctx_off+row*H*D+col)/4)
//   5 ctx1    imageBuffer r32f, the same one element per texel when not VEC4 (the unused one
//             of 4 and 5 is bound to a dummy)
// Specialisation constants: D, KT, VEC4, local size (a multiple of SG), SG, C2P, P2C.
// Push constants: L, H, qkv_off, ctx_off, scale, b0, P, ld, pk_col, pq_col.
//
// Invocation (x = query row t, y = head h, z = sequence b) computes
//   softmax_j<len((q_t·k_j + q_t·Pk[r] + k_j·Pq[r]) * scale) · v_j,  r = rel[t - j + L-1]
// with the online softmax over tiles of KT keys. As in attention_texel, the lanes of a
// subgroup are queries of one (b, h) and share each K/V row through subgroupShuffle; the
// position rows differ per lane (r depends on t - j), so each lane fetches its own. Keys
// past len are clamped and masked rather than branched around, and loops over D and KT are
// [[unroll]]ed (lavapipe's 65535-iteration budget per invocation).
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 0) const uint D = 64;
layout(constant_id = 1) const uint KT = 8;
layout(constant_id = 2) const bool VEC4 = true;
layout(local_size_x_id = 3) in;
layout(constant_id = 4) const uint SG = 8;
layout(constant_id = 5) const bool C2P = true;
layout(constant_id = 6) const bool P2C = true;

layout(binding = 0) uniform samplerBuffer qkv;
layout(binding = 1) uniform isamplerBuffer lengths;
layout(binding = 2) uniform samplerBuffer pos;
layout(binding = 3) uniform isamplerBuffer rel;
layout(binding = 4, rgba32f) uniform writeonly imageBuffer ctx4;
layout(binding = 5, r32f) uniform writeonly imageBuffer ctx1;

layout(push_constant) uniform Push {
    uint L, H, qkv_off, ctx_off;
    float scale;
    uint b0, P, ld, pk_col, pq_col;
} p;

const uint STEP = VEC4 ? 4u : 1u;     // floats per chunk
const uint NC = D / STEP;             // chunks per row
const uint PER = (NC + SG - 1u) / SG; // chunks fetched per lane

void unpack(vec4 x, uint c, inout float v[D])
{
    v[STEP * c] = x.x;
    if (VEC4) {
        v[STEP * c + 1] = x.y;
        v[STEP * c + 2] = x.z;
        v[STEP * c + 3] = x.w;
    }
}

// This lane's own row of D floats of qkv starting at element e.
void load_own_row(int e, out float v[D])
{
    [[unroll]] for (uint c = 0; c < NC; c++)
        unpack(VEC4 ? texelFetch(qkv, e / 4 + int(c)) : texelFetch(qkv, e + int(c)), c, v);
}

// a · (the D floats of pos starting at element e), e this lane's own.
float dot_pos(int e, float a[D])
{
    float s = 0.0;
    [[unroll]] for (uint c = 0; c < NC; c++) {
        vec4 x = VEC4 ? texelFetch(pos, e / 4 + int(c)) : texelFetch(pos, e + int(c));
        s = fma(a[STEP * c], x.x, s);
        if (VEC4) {
            s = fma(a[STEP * c + 1], x.y, s);
            s = fma(a[STEP * c + 2], x.z, s);
            s = fma(a[STEP * c + 3], x.w, s);
        }
    }
    return s;
}

// The D floats of qkv starting at element e, the same e in every lane, fetched cooperatively.
void load_row(int e, out float v[D])
{
    vec4 mine[PER];
    uint lane = gl_SubgroupInvocationID;
    [[unroll]] for (uint i = 0; i < PER; i++) {
        int chunk = int(min(i * SG + lane, NC - 1u));
        mine[i] = VEC4 ? texelFetch(qkv, e / 4 + chunk) : texelFetch(qkv, e + chunk);
    }
    [[unroll]] for (uint c = 0; c < NC; c++)
        unpack(subgroupShuffle(mine[c / SG], c % SG), c, v);
}

void main()
{
    uint t = gl_GlobalInvocationID.x, h = gl_GlobalInvocationID.y, b = gl_GlobalInvocationID.z;
    uint tq = min(t, p.L - 1u);
    uint len = uint(clamp(texelFetch(lengths, int(p.b0 + b)).x, 0, int(p.L)));
    int stride = int(3u * p.H * D);
    int base = int(p.qkv_off + b * p.L * uint(stride) + h * D);

    // Every lane stays active until the end: the shuffles need the whole subgroup.
    float q[D], acc[D];
    load_own_row(base + int(tq) * stride, q);
    [[unroll]] for (uint c = 0; c < D; c++)
        acc[c] = 0.0;
    const float NEG = -3.0e38;
    float run_max = NEG, run_sum = 0.0;
    uint last = max(len, 1u) - 1u;

    for (uint j0 = 0; j0 < len; j0 += KT) {
        float s[KT];
        float tile_max = NEG;
        [[unroll]] for (uint jj = 0; jj < KT; jj++) {
            uint j = min(j0 + jj, last);
            float k[D];
            load_row(base + int(j) * stride + int(p.H * D), k);
            float dotv = 0.0;
            [[unroll]] for (uint c = 0; c < D; c++)
                dotv = fma(q[c], k[c], dotv);
            int r = clamp(texelFetch(rel, int(tq + p.L - 1u - j)).x, 0, int(p.P) - 1);
            int prow = r * int(p.ld) + int(h * D);
            if (C2P)
                dotv += dot_pos(prow + int(p.pk_col), q);
            if (P2C)
                dotv += dot_pos(prow + int(p.pq_col), k);
            s[jj] = j0 + jj < len ? dotv * p.scale : NEG;
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

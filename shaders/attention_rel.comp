#version 450
// attention_rel.comp — DeBERTa's disentangled self-attention from the packed QKV projection
// and the projected relative-position table, the variant for real GPUs: K and V tiles are
// staged in shared memory as in attention.comp. (CPU-type devices use attention_rel_texel.)
//
// Bindings (storage buffers):
//   0 qkv     float[] (B*L, 3*H*D): row b*L+t = [Q | K | V], head h at columns h*D..h*D+D-1
//             of each third; element (row, col) at qkv_off + row*3*H*D + col
//   1 lengths int[]   (B): real tokens of sequence b are 0..lengths[b]-1
//   2 pos     float[] (P, ld): row r = relative row r through the position projections;
//             position key of head h at pk_col + h*D, position query at pq_col + h*D
//   3 rel     int[]   (2L-1): rel[i - j + L-1] = the row of pos for query i, key j
//   4 ctx     float[] (B*L, H*D): element (row, col) at ctx_off + row*H*D + col
// Specialisation constants: D, QB (queries per workgroup = local size), KT (keys per tile),
// C2P, P2C (which position terms are on; an off term is not compiled in).
// Push constants: L, H, qkv_off, ctx_off, scale (float bits), b0 (first sequence of this
// dispatch in lengths), P (rows of pos, the index is clamped to them), ld, pk_col, pq_col.
//
// Workgroup (x, y = head h, z = sequence b) owns QB queries; invocation t computes
//   softmax_j<len((q_t·k_j + q_t·Pk[r] + k_j·Pq[r]) * scale) · v_j,  r = rel[t - j + L-1]
// with the online softmax over tiles of KT keys. The position rows differ per (t, j) and
// are read from pos directly (they are few: P ~ 2L rows, cached). Nothing of size (L, L)
// is stored. len == 0 gives 0. Loops over D are [[unroll]]ed (lavapipe's loop budget).
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint D = 64;
layout(constant_id = 1) const uint QB = 64;
layout(constant_id = 2) const uint KT = 32;
layout(constant_id = 3) const bool C2P = true;
layout(constant_id = 4) const bool P2C = true;
layout(local_size_x_id = 1) in;

layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) readonly buffer Len { int lengths[]; };
layout(std430, binding = 2) readonly buffer Pos { float pos[]; };
layout(std430, binding = 3) readonly buffer Rel { int rel[]; };
layout(std430, binding = 4) writeonly buffer Ctx { float ctx[]; };

layout(push_constant) uniform Push {
    uint L, H, qkv_off, ctx_off;
    float scale;
    uint b0, P, ld, pk_col, pq_col;
} p;

shared float Ks[KT * D];
shared float Vs[KT * D];

void main()
{
    uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    uint t = gl_WorkGroupID.x * QB + gl_LocalInvocationID.x;
    uint tq = min(t, p.L - 1u);
    uint len = uint(clamp(lengths[p.b0 + b], 0, int(p.L)));
    uint stride = 3u * p.H * D;
    uint base = p.qkv_off + b * p.L * stride + h * D;

    float q[D], acc[D];
    uint qrow = base + tq * stride;
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
            int r = clamp(rel[tq - (j0 + jj) + p.L - 1u], 0, int(p.P) - 1);
            uint prow = uint(r) * p.ld + h * D;
            float dotv = 0.0;
            [[unroll]] for (uint c = 0; c < D; c++) {
                dotv = fma(q[c], Ks[jj * D + c], dotv);
                if (C2P)
                    dotv = fma(q[c], pos[prow + p.pk_col + c], dotv);
                if (P2C)
                    dotv = fma(Ks[jj * D + c], pos[prow + p.pq_col + c], dotv);
            }
            s[jj] = dotv * p.scale;
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

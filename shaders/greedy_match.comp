#version 450
// greedy_match.comp — BERTScore precision/recall/F1 per (candidate, reference) pair, on the
// device: the token similarity matrix is never stored, only P, R, F leave the shader.
// One file, two pipelines (MODE): 0 computes every row's inverse L2 norm, 1 matches.
//
// Bindings (storage buffers):
//   0 T     float[] (rows, C): token vectors, T[i,c] = tv[i*C + c]
//   1 w     float[] (rows): token weights (0 for special tokens)
//   2 pairs int[]   (P, 4): [cand_row, cand_len, ref_row, ref_len]
//   3 norms float[] (rows): 1/||T[i]|| (0 for a zero row); MODE 0 writes, MODE 1 reads
//   4 prf   float[] (P, 3): [precision, recall, f1]
// Push constants: rows, C, P.
//
// MODE 0: invocation i computes norms[i].
// MODE 1: workgroup q handles pair q. Precision: each invocation takes strided candidate
// rows i, finds max_j cos(c_i, r_j) over all reference rows (cos = dot · norms_i · norms_j),
// and adds w_i · max and w_i; the sums are reduced in shared memory; P = Σ w·max / Σ w, 0 when
// Σ w = 0 (and max = 0 when the other side is empty). Recall the same with roles swapped.
// F = 2PR/(P+R), 0 when not finite. A pair outside 0..rows gives 0, 0, 0.
layout(constant_id = 0) const uint WG = 64; // power of two
layout(constant_id = 1) const uint MODE = 1;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer TBuf { float tv[]; };
layout(std430, binding = 1) readonly buffer WBuf { float w[]; };
layout(std430, binding = 2) readonly buffer Pairs { int pairs[]; };
layout(std430, binding = 3) buffer Norms { float norms[]; };
layout(std430, binding = 4) writeonly buffer PRF { float prf[]; };

layout(push_constant) uniform Push {
    uint rows, C, P;
} p;

shared float part_num[WG];
shared float part_den[WG];

float dot_rows(uint a, uint b)
{
    float s = 0.0;
    for (uint c = 0; c < p.C; c++)
        s = fma(tv[a * p.C + c], tv[b * p.C + c], s);
    return s;
}

// Σ w_a·max_b cos / Σ w_a over rows a0..a0+na-1 against b0..b0+nb-1 (whole workgroup).
float side(uint a0, uint na, uint b0, uint nb)
{
    uint lid = gl_LocalInvocationID.x;
    float num = 0.0, den = 0.0;
    for (uint i = a0 + lid; i < a0 + na; i += WG) {
        float best = nb == 0u ? 0.0 : -3.402823466e38;
        for (uint j = b0; j < b0 + nb; j++)
            best = max(best, dot_rows(i, j) * norms[i] * norms[j]);
        num = fma(w[i], best, num);
        den += w[i];
    }
    part_num[lid] = num;
    part_den[lid] = den;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) {
            part_num[lid] += part_num[lid + s];
            part_den[lid] += part_den[lid + s];
        }
        barrier();
    }
    float result = part_den[0] > 0.0 ? part_num[0] / part_den[0] : 0.0;
    barrier();
    return result;
}

void main()
{
    if (MODE == 0u) {
        uint i = gl_GlobalInvocationID.x;
        if (i < p.rows) {
            float n = sqrt(dot_rows(i, i));
            norms[i] = n > 0.0 ? 1.0 / n : 0.0;
        }
        return;
    }
    uint q = gl_WorkGroupID.x;
    int c0 = pairs[4 * q], cn = pairs[4 * q + 1], r0 = pairs[4 * q + 2], rn = pairs[4 * q + 3];
    int rows = int(p.rows);
    if (c0 < 0 || cn < 0 || r0 < 0 || rn < 0 || c0 > rows - cn || r0 > rows - rn) {
        if (gl_LocalInvocationID.x == 0u) {
            prf[3 * q] = 0.0;
            prf[3 * q + 1] = 0.0;
            prf[3 * q + 2] = 0.0;
        }
        return;
    }
    float P = side(uint(c0), uint(cn), uint(r0), uint(rn));
    float R = side(uint(r0), uint(rn), uint(c0), uint(cn));
    if (gl_LocalInvocationID.x == 0u) {
        prf[3 * q] = P;
        prf[3 * q + 1] = R;
        prf[3 * q + 2] = P + R != 0.0 ? 2.0 * P * R / (P + R) : 0.0;
    }
}

#version 450
// greedy_match.comp — BERTScore precision/recall/F1 per (candidate, reference) pair, on the
// device: the token similarity matrix is never stored, only P, R, F leave the shader.
// One file, six pipelines (MODE): 0 row norms, 1 one side of a pair, 2 F1, and for long
// pairs 3 clear the row maxima, 4 row maxima over a chunk of the other side, 5 one side of a
// pair from the row maxima.
//
// Bindings (storage buffers):
//   0 T     float[] (rows, C): token vectors, T[i,c] = tv[i*C + c]
//   1 w     float[] (rows): token weights (0 for special tokens)
//   2 pairs int[]   (P, 4): [cand_row, cand_len, ref_row, ref_len]
//   3 norms float[] (rows): 1/||T[i]|| (0 for a zero row); MODE 0 writes, MODE 1 reads
//   4 prf   float[] (P, 3): [precision, recall, f1]; MODE 1 and 5 write P or R, MODE 2 reads
//           them and writes F
//   5 best  uint[]  (Q, 2, ML): MODE 3-5's row maxima of pairs q0 .. q0+Q-1, element
//           ((q - q0)*2 + side)*ML + i for row i of that side, as order-preserving keys of the
//           floats (fkey below) so atomicMax takes the max; 0 = none yet (any other binding
//           when MODE < 3)
// Push constants: rows, C, P, ML (the longest side of any pair: the host's bound; a longer
// side is still scored right, by MODE 5 itself), JC (keys per MODE 4 chunk), and MODE 3-5's
// pairs q0 .. q0+nq-1 (Q = nq).
//
// MODE 0: invocation i computes norms[i].
// MODE 1: workgroup (q, side) computes side 0 = precision or 1 = recall of pair q. Each
// invocation takes strided rows i of its side (candidate rows for precision), finds
// max_j cos(t_i, t_j) over all rows of the other side (cos = dot · norms_i · norms_j), and
// adds w_i · max and w_i; the sums are reduced in shared memory: Σ w·max / Σ w, 0 when Σ w = 0
// (max = 0 when the other side is empty). A pair outside 0..rows gives 0.
// MODE 2: invocation q: F = 2PR/(P+R), 0 when P + R = 0.
// MODE 3: invocation k clears best[k] (k < Q*2*ML, Q = the dispatch's pairs).
// MODE 4: workgroup (x, y = (q - q0)*2 + side, z) takes rows i = x*WG + lid (strided by the
// grid) of its side and keys j in chunk z of JC keys (strided by the grid) of the other, and
// atomicMax-es max_j cos(t_i, t_j) into best: one invocation walks JC keys, never a whole
// side, so no invocation passes lavapipe's loop budget however long the pair is, and a GPU
// gets Q*2*x*z workgroups instead of 2 per pair.
// MODE 5: as MODE 1, with each row's max read from best (rows past ML computed in place).
// Every max is over the same products as MODE 1's, so both give the same numbers.
//
// The dot products run in blocks of DOT_BLOCK [[unroll]]ed products: lavapipe ends an
// invocation after 65535 loop iterations, and a 512 x 512-token pair at C = 1024 with
// WG = 512 and blocks of 16 stays near 33k per invocation. Narrower workgroups (devices
// allowing fewer invocations) give each invocation more rows, so the host widens the block
// in proportion (16 * 512 / WG) to keep the count.
#extension GL_EXT_control_flow_attributes : require
layout(constant_id = 0) const uint WG = 512; // power of two
layout(constant_id = 1) const uint MODE = 1;
layout(constant_id = 2) const uint DOT_BLOCK = 16;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer TBuf { float tv[]; };
layout(std430, binding = 1) readonly buffer WBuf { float w[]; };
layout(std430, binding = 2) readonly buffer Pairs { int pairs[]; };
layout(std430, binding = 3) buffer Norms { float norms[]; };
layout(std430, binding = 4) buffer PRF { float prf[]; };
layout(std430, binding = 5) buffer Best { uint best_key[]; };

layout(push_constant) uniform Push {
    uint rows, C, P, ML, JC, q0, nq;
} p;

// Floats as uints in the same order (negative floats flipped whole, the rest with the sign
// bit set), so an integer atomicMax is a float max; fkey(x) > 0 for every float.
uint fkey(float f)
{
    uint u = floatBitsToUint(f);
    return (u & 0x80000000u) != 0u ? ~u : u | 0x80000000u;
}
float fvalue(uint k) { return uintBitsToFloat((k & 0x80000000u) != 0u ? k & 0x7fffffffu : ~k); }

shared float part_num[WG];
shared float part_den[WG];

float dot_rows(uint a, uint b)
{
    uint ia = a * p.C, ib = b * p.C;
    float s = 0.0;
    uint c = 0;
    for (; c + DOT_BLOCK <= p.C; c += DOT_BLOCK)
        [[unroll]] for (uint u = 0; u < DOT_BLOCK; u++)
            s = fma(tv[ia + c + u], tv[ib + c + u], s);
    [[unroll]] for (uint u = 0; u < DOT_BLOCK - 1u; u++)
        if (c + u < p.C)
            s = fma(tv[ia + c + u], tv[ib + c + u], s);
    return s;
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
    if (MODE == 2u) {
        uint q = gl_GlobalInvocationID.x;
        if (q < p.P) {
            float P = prf[3 * q], R = prf[3 * q + 1];
            prf[3 * q + 2] = P + R != 0.0 ? 2.0 * P * R / (P + R) : 0.0;
        }
        return;
    }
    if (MODE == 3u) {
        uint k = gl_GlobalInvocationID.x;
        if (k < p.nq * 2u * p.ML)
            best_key[k] = 0u;
        return;
    }
    uint lid = gl_LocalInvocationID.x;
    uint q = MODE == 4u ? p.q0 + gl_WorkGroupID.y / 2u : gl_WorkGroupID.x + (MODE == 5u ? p.q0 : 0u);
    uint side = MODE == 4u ? gl_WorkGroupID.y % 2u : gl_WorkGroupID.y;
    if (q >= p.P || (MODE >= 4u && q >= p.q0 + p.nq))
        return;
    int c0 = pairs[4 * q], cn = pairs[4 * q + 1], r0 = pairs[4 * q + 2], rn = pairs[4 * q + 3];
    int rows = int(p.rows);
    bool valid = c0 >= 0 && cn >= 0 && r0 >= 0 && rn >= 0 && c0 <= rows - cn && r0 <= rows - rn;
    uint a0 = uint(side == 0u ? c0 : r0), na = valid ? uint(side == 0u ? cn : rn) : 0u;
    uint b0 = uint(side == 0u ? r0 : c0), nb = valid ? uint(side == 0u ? rn : cn) : 0u;

    uint slot = ((q - p.q0) * 2u + side) * p.ML;
    if (MODE == 4u) {
        uint step = gl_NumWorkGroups.x * WG, jstep = gl_NumWorkGroups.z * p.JC;
        for (uint il = gl_WorkGroupID.x * WG + lid; il < min(na, p.ML); il += step) {
            uint i = a0 + il;
            float best = -3.402823466e38;
            for (uint j0 = gl_WorkGroupID.z * p.JC; j0 < nb; j0 += jstep)
                for (uint j = b0 + j0; j < b0 + min(j0 + p.JC, nb); j++)
                    best = max(best, dot_rows(i, j) * norms[i] * norms[j]);
            if (nb > gl_WorkGroupID.z * p.JC)
                atomicMax(best_key[slot + il], fkey(best));
        }
        return;
    }
    float num = 0.0, den = 0.0;
    for (uint i = a0 + lid; i < a0 + na; i += WG) {
        float best = nb == 0u ? 0.0 : -3.402823466e38;
        if (MODE == 5u && nb > 0u && i - a0 < p.ML)
            best = fvalue(best_key[slot + i - a0]);
        else
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
    if (lid == 0u)
        prf[3 * q + side] = part_den[0] > 0.0 ? part_num[0] / part_den[0] : 0.0;
}

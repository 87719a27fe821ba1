// position_bias.glsl — the bucket rule of vkb_attn_desc's VKB_ATTN_BIAS_T5 (HF's
// bidirectional relative_position_bucket, T5 and MPNet), shared by attention.comp and
// attention_texel.comp. rel = key index - query index. With n = nbuckets/2, e = n/2, a = |rel|:
// (n if rel > 0) + (a if a < e, else min(n - 1, e + floor(ln(a/e) / ln(maxdist/e) * (n - e)))).
// The log term is evaluated in float32 and nudged by 1e-3 before the floor: its exact value is
// an integer at a = e * (maxdist/e)^(k/(n-e)) (a = 16, 32, 64 for MPNet), where float32 may
// land just below; elsewhere (MPNet, a < 1024) the fraction stays >= 0.01 away from an integer,
// so the nudge never moves a bucket. The CPU twin (runtime/core/backend.c) uses exact math.
uint t5_bucket(int rel, uint nbuckets, uint maxdist)
{
    uint n = nbuckets / 2u, e = n / 2u;
    uint a = uint(abs(rel));
    float x = log(float(max(a, e)) / float(e)) / log(float(maxdist) / float(e)) * float(n - e);
    uint large = min(e + uint(x + 1e-3), n - 1u);
    return (rel > 0 ? n : 0u) + (a < e ? a : large);
}

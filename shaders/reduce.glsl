// reduce.glsl — workgroup_sum: the sum of one float from every invocation of a workgroup of
// WG invocations (WG a power of two: the includer's spec constant, declared before this
// file), as a tree through shared memory. Every invocation must call it (it has barriers);
// it may be called again right away (it ends with a barrier before partial[] is reused).
#ifndef VKB_REDUCE_GLSL
#define VKB_REDUCE_GLSL

shared float partial[WG];

float workgroup_sum(float v)
{
    uint lid = gl_LocalInvocationID.x;
    partial[lid] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s)
            partial[lid] += partial[lid + s];
        barrier();
    }
    float total = partial[0];
    barrier(); // partial[] is reused by the next call
    return total;
}
#endif

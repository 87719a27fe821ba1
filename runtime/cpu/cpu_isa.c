/*
 * cpu_isa.c — which kernel table the CPU backend runs: the best the CPU supports (AVX-512,
 * else AVX2+FMA, else plain C), chosen once per process at the first use.
 *
 * VKB_CPU_ISA=avx512|avx2|generic|openblas forces one, so CI proves every path on one
 * machine; asking for an ISA the CPU lacks gives the best it has and a warning. openblas is
 * the path before our kernels (OpenBLAS sgemm for every product, scalar epilogues), kept to
 * measure against.
 */
#include "cpu_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const cpu_kernels cpu_kernels_openblas = {
    .isa = CPU_ISA_OPENBLAS,
    .name = "openblas",
};

static int cpu_runs(cpu_isa isa)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (isa == CPU_ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (isa == CPU_ISA_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    if (isa == CPU_ISA_AVX512 || isa == CPU_ISA_AVX2)
        return 0;
#endif
    return 1;
}

const cpu_kernels *cpu_kernels_for(cpu_isa isa)
{
    if (!cpu_runs(isa))
        return NULL;
    switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case CPU_ISA_AVX512:
        return &cpu_kernels_avx512;
    case CPU_ISA_AVX2:
        return &cpu_kernels_avx2;
#endif
    case CPU_ISA_GENERIC:
        return &cpu_kernels_generic;
    default:
        return &cpu_kernels_openblas;
    }
}

static const cpu_kernels *g_kernels;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void pick(void)
{
    const cpu_kernels *best = cpu_kernels_for(CPU_ISA_AVX512);
    if (!best)
        best = cpu_kernels_for(CPU_ISA_AVX2);
    if (!best)
        best = &cpu_kernels_generic;
    g_kernels = best;
    const char *env = getenv("VKB_CPU_ISA");
    if (!env || !*env)
        return;
    static const struct { const char *name; cpu_isa isa; } names[] = {
        {"avx512", CPU_ISA_AVX512}, {"avx2", CPU_ISA_AVX2},
        {"generic", CPU_ISA_GENERIC}, {"openblas", CPU_ISA_OPENBLAS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(env, names[i].name)) {
            const cpu_kernels *k = cpu_kernels_for(names[i].isa);
            if (k)
                g_kernels = k;
            else
                vkb_log(VKB_LOG_WARN, "VKB_CPU_ISA=%s: this CPU cannot run it; using %s", env,
                        best->name);
            return;
        }
    vkb_log(VKB_LOG_WARN, "VKB_CPU_ISA=%s unknown (avx512, avx2, generic, openblas); using %s",
            env, best->name);
}

const cpu_kernels *cpu_kernels_get(void)
{
    pthread_once(&g_once, pick);
    return g_kernels;
}

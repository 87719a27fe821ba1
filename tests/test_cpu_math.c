/*
 * test_cpu_math.c — the CPU kernel tables' vectorised exp and GELU (cpu_math.h's algorithms
 * on 8 or 16 lanes) against double precision, for every table this CPU runs, on a dense grid
 * and random points, and every tail length of a vector. The bounds are the ones stated in
 * cpu_math.h:
 *   exp:      relative error <= 2e-7 on [-87, 88]
 *   GELU erf: |err| <= 2e-7 max(1, |x|) on [-12, 12]
 *   GELU tanh: |err| <= 2e-7 max(1, |x|) (libm's tanhf formula, the reference)
 */
#include "cpu_internal.h"
#include "cpu_math.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4099 /* not a multiple of 8 or 16: the last vector is a tail */

static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double gelu_tanh(double x)
{
    return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

static void check_table(const cpu_kernels *k)
{
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    /* exp through exp_sub_sum: y = exp(x - 0), and the sum */
    double worst = 0, sum = 0;
    for (int i = 0; i < N; i++)
        x[i] = y[i] = -87.0f + 175.0f * (float)i / (N - 1);
    k->exp_sub_sum(y, N, 0.0f);
    for (int i = 0; i < N; i++) {
        double ref = exp((double)x[i]), e = fabs(y[i] - ref) / ref;
        worst = e > worst ? e : worst;
    }
    CHECK(worst <= 2e-7, "%s exp on [-87, 88]: rel err %g", k->name, worst);
    printf("%s exp: max rel err %.3g\n", k->name, worst);
    for (int i = 0; i < N; i++)
        y[i] = x[i] = tl_randf(-20, 0);
    float got = k->exp_sub_sum(y, N, -1.0f);
    for (int i = 0; i < N; i++)
        sum += exp((double)x[i] + 1);
    CHECK(fabs(got - sum) <= 1e-5 * sum, "%s exp_sub_sum sum %g vs %g", k->name, got, sum);
    for (int n = 1; n <= 33; n++) { /* every tail: lanes past n untouched, not summed */
        for (int i = 0; i < 40; i++)
            y[i] = 0.5f;
        got = k->exp_sub_sum(y, n, 0.5f);
        CHECK(fabsf(got - (float)n) <= 1e-5f * n && y[n] == 0.5f && fabsf(y[n - 1] - 1) < 1e-6f,
              "%s exp_sub_sum tail n=%d: sum %g", k->name, n, got);
    }
    /* GELU through the epilogue, no bias or residual */
    for (int a = VKB_ACT_GELU_ERF; a <= VKB_ACT_GELU_TANH; a++) {
        worst = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < N; i++)
                x[i] = pass ? tl_randf(-12, 12) : -12.0f + 24.0f * (float)i / (N - 1);
            for (int i = 0; i < N; i += k->nr) {
                int n = N - i < k->nr ? N - i : k->nr;
                k->epilogue(y + i, x + i, NULL, NULL, n, (vkb_act)a);
            }
            for (int i = 0; i < N; i++) {
                double ref = a == VKB_ACT_GELU_ERF ? gelu_erf(x[i]) : gelu_tanh(x[i]);
                double e = fabs(y[i] - ref) / fmax(1.0, fabs((double)x[i]));
                worst = e > worst ? e : worst;
            }
        }
        CHECK(worst <= 2e-7, "%s GELU %s: err %g", k->name, a == VKB_ACT_GELU_ERF ? "erf" : "tanh",
              worst);
        printf("%s GELU %s: max err / max(1,|x|) %.3g\n", k->name,
               a == VKB_ACT_GELU_ERF ? "erf" : "tanh", worst);
    }
    /* The scalar reference of the vector algorithms agrees too. */
    worst = 0;
    for (int i = 0; i < N; i++) {
        float v = -12.0f + 24.0f * (float)i / (N - 1);
        double e = fabs(cpu_gelu_erf_approx(v) - gelu_erf(v)) / fmax(1.0, fabs((double)v));
        worst = e > worst ? e : worst;
    }
    CHECK(worst <= 2e-7, "cpu_gelu_erf_approx: err %g", worst);
    /* Epilogue with bias and residual, at every width up to nr */
    for (int n = 1; n <= k->nr; n++) {
        float acc[CPU_MAX_NR], b[CPU_MAX_NR], r[CPU_MAX_NR], out[CPU_MAX_NR + 1];
        for (int i = 0; i < n; i++)
            acc[i] = tl_randf(-3, 3), b[i] = tl_randf(-1, 1), r[i] = tl_randf(-1, 1);
        out[n] = 123.0f;
        k->epilogue(out, acc, b, r, n, VKB_ACT_RELU);
        int ok = out[n] == 123.0f;
        for (int i = 0; i < n; i++)
            ok &= fabsf(out[i] - (fmaxf(acc[i] + b[i], 0) + r[i])) <= 1e-6f;
        CHECK(ok, "%s epilogue width %d", k->name, n);
    }
    free(x), free(y);
}

int main(void)
{
    tl_seed(7);
    cpu_isa isas[] = {CPU_ISA_GENERIC, CPU_ISA_AVX2, CPU_ISA_AVX512};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        const cpu_kernels *k = cpu_kernels_for(isas[i]);
        if (!k) {
            printf("SKIP: this CPU cannot run table %d\n", (int)isas[i]);
            continue;
        }
        check_table(k);
    }
    return tl_finish();
}

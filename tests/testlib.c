/* testlib.c — see testlib.h. */
#include "testlib.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int n_passed, n_failed;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

int tl_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        n_passed++;
        return 1;
    }
    n_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

const char *tl_testdata(const char *what)
{
    struct stat st;
    if (stat(VKB_TESTDATA, &st) == 0 && S_ISDIR(st.st_mode))
        return VKB_TESTDATA;
    printf("SKIP %s: no testdata at %s\n", what, VKB_TESTDATA);
    return NULL;
}

const char *tl_binary(void) { return VKB_BINARY; }

void tl_seed(uint64_t seed) { rng_state = seed ? seed : 0x9E3779B97F4A7C15ull; }

uint32_t tl_randu(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

float tl_randf(float lo, float hi)
{
    for (;;) {
        float u = (float)(tl_randu() & 0xFFFFFF) / 16777216.0f;
        float x = lo + (hi - lo) * u;
        if (x != 0.0f)
            return x;
    }
}

double tl_rel_err(const float *a, const float *b, size_t n)
{
    double maxdiff = 0, maxref = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= maxdiff)) /* NaN counts as infinitely wrong */
            maxdiff = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > maxref)
            maxref = fabs(b[i]);
    }
    return maxdiff / maxref;
}

int tl_failed(void) { return n_failed; }

const char **tl_fake_env;

char *tl_fake_getenv(const char *name)
{
    for (const char **p = tl_fake_env; p && *p; p += 2)
        if (!strcmp(p[0], name))
            return (char *)p[1];
    return NULL;
}

int tl_finish(void)
{
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}

/*
 * testlib.h — the little the C tests share: checks that count, the testdata location, a
 * random source, and the closing "N passed, N failed" line ctest output is read for.
 */
#ifndef VKB_TESTLIB_H
#define VKB_TESTLIB_H
#include <stddef.h>
#include <stdint.h>

/* Records one check; prints a FAIL line with the message when ok is 0. Returns ok. */
int tl_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) tl_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* ../shared/testdata if it exists, else NULL after printing "SKIP <what>: no testdata". */
const char *tl_testdata(const char *what);
/* Path of the built vkbridge binary. */
const char *tl_binary(void);
/* Deterministic xorshift random numbers; uniform in [lo, hi), never exactly 0 for lo<0<hi. */
void tl_seed(uint64_t seed);
float tl_randf(float lo, float hi);
uint32_t tl_randu(void);
/* max_i |a_i - b_i| / max(1, max_i |b_i|) */
double tl_rel_err(const float *a, const float *b, size_t n);
/* A fake environment for code that takes a getenv-like lookup: tl_fake_env holds
 * NULL-terminated name/value pairs (NULL: empty); tl_fake_getenv looks a name up in it. */
extern const char **tl_fake_env;
char *tl_fake_getenv(const char *name);
/* Prints "N passed, N failed" and returns the process exit code (0 iff none failed). */
int tl_finish(void);
int tl_failed(void);
#endif

/*
 * json_number.c — Unigram scores read from the raw tokenizer.json text exactly as Hugging Face
 * tokenizers reads them.
 *
 * tokenizers parses JSON with serde_json, whose default float reader is not correctly rounded:
 * it gathers the digits into one u64, converts that to the nearest double and scales it by one
 * power of ten (POW10[k], itself the nearest double to 10^k), rounding at each step. About a
 * quarter of real scores land one unit in the last place away from strtod's value (which is
 * what jansson gives), and Viterbi ties between segmentations of repeated characters are
 * decided by exactly those bits. So the scores are re-read from the file text with serde's
 * algorithm, written out here after serde_json's de.rs (parse_integer, parse_decimal,
 * parse_exponent, f64_from_parts).
 */
#include "tk_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 10^0 .. 10^308 as doubles; each entry is the literal serde_json's POW10 table holds
 * (the compiler rounds the decimal literal correctly, as rustc does). */
static double pow10_table[309];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

static void pow10_init(void)
{
    char lit[16]; /* "1e308"; room for any int, which -O1's format check asks for */
    for (int k = 0; k <= 308; k++) {
        snprintf(lit, sizeof(lit), "1e%d", k);
        pow10_table[k] = strtod(lit, NULL);
    }
}

/* serde's overflow!(a * 10 + b, max): the next digit would not fit. */
static int overflows(uint64_t a, unsigned b, uint64_t max)
{
    return a >= max / 10 && (a > max / 10 || b > max % 10);
}

/* f64_from_parts: significand * 10^exponent, one scaling step per table entry. */
static int from_parts(int positive, uint64_t significand, int32_t exponent, double *out)
{
    double f = (double)significand;
    for (;;) {
        int32_t a = exponent < 0 ? -exponent : exponent;
        if (exponent != INT32_MIN && a <= 308) {
            if (exponent >= 0) {
                f *= pow10_table[a];
                if (isinf(f))
                    return -1; /* NumberOutOfRange */
            } else {
                f /= pow10_table[a];
            }
            break;
        }
        if (f == 0.0)
            break;
        if (exponent >= 0)
            return -1;
        f /= 1e308;
        exponent += 308;
    }
    *out = positive ? f : -f;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_exponent(const char **pp, int positive, uint64_t significand, int32_t start,
                          double *out)
{
    const char *p = *pp + 1; /* past e/E */
    int positive_exp = 1;
    if (*p == '+' || *p == '-')
        positive_exp = *p++ == '+';
    if (!is_digit(*p))
        return -1;
    int32_t exp = *p++ - '0';
    while (is_digit(*p)) {
        unsigned d = (unsigned)(*p++ - '0');
        if (overflows((uint64_t)exp, d, INT32_MAX)) {
            /* parse_exponent_overflow: zero, or out of range */
            while (is_digit(*p))
                p++;
            *pp = p;
            if (significand == 0 || !positive_exp) {
                *out = positive ? 0.0 : -0.0;
                return 0;
            }
            return -1;
        }
        exp = exp * 10 + (int32_t)d;
    }
    *pp = p;
    int64_t final = positive_exp ? (int64_t)start + exp : (int64_t)start - exp;
    if (final > INT32_MAX)
        final = INT32_MAX; /* saturating, as serde */
    if (final < INT32_MIN)
        final = INT32_MIN;
    return from_parts(positive, significand, (int32_t)final, out);
}

/* After the integer part: a fraction and/or an exponent, or neither. */
static int parse_rest(const char **pp, int positive, uint64_t significand, int32_t exponent,
                      double *out)
{
    const char *p = *pp;
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return -1; /* at least one digit after the point */
        while (is_digit(*p)) {
            unsigned d = (unsigned)(*p - '0');
            if (overflows(significand, d, UINT64_MAX)) {
                while (is_digit(*p)) /* parse_decimal_overflow: further digits ignored */
                    p++;
                break;
            }
            significand = significand * 10 + d;
            exponent--;
            p++;
        }
    }
    *pp = p;
    if (*p == 'e' || *p == 'E')
        return parse_exponent(pp, positive, significand, exponent, out);
    return from_parts(positive, significand, exponent, out);
}

int tk_json_number_serde(const char *s, const char **end, double *out)
{
    pthread_once(&pow10_once, pow10_init);
    const char *p = s;
    int positive = 1;
    if (*p == '-') {
        positive = 0;
        p++;
    }
    if (!is_digit(*p))
        return -1;
    uint64_t significand = 0;
    int32_t exponent = 0;
    if (*p == '0') {
        p++;
        if (is_digit(*p))
            return -1; /* one leading zero only */
    } else {
        while (is_digit(*p)) {
            unsigned d = (unsigned)(*p - '0');
            if (overflows(significand, d, UINT64_MAX)) {
                /* parse_long_integer: the rest of the integer part only scales */
                while (is_digit(*p)) {
                    p++;
                    exponent++;
                }
                break;
            }
            significand = significand * 10 + d;
            p++;
        }
    }
    int rc = parse_rest(&p, positive, significand, exponent, out);
    *end = p;
    return rc;
}

/* ---- a skip-parser over the raw text, enough to find model.vocab ---- */

typedef struct scan {
    const char *p, *e;
} scan;

static void ws(scan *s)
{
    while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* At '"': moves past the closing quote; key/klen: the raw text between the quotes. */
static int string(scan *s, const char **key, size_t *klen)
{
    if (s->p >= s->e || *s->p != '"')
        return -1;
    const char *b = ++s->p;
    while (s->p < s->e && *s->p != '"') {
        if (*s->p == '\\')
            s->p++;
        s->p++;
    }
    if (s->p >= s->e)
        return -1;
    if (key) {
        *key = b;
        *klen = (size_t)(s->p - b);
    }
    s->p++;
    return 0;
}

/* Skips one value of any kind (the text was already validated by jansson). */
static int skip_value(scan *s)
{
    ws(s);
    if (s->p >= s->e)
        return -1;
    if (*s->p == '"')
        return string(s, NULL, NULL);
    if (*s->p != '{' && *s->p != '[') {
        while (s->p < s->e && !strchr(",]} \t\r\n", *s->p))
            s->p++;
        return 0;
    }
    int depth = 0;
    while (s->p < s->e) {
        char c = *s->p;
        if (c == '"') {
            if (string(s, NULL, NULL))
                return -1;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0) {
            s->p++;
            return 0;
        }
        s->p++;
    }
    return -1;
}

/* Calls found(ctx, s) with s at the value of every key named name in the object at s->p;
 * other values are skipped. found leaves s past the value. */
static int object_keys(scan *s, const char *name, int (*found)(void *, scan *), void *ctx)
{
    ws(s);
    if (s->p >= s->e || *s->p != '{')
        return -1;
    s->p++;
    size_t nlen = strlen(name);
    for (;;) {
        ws(s);
        if (s->p < s->e && *s->p == '}') {
            s->p++;
            return 0;
        }
        const char *key;
        size_t klen;
        if (string(s, &key, &klen))
            return -1;
        ws(s);
        if (s->p >= s->e || *s->p != ':')
            return -1;
        s->p++;
        ws(s);
        int rc = klen == nlen && !memcmp(key, name, nlen) ? found(ctx, s) : skip_value(s);
        if (rc)
            return -1;
        ws(s);
        if (s->p < s->e && *s->p == ',')
            s->p++;
    }
}

typedef struct scores_ctx {
    double *scores;
    size_t n;
    char *err;
    size_t errlen;
} scores_ctx;

/* model.vocab: [[piece, score], ...]; the scores in order. */
static int vocab_found(void *vctx, scan *s)
{
    scores_ctx *c = vctx;
    ws(s);
    if (s->p >= s->e || *s->p != '[')
        return -1;
    s->p++;
    size_t i = 0;
    for (;;) {
        ws(s);
        if (s->p < s->e && *s->p == ']') {
            s->p++;
            break;
        }
        if (s->p >= s->e || *s->p != '[' || i >= c->n)
            return -1;
        s->p++;
        ws(s);
        if (string(s, NULL, NULL))
            return -1;
        ws(s);
        if (s->p >= s->e || *s->p != ',')
            return -1;
        s->p++;
        ws(s);
        const char *end;
        if (tk_json_number_serde(s->p, &end, &c->scores[i])) {
            tk_errf(c->err, c->errlen, "Unigram vocab entry %zu: score is not a finite number", i);
            return -2;
        }
        s->p = end;
        i++;
        ws(s);
        if (s->p >= s->e || *s->p != ']')
            return -1;
        s->p++;
        ws(s);
        if (s->p < s->e && *s->p == ',')
            s->p++;
    }
    return i == c->n ? 0 : -1;
}

static int model_found(void *ctx, scan *s) { return object_keys(s, "vocab", vocab_found, ctx); }

int tk_unigram_raw_scores(const char *json, size_t len, double *scores, size_t n, char *err,
                          size_t errlen)
{
    scores_ctx c = {scores, n, err, errlen};
    if (err && errlen)
        err[0] = 0;
    scan s = {json, json + len};
    if (object_keys(&s, "model", model_found, &c)) {
        if (err && errlen && !err[0])
            tk_errf(err, errlen, "Unigram vocab: cannot re-read the scores from the file text");
        return -1;
    }
    return 0;
}

/*
 * svc_float.c — float32 to JSON text: the first of "%.6g" .. "%.9g" that strtof reads back
 * as the same float (svc_buf.h). svc_format_float_ref is that definition, written with
 * snprintf and strtof: up to four of each per float, 0.2-0.3 ms of a 384-float embedding
 * response, most of what `serve` added to one short text over the engine (docs/PERF.md).
 * svc_format_float computes the same characters with exact integer arithmetic for the
 * values responses hold (2^-60 <= |f| < 2^13) and calls the reference for the rest
 * (zero, subnormals, huge values), so both give one answer everywhere (test_service_buf
 * compares them byte for byte).
 *
 * The arithmetic: a normal float is m * 2^-s (m a 24-bit integer). For d significant digits
 * with the leading one at 10^t, scale by 10^p (p = d - 1 - t): f * 10^p = X / 2^s with
 * X = m * 10^p, an exact 128-bit integer in this range (m < 2^24, p <= 28, s <= 83). Its
 * integer part N0 has d digits when t is right; N is N0 rounded to nearest, ties to even,
 * as printf rounds. N * 10^-p reads back as f when it lies inside f's rounding interval:
 * |N * 2^s - X| < half an ulp scaled, 10^p / 2 (a quarter below a power of two, where the
 * lower neighbour is closer). An exact tie (dist == limit, which strtof would settle by
 * the mantissa's parity) cannot occur here: a float midpoint has s + 1 fractional bits,
 * so at least 0.7 s + 9 > 9 significant decimal digits, more than any N holds.
 */
#include "svc_buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

int svc_format_float_ref(char *out, float f)
{
    int n = 0;
    for (int digits = 6; digits <= 9; digits++) {
        n = snprintf(out, 32, "%.*g", digits, (double)f);
        if (strtof(out, NULL) == f)
            break;
    }
    return n;
}

static u128 pow10_u128(int p)
{
    u128 r = 1;
    for (int i = 0; i < p; i++)
        r *= 10;
    return r;
}

/* Writes N (exactly d digits) times 10^x's layout the way %.{d}g does: fixed notation
 * when -4 <= x < d, else d.ddde+XX; trailing zeros of the fraction and a bare '.' dropped. */
static int write_g(char *out, int negative, uint32_t N, int d, int x)
{
    char digits[10];
    for (int i = d - 1; i >= 0; i--) {
        digits[i] = (char)('0' + N % 10);
        N /= 10;
    }
    int nd = d; /* significant digits left once trailing zeros go */
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int n = 0;
    if (negative)
        out[n++] = '-';
    if (x >= -4 && x < d) {
        if (x < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -x - 1; i++)
                out[n++] = '0';
            memcpy(out + n, digits, (size_t)nd);
            n += nd;
        } else {
            memcpy(out + n, digits, (size_t)x + 1); /* the integer part: d > x digits */
            n += x + 1;
            if (nd > x + 1) {
                out[n++] = '.';
                memcpy(out + n, digits + x + 1, (size_t)(nd - x - 1));
                n += nd - x - 1;
            }
        }
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += snprintf(out + n, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    }
    out[n] = '\0';
    return n;
}

int svc_format_float(char *out, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    int biased = (int)((bits >> 23) & 0xff);
    int s = 150 - biased; /* |f| = m * 2^-s */
    /* |f| in [2^(23-s), 2^(24-s)): the fast range 2^-60 <= |f| < 2^13 is 11 <= s <= 83 */
    if (biased == 0 || s < 11 || s > 83)
        return svc_format_float_ref(out, f);
    uint32_t mant = bits & 0x7fffff;
    u128 m = mant | 0x800000u;
    int negative = (int)(bits >> 31);
    /* 10^t <= |f| < 10^(t+1); log10's guess is corrected below when it is one off */
    int t = (int)floor(log10(fabs((double)f)));
    u128 one = 1;
    for (int d = 6; d <= 9; d++) {
        u128 lo = pow10_u128(d - 1), hi = lo * 10;
        u128 X, N0, p10; /* p10 = 10^p, the scale */
        for (;;) {
            p10 = pow10_u128(d - 1 - t);
            X = m * p10;
            N0 = X >> s;
            if (N0 >= hi)
                t++;
            else if (N0 < lo)
                t--;
            else
                break;
        }
        u128 r = X - (N0 << s), half = one << (s - 1);
        u128 N = N0 + (r > half || (r == half && (N0 & 1)));
        /* the distance to f, scaled: |N * 2^(s+1) - 2X| against 10^p (ulp/2 scaled) */
        u128 a = N << (s + 1), b = X << 1;
        u128 dist = a > b ? a - b : b - a;
        if (a < b && mant == 0 && biased > 1) /* a power of two: the gap below is half */
            dist <<= 1;
        if (dist < p10) {
            int x = t;
            if (N == hi) { /* rounding carried into a new digit: 9.99..95 -> 10.0 */
                N = lo;
                x++;
            }
            return write_g(out, negative, (uint32_t)N, d, x);
        }
    }
    return svc_format_float_ref(out, f); /* 9 digits always read back; not reached */
}

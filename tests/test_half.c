/* test_half.c — f32 <-> f16 conversion: exact round trips, rounding to nearest even, specials. */
#include "testlib.h"
#include "vkb_runtime.h"

#include <math.h>
#include <string.h>

int main(void)
{
    /* Every finite half survives half -> float -> half exactly. */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF))
            continue; /* NaN payloads need not survive */
        if (vkb_f32_to_f16(vkb_f16_to_f32((uint16_t)h)) != h)
            bad++;
    }
    CHECK(bad == 0, "%d halves did not round-trip", bad);
    CHECK(vkb_f32_to_f16(1.0f) == 0x3C00, "1.0");
    CHECK(vkb_f32_to_f16(-2.0f) == 0xC000, "-2.0");
    CHECK(vkb_f32_to_f16(65504.0f) == 0x7BFF, "max half");
    CHECK(vkb_f32_to_f16(1e6f) == 0x7C00, "overflow to inf");
    CHECK(vkb_f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00, "tie rounds to even (down)");
    CHECK(vkb_f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02, "tie rounds to even (up)");
    CHECK(vkb_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(isnan(vkb_f16_to_f32(vkb_f32_to_f16(NAN))), "NaN stays NaN");
    return tl_finish();
}

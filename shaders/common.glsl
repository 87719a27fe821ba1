// common.glsl — helpers shared by every shader (activation functions, constants).
#ifndef VKB_COMMON_GLSL
#define VKB_COMMON_GLSL

const float VKB_SQRT1_2 = 0.70710678118654752440;
const float VKB_SQRT_2_OVER_PI = 0.79788456080286535588;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit), GLSL has no erf.
float vkb_erf(float x)
{
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}

float vkb_gelu_erf(float x) { return 0.5 * x * (1.0 + vkb_erf(x * VKB_SQRT1_2)); }

float vkb_gelu_tanh(float x)
{
    float u = VKB_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + tanh(u));
}

// act: 0 none, 1 gelu (erf), 2 gelu (tanh), 3 relu, 4 tanh — matches vkb_act. tanh's
// argument is clamped to +-15 (where tanh is 1 in float) so no driver's exp-based tanh
// overflows into NaN.
float vkb_activate(float x, int act)
{
    if (act == 1) return vkb_gelu_erf(x);
    if (act == 2) return vkb_gelu_tanh(x);
    if (act == 3) return max(x, 0.0);
    if (act == 4) return tanh(clamp(x, -15.0, 15.0));
    return x;
}
#endif

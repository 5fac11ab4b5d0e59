// What the AVX2 kernels share: the target attribute (each function is
// compiled for AVX2 with FMA while the rest of the build stays portable; the
// public entry points call them only after gf_cpu_has_avx2_fma()), and small
// vector helpers.
#ifndef GOMALIZING_AVX2_COMMON_H
#define GOMALIZING_AVX2_COMMON_H

#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// max(slope y, y) with the operand order of the Swift epilogue (slope y where y < slope y).
INLINE TARGET __m256 leaky8(__m256 v, __m256 slope) { return _mm256_max_ps(_mm256_mul_ps(slope, v), v); }

INLINE float leaky1(float v, float slope) {
    const float a = slope * v;
    return v < a ? a : v;
}

// Where an accumulator of eight output channels starts: the output itself
// (accumulate), the bias, or zero.
INLINE TARGET __m256 start8(const float *y, const float *bias, int accumulate) {
    return accumulate ? _mm256_loadu_ps(y) : bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
}

INLINE TARGET float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#endif

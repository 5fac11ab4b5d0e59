// The FMA rate one core sustains, with 256-bit (AVX2) and 512-bit (AVX-512F)
// registers: ten independent chains of fused multiply-adds, enough to cover
// the latency of two pipes. It says whether wider registers would pay on
// this CPU (on Zen 4 they do not: 512-bit FMAs take two passes) and what the
// clock under load really is (GFLOP/s / 32 for two 256-bit pipes).
//   clang -O2 benchmarks/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
// (clang from the Swift toolchain will do). Not part of the package build.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define CHAINS 10
#define ROUNDS 200000000L

__attribute__((target("avx2,fma"))) static double rate256(void) {
    __m256 a[CHAINS];
    for (int j = 0; j < CHAINS; j++) a[j] = _mm256_set1_ps(0.001f * j);
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
    const double t0 = seconds();
    for (long i = 0; i < ROUNDS; i++) {
        for (int j = 0; j < CHAINS; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
        // Keeps the chains in registers and the loop from being folded away.
        __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]), "+x"(a[6]),
                         "+x"(a[7]), "+x"(a[8]), "+x"(a[9]));
    }
    const double t = seconds() - t0;
    return ROUNDS * CHAINS * 16.0 / t * 1e-9;
}

__attribute__((target("avx512f"))) static double rate512(void) {
    __m512 a[CHAINS];
    for (int j = 0; j < CHAINS; j++) a[j] = _mm512_set1_ps(0.001f * j);
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
    const double t0 = seconds();
    for (long i = 0; i < ROUNDS; i++) {
        for (int j = 0; j < CHAINS; j++) a[j] = _mm512_fmadd_ps(a[j], m, c);
        __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]), "+v"(a[6]),
                         "+v"(a[7]), "+v"(a[8]), "+v"(a[9]));
    }
    const double t = seconds() - t0;
    return ROUNDS * CHAINS * 32.0 / t * 1e-9;
}

int main(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        printf("one core, 256-bit FMA: %.1f GFLOP/s\n", rate256());
    else
        printf("no AVX2 with FMA\n");
    if (__builtin_cpu_supports("avx512f"))
        printf("one core, 512-bit FMA: %.1f GFLOP/s\n", rate512());
    else
        printf("no AVX-512F\n");
    return 0;
}

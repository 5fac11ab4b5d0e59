// Run-time detection of the vector instructions the kernels need.
#include "CKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

// AVX2 and FMA need the CPU's flags and an OS that saves the ymm registers on
// a context switch (XCR0 bits 1 and 2), else the instructions fault.
static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u || __get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;  // AVX2
}

int gf_cpu_has_avx2_fma(void) {
    // -1: not yet known. Threads that race here compute the same value.
    static int cached = -1;
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        value = detect();
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}
#else
int gf_cpu_has_avx2_fma(void) { return 0; }
#endif

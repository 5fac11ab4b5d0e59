// Convolution kernels compiled for AVX2 with FMA, wider than the portable
// x86-64 baseline (SSE2) the rest of the build targets, and chosen at run
// time: the library stays one portable binary, and these functions run only
// where the CPU reports the instructions (elsewhere they return 0 and the
// Swift loops run). Pointers are non-null unless marked _Nullable.
#ifndef GOMALIZING_CKERNELS_H
#define GOMALIZING_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// 1 when this CPU and OS run AVX2 with FMA (the kernels below), else 0.
int gf_cpu_has_avx2_fma(void);

/// y[s][:] (= or +=) bias + sum over taps t in tapList and ci of
/// x[nb[t][v]][ci] W[t][ci][:], for the n configurations of V sites (channels
/// last), at the sites `subset` (m of them) or all V when subset is NULL.
/// leaky != 0 stores max(y, slope y). The leftover output channels when cout is
/// not a multiple of 8 need cin a multiple of 8 and `transposedScratch`
/// (cout * taps * cin values). `side` is the lattice's L (0 if unknown): with
/// all sites wanted and L a multiple of 4, rows of L sites are read from a
/// padded copy when `nb` has their geometry (every stencil of a hypercubic
/// lattice has). Returns 1 when done, 0 when the
/// shape is not one these kernels take (nothing written).
int gf_conv_apply_f32(const float *x, long cin, float *y, long cout, const float *W,
                      const float *_Nullable bias, int accumulate, const int32_t *nb, long taps,
                      long n, long V, long side, const int32_t *_Nullable subset, long m,
                      const int32_t *tapList, long tapN, int leaky, float slope,
                      float *_Nullable transposedScratch);

/// dW[t][ci][:] += sum x[nb[t][v]][ci] dy[v][:] and dB[:] += sum dy[v][:] over
/// the n configurations; the leftover output channels (cout not a multiple of
/// 8, cin a multiple of 8) sum over `subset` (m sites) or all V. Returns 1 when
/// done, 0 when the shape is not one these kernels take (nothing written).
int gf_conv_weight_gradient_f32(const float *x, long cin, const float *dy, long cout,
                                float *dW, float *dB, const int32_t *nb, long taps, long n,
                                long V, const int32_t *_Nullable subset, long m);

/// Values of scratch `gf_winograd_conv_f32` needs.
long gf_winograd_conv_scratch_count(long cin, long cout, int d);

/// y = activation(bias + conv(x)) for the full 3^d stencil of a d = 2 or 3
/// lattice of even side L, by Winograd's F(2, 3) along every axis (equal to the
/// direct sum up to rounding); n configurations, channels last, cin and cout
/// multiples of 8. Returns 1 when done, 0 when the shape or the CPU does not
/// qualify (nothing written).
int gf_winograd_conv_f32(const float *x, long cin, float *y, long cout, const float *W, const float *bias, long n,
                         int d, long L, int leaky, float slope, float *scratch);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif

// Winograd's F(2, 3) convolution on a d-dimensional lattice (d = 2, 3), the
// 3x...x3 box stencil, channels multiples of 8, L even: each tile of 2^d
// output sites comes from its 4^d input patch through
//   Y = A^T [ (G g G^T) . (B^T d B) ] A   (the transforms along every axis),
// so a tile costs 4^d channel products instead of 2^d 3^d (3.4x fewer in 3D).
// 1D, for y_i = g0 x_(i-1) + g1 x_i + g2 x_(i+1) at i = 0, 1 from d = x_(-1...2):
//   B^T d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3),
//   G g   = (g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2),
//   A^T m = (m0 + m1 + m2, m1 - m2 - m3).

#include "CKernels.h"

#if defined(__x86_64__)
#include "kernels/avx2_common.h"

// Winograd's products for one entry xi of the transformed tile: M[tile][co] =
// sum_ci D[tile][ci] U[ci][co], rows of D and M dStride and mStride apart,
// eight tiles of eight channels in registers.
INLINE TARGET void winograd_all(const float *D, const float *U, float *M, long tiles, const long cin, const long cout,
                              long dStride, long mStride) {
    long tile = 0;
    for (; tile + 8 <= tiles; tile += 8) {
        for (long c0 = 0; c0 < cout; c0 += 8) {
            __m256 acc[8];
            for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
            for (long ci = 0; ci < cin; ci++) {
                const __m256 w = _mm256_loadu_ps(U + ci * cout + c0);
                for (int j = 0; j < 8; j++)
                    acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(D + (tile + j) * dStride + ci), w, acc[j]);
            }
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(M + (tile + j) * mStride + c0, acc[j]);
        }
    }
    for (; tile < tiles; tile++) {
        for (long c0 = 0; c0 < cout; c0 += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (long ci = 0; ci < cin; ci++)
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(D + tile * dStride + ci), _mm256_loadu_ps(U + ci * cout + c0),
                                      acc);
            _mm256_storeu_ps(M + tile * mStride + c0, acc);
        }
    }
}

// Tiles transformed, multiplied and transformed back together, so that their
// patches and products stay in L1.
#define WBLOCK 8

// U[xi][ci][co] = the weight g = W[t][ci][co] (t lexicographic over 3^d, last
// axis fastest) transformed by G along every axis (xi lexicographic over 4^d),
// eight output channels at a time.
INLINE TARGET void winograd_weights(const float *W, long cin, long cout, int d, float *U) {
    const int taps = d == 2 ? 9 : 27, cells = d == 2 ? 16 : 64;
    const __m256 half = _mm256_set1_ps(0.5f);
    for (long ci = 0; ci < cin; ci++)
        for (long c0 = 0; c0 < cout; c0 += 8) {
            // a: current values, extents 4 along the axes done, 3 along the rest.
            __m256 a[64], b[64];
            for (int t = 0; t < taps; t++) a[t] = _mm256_loadu_ps(W + (t * cin + ci) * cout + c0);
            int ext[3] = {3, 3, 3};
            for (int ax = 0; ax < d; ax++) {
                int inner = 1, outer = 1;
                for (int k = ax + 1; k < d; k++) inner *= ext[k];
                for (int k = 0; k < ax; k++) outer *= ext[k];
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++) {
                        const __m256 g0 = a[(o * 3 + 0) * inner + i], g1 = a[(o * 3 + 1) * inner + i],
                                     g2 = a[(o * 3 + 2) * inner + i];
                        const __m256 s02 = _mm256_add_ps(g0, g2);
                        b[(o * 4 + 0) * inner + i] = g0;
                        b[(o * 4 + 1) * inner + i] = _mm256_mul_ps(_mm256_add_ps(s02, g1), half);
                        b[(o * 4 + 2) * inner + i] = _mm256_mul_ps(_mm256_sub_ps(s02, g1), half);
                        b[(o * 4 + 3) * inner + i] = g2;
                    }
                ext[ax] = 4;
                for (int k = 0; k < outer * 4 * inner; k++) a[k] = b[k];
            }
            for (int xi = 0; xi < cells; xi++) _mm256_storeu_ps(U + (xi * cin + ci) * cout + c0, a[xi]);
        }
}

// B^T of the line e[0..3], written to out[0], out[s], out[2s], out[3s].
INLINE TARGET void bt4(const __m256 *e, __m256 *out, int s) {
    out[0] = _mm256_sub_ps(e[0], e[2]);
    out[s] = _mm256_add_ps(e[1], e[2]);
    out[2 * s] = _mm256_sub_ps(e[2], e[1]);
    out[3 * s] = _mm256_sub_ps(e[1], e[3]);
}

// A^T of the line m[0..3], written to out[0] and out[s].
INLINE TARGET void at4(const __m256 *m, __m256 *out, int s) {
    out[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
    out[s] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
}

// I[a]: the tile's index along axis a (R = L/2 tiles a side, axis 0 slowest).
INLINE void tile_coords(long tile, int d, long R, long *I) {
    if (d == 2) {
        I[0] = tile / R;
        I[1] = tile % R;
    } else {
        I[0] = tile / (R * R);
        I[1] = (tile / R) % R;
        I[2] = tile % R;
    }
}

// One configuration: y = activation(bias + conv(x)), channels last.
INLINE TARGET void winograd_config(const float *x, const long cin, float *y, const long cout, const float *U,
                                        const float *bias, const int d, const long L, int leaky, __m256 slope,
                                        float *D, float *M) {
    const int cells = d == 2 ? 16 : 64;
    const long R = L / 2;
    const long tiles = d == 2 ? R * R : R * R * R;
    // Site index steps along axes 0 ... d - 1.
    const long stride[3] = {d == 2 ? L : L * L, d == 2 ? 1 : L, 1};
    for (long tile0 = 0; tile0 < tiles; tile0 += WBLOCK) {
        const long nt = tiles - tile0 < WBLOCK ? tiles - tile0 : WBLOCK;
        // Input transform: D[j][xi][ci] for the block's tiles j.
        for (long j = 0; j < nt; j++) {
            long I[3];
            tile_coords(tile0 + j, d, R, I);
            // Site offsets of the patch's rows along each axis (periodic).
            long off[3][4];
            for (int ax = 0; ax < d; ax++)
                for (int q = 0; q < 4; q++) off[ax][q] = ((2 * I[ax] - 1 + q + L) % L) * stride[ax];
            float *Dj = D + j * cells * cin;
            for (long c0 = 0; c0 < cin; c0 += 8) {
                if (d == 2) {
                    // Along axis 0 for each column q1, then along axis 1 in registers.
                    __m256 t[16];
                    for (int q1 = 0; q1 < 4; q1++) {
                        __m256 e[4];
                        for (int q = 0; q < 4; q++) e[q] = _mm256_loadu_ps(x + (off[0][q] + off[1][q1]) * cin + c0);
                        bt4(e, t + q1, 4);
                    }
                    for (int p0 = 0; p0 < 4; p0++) {
                        __m256 r[4];
                        bt4(t + 4 * p0, r, 1);
                        for (int q = 0; q < 4; q++) _mm256_storeu_ps(Dj + (4 * p0 + q) * cin + c0, r[q]);
                    }
                } else {
                    // Along axis 0 for each (q1, q2) line into t, then axes 1 and 2
                    // slice by slice.
                    __m256 t[64];
                    for (int q12 = 0; q12 < 16; q12++) {
                        __m256 e[4];
                        for (int q = 0; q < 4; q++)
                            e[q] = _mm256_loadu_ps(x + (off[0][q] + off[1][q12 >> 2] + off[2][q12 & 3]) * cin + c0);
                        bt4(e, t + q12, 16);
                    }
                    for (int p0 = 0; p0 < 4; p0++) {
                        __m256 *u = t + 16 * p0, w[16];
                        for (int q2 = 0; q2 < 4; q2++) {
                            const __m256 e[4] = {u[q2], u[4 + q2], u[8 + q2], u[12 + q2]};
                            bt4(e, w + q2, 4);
                        }
                        for (int p1 = 0; p1 < 4; p1++) {
                            __m256 r[4];
                            bt4(w + 4 * p1, r, 1);
                            for (int q = 0; q < 4; q++) _mm256_storeu_ps(Dj + (16 * p0 + 4 * p1 + q) * cin + c0, r[q]);
                        }
                    }
                }
            }
        }
        // Products: M[j][xi][co] = sum_ci D[j][xi][ci] U[xi][ci][co].
        for (int xi = 0; xi < cells; xi++)
            winograd_all(D + xi * cin, U + xi * cin * cout, M + xi * cout, nt, cin, cout, cells * cin,
                              cells * cout);
        // Output transform, bias and activation, stored at the tile's 2^d sites.
        for (long j = 0; j < nt; j++) {
            long I[3];
            tile_coords(tile0 + j, d, R, I);
            const float *Mj = M + j * cells * cout;
            for (long c0 = 0; c0 < cout; c0 += 8) {
                const __m256 bv = _mm256_loadu_ps(bias + c0);
                __m256 out[8];  // index: bits r_0 ... r_(d-1), axis 0 highest
                if (d == 2) {
                    // Along axis 1 row by row, then along axis 0.
                    __m256 a[8];
                    for (int p0 = 0; p0 < 4; p0++) {
                        __m256 m[4];
                        for (int q = 0; q < 4; q++) m[q] = _mm256_loadu_ps(Mj + (4 * p0 + q) * cout + c0);
                        at4(m, a + p0, 4);
                    }
                    for (int r1 = 0; r1 < 2; r1++) at4(a + 4 * r1, out + r1, 2);
                } else {
                    // Per slice p0: along axis 2, then axis 1, leaving 2x2 values; then along axis 0.
                    __m256 b[16];  // [r1 r2][p0]
                    for (int p0 = 0; p0 < 4; p0++) {
                        __m256 a[8];  // [r2][q1]
                        for (int q1 = 0; q1 < 4; q1++) {
                            __m256 m[4];
                            for (int q = 0; q < 4; q++) m[q] = _mm256_loadu_ps(Mj + (16 * p0 + 4 * q1 + q) * cout + c0);
                            at4(m, a + q1, 4);
                        }
                        for (int r2 = 0; r2 < 2; r2++) {
                            __m256 h[2];
                            at4(a + 4 * r2, h, 1);
                            b[(0 * 2 + r2) * 4 + p0] = h[0];
                            b[(1 * 2 + r2) * 4 + p0] = h[1];
                        }
                    }
                    for (int r12 = 0; r12 < 4; r12++) at4(b + 4 * r12, out + r12, 4);
                }
                for (int r = 0; r < (1 << d); r++) {
                    long site = 0;
                    for (int ax = 0; ax < d; ax++) site += (2 * I[ax] + ((r >> (d - 1 - ax)) & 1)) * stride[ax];
                    const __m256 o = _mm256_add_ps(bv, out[r]);
                    _mm256_storeu_ps(y + site * cout + c0, leaky ? leaky8(o, slope) : o);
                }
            }
        }
    }
}

static TARGET void winograd_avx2(const float *x, long cin, float *y, long cout, const float *W,
                                            const float *bias, long n, int d, long L, int leaky, float slope,
                                            float *scratch) {
    const int cells = d == 2 ? 16 : 64;
    float *U = scratch, *D = U + cells * cin * cout, *M = D + WBLOCK * cells * cin;
    winograd_weights(W, cin, cout, d, U);
    const long V = d == 2 ? L * L : L * L * L;
    const __m256 vslope = _mm256_set1_ps(slope);
    // Copies with d and the standard channel counts constant, so that the
    // transforms' loops unroll and their values stay in registers.
    for (long b = 0; b < n; b++) {
        const float *xb = x + b * V * cin;
        float *yb = y + b * V * cout;
        if (d == 2 && cin == 8 && cout == 8) winograd_config(xb, 8, yb, 8, U, bias, 2, L, leaky, vslope, D, M);
        else if (d == 3 && cin == 8 && cout == 8) winograd_config(xb, 8, yb, 8, U, bias, 3, L, leaky, vslope, D, M);
        else if (d == 2) winograd_config(xb, cin, yb, cout, U, bias, 2, L, leaky, vslope, D, M);
        else winograd_config(xb, cin, yb, cout, U, bias, 3, L, leaky, vslope, D, M);
    }
}

long gf_winograd_conv_scratch_count(long cin, long cout, int d) {
    const long cells = d == 2 ? 16 : 64;
    return cells * cin * cout + WBLOCK * cells * (cin + cout);
}

int gf_winograd_conv_f32(const float *x, long cin, float *y, long cout, const float *W, const float *bias, long n,
                         int d, long L, int leaky, float slope, float *scratch) {
    if (!gf_cpu_has_avx2_fma() || cin % 8 != 0 || cout % 8 != 0 || L % 2 != 0 || L < 2 || (d != 2 && d != 3))
        return 0;
    winograd_avx2(x, cin, y, cout, W, bias, n, d, L, leaky, slope, scratch);
    return 1;
}

#else

long gf_winograd_conv_scratch_count(long cin, long cout, int d) { return 1; }

int gf_winograd_conv_f32(const float *x, long cin, float *y, long cout, const float *W, const float *bias, long n,
                         int d, long L, int leaky, float slope, float *scratch) {
    return 0;
}

#endif

// The periodic convolution's two loops (ConvKernel.swift's apply and
// weightGradient) with 256-bit FMA: eight output channels of one site fill a
// ymm register, and eight sites at a time give the eight independent
// accumulator chains that two FMA pipes of four-cycle latency need. The
// weight gradient runs configuration by configuration, so that dy and x stay
// in cache across the taps.
#include "CKernels.h"

#if defined(__x86_64__)
#include "kernels/avx2_common.h"

#include <stdlib.h>
#include <string.h>

// Output channels in blocks of 8 (cout a multiple of 8 here), for configuration xb/yb.
INLINE TARGET void apply_blocks(const float *xb, const long cin, float *yb, const long cout, const float *W,
                              const float *bias, int accumulate, const int32_t *nb, long V,
                              const int32_t *subset, long m, const int32_t *tapList, long tapN,
                              int leaky, __m256 slope) {
    const long blocks = cout / 8;
    long k = 0;
    for (; k + 8 <= m; k += 8) {
        long v[8];
        for (int j = 0; j < 8; j++) v[j] = subset ? subset[k + j] : k + j;
        for (long blk = 0; blk < blocks; blk++) {
            const long c0 = blk * 8;
            __m256 acc[8];
            for (int j = 0; j < 8; j++) acc[j] = start8(yb + v[j] * cout + c0, bias ? bias + c0 : NULL, accumulate);
            for (long ti = 0; ti < tapN; ti++) {
                const long t = tapList[ti];
                const int32_t *nbt = nb + t * V;
                const float *p[8];
                for (int j = 0; j < 8; j++) p[j] = xb + (long)nbt[v[j]] * cin;
                const float *wt = W + t * cin * cout + c0;
                for (long ci = 0; ci < cin; ci++) {
                    const __m256 w = _mm256_loadu_ps(wt + ci * cout);
                    for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(p[j] + ci), w, acc[j]);
                }
            }
            for (int j = 0; j < 8; j++)
                _mm256_storeu_ps(yb + v[j] * cout + c0, leaky ? leaky8(acc[j], slope) : acc[j]);
        }
    }
    // Sites left over from the groups of eight: one at a time.
    for (; k < m; k++) {
        const long v = subset ? subset[k] : k;
        for (long blk = 0; blk < blocks; blk++) {
            const long c0 = blk * 8;
            __m256 acc = start8(yb + v * cout + c0, bias ? bias + c0 : NULL, accumulate);
            for (long ti = 0; ti < tapN; ti++) {
                const long t = tapList[ti];
                const float *p = xb + (long)nb[t * V + v] * cin;
                const float *wt = W + t * cin * cout + c0;
                for (long ci = 0; ci < cin; ci++)
                    acc = _mm256_fmadd_ps(_mm256_broadcast_ss(p + ci), _mm256_loadu_ps(wt + ci * cout), acc);
            }
            _mm256_storeu_ps(yb + v * cout + c0, leaky ? leaky8(acc, slope) : acc);
        }
    }
}

// Rows of the lattice: the last axis is the fastest, so the L sites of a row
// are contiguous, and a tap maps row r to one row rowMap[t][r] shifted by
// dx[t] along it. With a copy of each configuration whose rows carry h
// periodic halo sites at either end, the eight sites of a group read their
// inputs at one pointer and fixed offsets: no neighbour table in the loop.
typedef struct {
    long L, h, rows, padded;  // padded: L + 2h
    long *rowMap, *dx;        // [tap][row], [tap]
    char *triple;             // [tap]: taps t, t+1, t+2 map rows alike with dx = -1, 0, 1
} Rows;

// The geometry of the neighbour table `nb`, checked site by site; 0 when it
// is not that of rows of `L` sites, or L is not a multiple of 4 (a row of 6
// would need groups of 2 or single sites, slower than the gathering loop).
static int rows_of(const int32_t *nb, long taps, long V, long L, Rows *g) {
    if (L < 4 || L % 4 != 0 || V % L != 0) return 0;
    g->L = L;
    g->rows = V / L;
    g->dx = malloc(sizeof(long) * taps);
    g->rowMap = malloc(sizeof(long) * taps * g->rows);
    g->triple = calloc(taps, 1);
    if (!g->dx || !g->rowMap || !g->triple) return 0;
    long h = 0;
    for (long t = 0; t < taps; t++) {
        const long xs = nb[t * V] % L;
        g->dx[t] = xs <= L / 2 ? xs : xs - L;
        if (labs(g->dx[t]) > h) h = labs(g->dx[t]);
    }
    if (2 * h >= L) return 0;
    g->h = h;
    g->padded = L + 2 * h;
    for (long t = 0; t < taps; t++)
        for (long r = 0; r < g->rows; r++) {
            const long to = nb[t * V + r * L] / L;
            g->rowMap[t * g->rows + r] = to;
            for (long x = 0; x < L; x++) {
                long xs = x + g->dx[t];  // in -h ... L - 1 + h: one wrap at most
                xs = xs < 0 ? xs + L : (xs >= L ? xs - L : xs);
                if (nb[t * V + r * L + x] != to * L + xs) return 0;
            }
        }
    for (long t = 0; t + 2 < taps; t++) {
        int same = g->dx[t] == -1 && g->dx[t + 1] == 0 && g->dx[t + 2] == 1;
        for (long r = 0; r < g->rows && same; r++)
            same = g->rowMap[t * g->rows + r] == g->rowMap[(t + 1) * g->rows + r]
                   && g->rowMap[t * g->rows + r] == g->rowMap[(t + 2) * g->rows + r];
        g->triple[t] = (char)same;
    }
    return 1;
}

static void rows_free(Rows *g) {
    free(g->dx);
    free(g->rowMap);
    free(g->triple);
}

// pad[r][h + x][ci] = xb[r][x mod L][ci] for x in -h ... L - 1 + h.
INLINE void rows_pad(const float *xb, long cin, const Rows *g, float *pad) {
    const long L = g->L, h = g->h;
    for (long r = 0; r < g->rows; r++) {
        const float *src = xb + r * L * cin;
        float *dst = pad + r * g->padded * cin;
        memcpy(dst + h * cin, src, sizeof(float) * L * cin);
        if (h > 0) {
            memcpy(dst, src + (L - h) * cin, sizeof(float) * h * cin);
            memcpy(dst + (L + h) * cin, src, sizeof(float) * h * cin);
        }
    }
}

// G consecutive sites x0 ... x0 + G - 1 of row r (G = 8 or 4), all taps,
// reading the padded copy. Three taps that differ only by dx = -1, 0, 1 along
// the row (the rows of a 3-wide box) share their inputs: each of the G + 2
// input sites is broadcast once and feeds up to three outputs (for G = 8, 10
// loads for 24 multiply-adds instead of 24).
INLINE TARGET void row_group(const float *pad, const long cin, float *ys, const long cout, const long c0,
                             const float *W, const float *bias, int accumulate, const Rows *g, long r, long x0,
                             const int32_t *tapList, long tapN, int leaky, __m256 slope, const int G) {
    const long rows = g->rows;
    __m256 acc[8];
    for (int j = 0; j < G; j++) acc[j] = start8(ys + j * cout + c0, bias ? bias + c0 : NULL, accumulate);
    long ti = 0;
    while (ti < tapN) {
        const long t = tapList[ti];
        const float *row = pad + (g->rowMap[t * rows + r] * g->padded + g->h + x0) * cin;
        if (ti + 2 < tapN && g->triple[t] && tapList[ti + 1] == t + 1 && tapList[ti + 2] == t + 2) {
            // Inputs x0 - 1 ... x0 + G of the row; output j reads x0 + j + dx.
            const float *p = row - cin;
            const float *w0 = W + t * cin * cout + c0;
            for (long ci = 0; ci < cin; ci++) {
                const __m256 wm = _mm256_loadu_ps(w0 + ci * cout);
                const __m256 wz = _mm256_loadu_ps(w0 + (cin + ci) * cout);
                const __m256 wp = _mm256_loadu_ps(w0 + (2 * cin + ci) * cout);
                for (int k = 0; k < G + 2; k++) {
                    const __m256 v = _mm256_broadcast_ss(p + k * cin + ci);
                    if (k < G) acc[k] = _mm256_fmadd_ps(v, wm, acc[k]);                          // dx = -1
                    if (k >= 1 && k - 1 < G) acc[k - 1] = _mm256_fmadd_ps(v, wz, acc[k - 1]);  // dx = 0
                    if (k >= 2) acc[k - 2] = _mm256_fmadd_ps(v, wp, acc[k - 2]);                // dx = +1
                }
            }
            ti += 3;
            continue;
        }
        const float *p = row + g->dx[t] * cin;
        const float *wt = W + t * cin * cout + c0;
        for (long ci = 0; ci < cin; ci++) {
            const __m256 w = _mm256_loadu_ps(wt + ci * cout);
            for (int j = 0; j < G; j++) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j * cin + ci), w, acc[j]);
        }
        ti += 1;
    }
    for (int j = 0; j < G; j++) _mm256_storeu_ps(ys + j * cout + c0, leaky ? leaky8(acc[j], slope) : acc[j]);
}

// apply_blocks for all sites, reading the padded copy of a configuration:
// each row in groups of 8 sites, and one of 4 where L = 4 mod 8.
INLINE TARGET void apply_rows(const float *pad, const long cin, float *yb, const long cout, const float *W,
                              const float *bias, int accumulate, const Rows *g, const int32_t *tapList, long tapN,
                              int leaky, __m256 slope) {
    const long L = g->L;
    for (long r = 0; r < g->rows; r++) {
        long x0 = 0;
        for (; x0 + 8 <= L; x0 += 8)
            for (long c0 = 0; c0 < cout; c0 += 8)
                row_group(pad, cin, yb + (r * L + x0) * cout, cout, c0, W, bias, accumulate, g, r, x0, tapList, tapN,
                          leaky, slope, 8);
        if (x0 < L)  // L = 4 mod 8
            for (long c0 = 0; c0 < cout; c0 += 8)
                row_group(pad, cin, yb + (r * L + x0) * cout, cout, c0, W, bias, accumulate, g, r, x0, tapList, tapN,
                          leaky, slope, 4);
    }
}

// Leftover output channels (cin a multiple of 8): dot products over ci in
// lanes against the weights transposed to [co][t][ci], two channels of four
// sites at a time.
INLINE TARGET void apply_leftover(const float *xb, const long cin, float *yb, const long cout, const float *tr,
                                const float *bias, int accumulate, const int32_t *nb, long V, long taps,
                                const int32_t *subset, long m, const int32_t *tapList, long tapN,
                                int leaky, float slope) {
    for (long co = cout / 8 * 8; co < cout; co += 2) {
        const int pair = co + 1 < cout;
        const float *w0 = tr + co * taps * cin;
        const float *w1 = pair ? w0 + taps * cin : w0;
        for (long k = 0; k < m; k += 4) {
            const long live = m - k < 4 ? m - k : 4;
            long v[4];
            for (int j = 0; j < 4; j++) {
                const long kk = j < live ? k + j : k;
                v[j] = subset ? subset[kk] : kk;
            }
            __m256 a[4], b[4];
            for (int j = 0; j < 4; j++) a[j] = b[j] = _mm256_setzero_ps();
            for (long ti = 0; ti < tapN; ti++) {
                const long t = tapList[ti];
                const int32_t *nbt = nb + t * V;
                const float *p[4];
                for (int j = 0; j < 4; j++) p[j] = xb + (long)nbt[v[j]] * cin;
                for (long c0 = 0; c0 < cin; c0 += 8) {
                    const __m256 wa = _mm256_loadu_ps(w0 + t * cin + c0), wb = _mm256_loadu_ps(w1 + t * cin + c0);
                    for (int j = 0; j < 4; j++) {
                        const __m256 u = _mm256_loadu_ps(p[j] + c0);
                        a[j] = _mm256_fmadd_ps(u, wa, a[j]);
                        b[j] = _mm256_fmadd_ps(u, wb, b[j]);
                    }
                }
            }
            for (int j = 0; j < live; j++) {
                float *ys = yb + v[j] * cout;
                const float ia = accumulate ? ys[co] : (bias ? bias[co] : 0);
                const float ra = ia + hsum8(a[j]);
                ys[co] = leaky ? leaky1(ra, slope) : ra;
                if (pair) {
                    const float ib = accumulate ? ys[co + 1] : (bias ? bias[co + 1] : 0);
                    const float rb = ib + hsum8(b[j]);
                    ys[co + 1] = leaky ? leaky1(rb, slope) : rb;
                }
            }
        }
    }
}

INLINE TARGET void apply_all(const float *x, const long cin, float *y, const long cout, const float *W,
                           const float *bias, int accumulate, const int32_t *nb, long taps, long n, long V, long side,
                           const int32_t *subset, long m, const int32_t *tapList, long tapN, int leaky,
                           float slope, const float *tr) {
    const __m256 vslope = _mm256_set1_ps(slope);
    // All sites wanted: the blocks read rows of a padded copy.
    Rows g = {0};
    float *pad = NULL;
    if (!subset && m == V && cout % 8 == 0 && rows_of(nb, taps, V, side, &g))
        pad = malloc(sizeof(float) * g.rows * g.padded * cin);
    for (long b = 0; b < n; b++) {
        const float *xb = x + b * V * cin;
        float *yb = y + b * V * cout;
        if (pad) {
            rows_pad(xb, cin, &g, pad);
            apply_rows(pad, cin, yb, cout, W, bias, accumulate, &g, tapList, tapN, leaky, vslope);
        } else if (cout >= 8)
            apply_blocks(xb, cin, yb, cout, W, bias, accumulate, nb, V, subset, m, tapList, tapN, leaky, vslope);
        if (cout % 8 != 0)
            apply_leftover(xb, cin, yb, cout, tr, bias, accumulate, nb, V, taps, subset, m, tapList, tapN, leaky,
                           slope);
    }
    free(pad);
    rows_free(&g);
}

// Copies with the channel counts of the standard nets as constants, so that
// the ci loops unroll.
static TARGET void apply_avx2(const float *x, long cin, float *y, long cout, const float *W, const float *bias,
                            int accumulate, const int32_t *nb, long taps, long n, long V, long side, const int32_t *subset,
                            long m, const int32_t *tapList, long tapN, int leaky, float slope, const float *tr) {
#define CASE(CI, CO)                                                                                              \
    if (cin == CI && cout == CO) {                                                                                \
        apply_all(x, CI, y, CO, W, bias, accumulate, nb, taps, n, V, side, subset, m, tapList, tapN, leaky, slope, tr); \
        return;                                                                                                   \
    }
    CASE(1, 8)
    CASE(8, 8)
    CASE(8, 2)
    CASE(2, 8)
    CASE(8, 1)
#undef CASE
    apply_all(x, cin, y, cout, W, bias, accumulate, nb, taps, n, V, side, subset, m, tapList, tapN, leaky, slope, tr);
}


// Weight gradient of the 8-channel blocks for one configuration: per tap and
// group of four input channels, two partial sums (even and odd sites) each,
// so eight accumulators; dy and x of one configuration stay in cache across
// the taps.
INLINE TARGET void weight_blocks(const float *xb, const long cin, const float *dyb, const long cout, float *dW,
                               const int32_t *nb, long taps, long V) {
    for (long c0 = 0; c0 + 8 <= cout; c0 += 8) {
        for (long t = 0; t < taps; t++) {
            const int32_t *nbt = nb + t * V;
            long ci0 = 0;
            for (; ci0 + 4 <= cin; ci0 += 4) {
                __m256 e[4], o[4];
                for (int g = 0; g < 4; g++) e[g] = o[g] = _mm256_setzero_ps();
                long v = 0;
                for (; v + 2 <= V; v += 2) {
                    const __m256 d0 = _mm256_loadu_ps(dyb + v * cout + c0);
                    const __m256 d1 = _mm256_loadu_ps(dyb + (v + 1) * cout + c0);
                    const float *p0 = xb + (long)nbt[v] * cin + ci0, *p1 = xb + (long)nbt[v + 1] * cin + ci0;
                    for (int g = 0; g < 4; g++) {
                        e[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + g), d0, e[g]);
                        o[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(p1 + g), d1, o[g]);
                    }
                }
                if (v < V) {
                    const __m256 d0 = _mm256_loadu_ps(dyb + v * cout + c0);
                    const float *p0 = xb + (long)nbt[v] * cin + ci0;
                    for (int g = 0; g < 4; g++) e[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + g), d0, e[g]);
                }
                for (int g = 0; g < 4; g++) {
                    float *q = dW + (t * cin + ci0 + g) * cout + c0;
                    _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), _mm256_add_ps(e[g], o[g])));
                }
            }
            // Input channels left over from the groups of four: four partial sums each.
            for (; ci0 < cin; ci0++) {
                __m256 a[4];
                for (int g = 0; g < 4; g++) a[g] = _mm256_setzero_ps();
                long v = 0;
                for (; v + 4 <= V; v += 4)
                    for (int g = 0; g < 4; g++)
                        a[g] = _mm256_fmadd_ps(_mm256_broadcast_ss(xb + (long)nbt[v + g] * cin + ci0),
                                               _mm256_loadu_ps(dyb + (v + g) * cout + c0), a[g]);
                for (; v < V; v++)
                    a[0] = _mm256_fmadd_ps(_mm256_broadcast_ss(xb + (long)nbt[v] * cin + ci0),
                                           _mm256_loadu_ps(dyb + v * cout + c0), a[0]);
                float *q = dW + (t * cin + ci0) * cout + c0;
                const __m256 s = _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]));
                _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), s));
            }
        }
    }
}

// Weight gradient of the leftover output channels (cin a multiple of 8) for
// one configuration: ci in lanes, two channels at a time, over the subset.
INLINE TARGET void weight_leftover(const float *xb, const long cin, const float *dyb, const long cout, float *dW,
                                 const int32_t *nb, long taps, long V, const int32_t *subset, long m) {
    for (long co = cout / 8 * 8; co < cout; co += 2) {
        const int pair = co + 1 < cout;
        for (long t = 0; t < taps; t++) {
            const int32_t *nbt = nb + t * V;
            for (long c0 = 0; c0 < cin; c0 += 8) {
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
                long k = 0;
                for (; k + 2 <= m; k += 2) {
                    const long v0 = subset ? subset[k] : k, v1 = subset ? subset[k + 1] : k + 1;
                    const __m256 u0 = _mm256_loadu_ps(xb + (long)nbt[v0] * cin + c0);
                    const __m256 u1 = _mm256_loadu_ps(xb + (long)nbt[v1] * cin + c0);
                    a0 = _mm256_fmadd_ps(u0, _mm256_broadcast_ss(dyb + v0 * cout + co), a0);
                    a1 = _mm256_fmadd_ps(u1, _mm256_broadcast_ss(dyb + v1 * cout + co), a1);
                    if (pair) {
                        b0 = _mm256_fmadd_ps(u0, _mm256_broadcast_ss(dyb + v0 * cout + co + 1), b0);
                        b1 = _mm256_fmadd_ps(u1, _mm256_broadcast_ss(dyb + v1 * cout + co + 1), b1);
                    }
                }
                if (k < m) {
                    const long v0 = subset ? subset[k] : k;
                    const __m256 u0 = _mm256_loadu_ps(xb + (long)nbt[v0] * cin + c0);
                    a0 = _mm256_fmadd_ps(u0, _mm256_broadcast_ss(dyb + v0 * cout + co), a0);
                    if (pair) b0 = _mm256_fmadd_ps(u0, _mm256_broadcast_ss(dyb + v0 * cout + co + 1), b0);
                }
                float la[8], lb[8];
                _mm256_storeu_ps(la, _mm256_add_ps(a0, a1));
                _mm256_storeu_ps(lb, _mm256_add_ps(b0, b1));
                for (int l = 0; l < 8; l++) {
                    dW[(t * cin + c0 + l) * cout + co] += la[l];
                    if (pair) dW[(t * cin + c0 + l) * cout + co + 1] += lb[l];
                }
            }
        }
    }
}

INLINE TARGET void weight_all(const float *x, const long cin, const float *dy, const long cout, float *dW, float *dB,
                            const int32_t *nb, long taps, long n, long V, const int32_t *subset, long m) {
    for (long b = 0; b < n; b++) {
        const float *xb = x + b * V * cin, *dyb = dy + b * V * cout;
        // Bias: the sum of dy over all sites, four partial sums per block.
        for (long c0 = 0; c0 + 8 <= cout; c0 += 8) {
            __m256 s[4];
            for (int g = 0; g < 4; g++) s[g] = _mm256_setzero_ps();
            long v = 0;
            for (; v + 4 <= V; v += 4)
                for (int g = 0; g < 4; g++) s[g] = _mm256_add_ps(s[g], _mm256_loadu_ps(dyb + (v + g) * cout + c0));
            for (; v < V; v++) s[0] = _mm256_add_ps(s[0], _mm256_loadu_ps(dyb + v * cout + c0));
            const __m256 t = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
            _mm256_storeu_ps(dB + c0, _mm256_add_ps(_mm256_loadu_ps(dB + c0), t));
        }
        for (long co = cout / 8 * 8; co < cout; co++) {
            float s = 0;
            for (long v = 0; v < V; v++) s += dyb[v * cout + co];
            dB[co] += s;
        }
        if (cout >= 8) weight_blocks(xb, cin, dyb, cout, dW, nb, taps, V);
        if (cout % 8 != 0) weight_leftover(xb, cin, dyb, cout, dW, nb, taps, V, subset, m);
    }
}

static TARGET void weight_avx2(const float *x, long cin, const float *dy, long cout, float *dW, float *dB,
                             const int32_t *nb, long taps, long n, long V, const int32_t *subset, long m) {
#define CASE(CI, CO)                                                      \
    if (cin == CI && cout == CO) {                                        \
        weight_all(x, CI, dy, CO, dW, dB, nb, taps, n, V, subset, m);     \
        return;                                                           \
    }
    CASE(1, 8)
    CASE(8, 8)
    CASE(8, 2)
    CASE(2, 8)
#undef CASE
    weight_all(x, cin, dy, cout, dW, dB, nb, taps, n, V, subset, m);
}

int gf_conv_apply_f32(const float *x, long cin, float *y, long cout, const float *W, const float *bias,
                      int accumulate, const int32_t *nb, long taps, long n, long V, long side,
                      const int32_t *subset, long m,
                      const int32_t *tapList, long tapN, int leaky, float slope, float *transposedScratch) {
    if (!gf_cpu_has_avx2_fma()) return 0;
    if (cout % 8 != 0 && (cin % 8 != 0 || !transposedScratch)) return 0;
    if (cout % 8 != 0) {
        // Leftover channels read the weights as [co][t][ci], ci contiguous.
        for (long co = cout / 8 * 8; co < cout; co++)
            for (long t = 0; t < taps; t++)
                for (long ci = 0; ci < cin; ci++)
                    transposedScratch[(co * taps + t) * cin + ci] = W[(t * cin + ci) * cout + co];
    }
    apply_avx2(x, cin, y, cout, W, bias, accumulate, nb, taps, n, V, side, subset, m, tapList, tapN, leaky, slope,
               transposedScratch);
    return 1;
}

int gf_conv_weight_gradient_f32(const float *x, long cin, const float *dy, long cout, float *dW, float *dB,
                                const int32_t *nb, long taps, long n, long V, const int32_t *subset, long m) {
    if (!gf_cpu_has_avx2_fma() || (cout % 8 != 0 && cin % 8 != 0)) return 0;
    weight_avx2(x, cin, dy, cout, dW, dB, nb, taps, n, V, subset, m);
    return 1;
}

#else

int gf_conv_apply_f32(const float *x, long cin, float *y, long cout, const float *W, const float *bias,
                      int accumulate, const int32_t *nb, long taps, long n, long V, long side,
                      const int32_t *subset, long m,
                      const int32_t *tapList, long tapN, int leaky, float slope, float *transposedScratch) {
    return 0;
}

int gf_conv_weight_gradient_f32(const float *x, long cin, const float *dy, long cout, float *dW, float *dB,
                                const int32_t *nb, long taps, long n, long V, const int32_t *subset, long m) {
    return 0;
}

#endif

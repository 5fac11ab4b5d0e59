import Numerics

/// A mixed-radix fast Fourier transform of length n (any n >= 1) whose
/// elements are rows of M complex values: out_k = sum_j in_j e^(sign 2 pi i jk/n),
/// row by row. Stockham's self-sorting form (no bit reversal): each stage
/// reads one buffer and writes the other.
///
/// Rows rather than single numbers because every line of a lattice axis is
/// transformed alike: with the lines side by side in a row, the innermost loop
/// runs over them and vectorises, whatever the axis' stride. n is split into
/// radices 4, 2, 3, 5, then any remaining prime, done as a dense radix-r
/// butterfly (8r flops per value and stage), so every L works; a large prime
/// factor costs what the dense transform does.
struct StockhamFFT<T: Real & BinaryFloatingPoint> {
    /// One stage of radix r: with m = len/r and s the product of the radices
    /// before it, element q + s(rp + j) of the output is
    /// sum_k c[p][j][k] in[q + s(p + km)], where c = e^(sign 2 pi i jk/r) e^(sign 2 pi i jp/len).
    struct Stage {
        let radix: Int
        let m: Int
        let stride: Int
        /// cos and sin of the combined factor's angle for sign = +1, [m][r][r].
        let cos: [T]
        let sin: [T]
    }

    /// The transform's length.
    let n: Int
    let stages: [Stage]

    init(length n: Int) {
        precondition(n >= 1)
        self.n = n
        var radices: [Int] = []
        var rest = n
        for r in [4, 2, 3, 5] {
            while rest % r == 0 {
                radices.append(r)
                rest /= r
            }
        }
        var f = 7
        while rest > 1 {
            while rest % f == 0 {
                radices.append(f)
                rest /= f
            }
            f += 2
        }
        var stages: [Stage] = []
        var len = n, stride = 1
        for r in radices {
            let m = len / r
            var c = [T](), s = [T]()
            c.reserveCapacity(m * r * r)
            s.reserveCapacity(m * r * r)
            for p in 0..<m {
                for j in 0..<r {
                    for k in 0..<r {
                        // Reduce the angle's numerator exactly before rounding it.
                        let num = (j * k * m + j * p) % len
                        let angle = 2 * Double.pi * Double(num) / Double(len)
                        c.append(T(Double.cos(angle)))
                        s.append(T(Double.sin(angle)))
                    }
                }
            }
            stages.append(Stage(radix: r, m: m, stride: stride, cos: c, sin: s))
            len = m
            stride *= r
        }
        self.stages = stages
    }

    /// Transforms the n rows of M values in (re, im), [n][M] each, using
    /// (workRe, workIm) of the same size; returns true when the result is in
    /// the work buffers, false when it is back in (re, im).
    func transform(re: UnsafeMutablePointer<T>, im: UnsafeMutablePointer<T>,
                   workRe: UnsafeMutablePointer<T>, workIm: UnsafeMutablePointer<T>,
                   rowLength M: Int, sign: T) -> Bool {
        var xr = re, xi = im, yr = workRe, yi = workIm
        for stage in stages {
            let r = stage.radix, m = stage.m, s = stage.stride
            stage.cos.withUnsafeBufferPointer { cb in
                stage.sin.withUnsafeBufferPointer { sb in
                    for p in 0..<m {
                        for q in 0..<s {
                            for j in 0..<r {
                                let out = (q + s * (r * p + j)) * M
                                let outR = yr + out, outI = yi + out
                                let table = (p * r + j) * r
                                for k in 0..<r {
                                    let c = cb[table + k], sn = sign * sb[table + k]
                                    let src = (q + s * (p + k * m)) * M
                                    let inR = xr + src, inI = xi + src
                                    if k == 0 {
                                        for i in 0..<M {
                                            outR[i] = c * inR[i] - sn * inI[i]
                                            outI[i] = c * inI[i] + sn * inR[i]
                                        }
                                    } else {
                                        for i in 0..<M {
                                            outR[i] += c * inR[i] - sn * inI[i]
                                            outI[i] += c * inI[i] + sn * inR[i]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            swap(&xr, &yr)
            swap(&xi, &yi)
        }
        return xr != re
    }
}

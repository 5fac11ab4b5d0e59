import Numerics

/// The discrete Fourier transform on (Z/LZ)^d, F(p) = sum_x f(x) e^(-2 pi i p.x/L),
/// and its inverse f(x) = (1/V) sum_p F(p) e^(+2 pi i p.x/L), in place on split
/// real and imaginary arrays of V values numbered as the lattice's sites
/// (momentum p is numbered as the site with coordinates p).
///
/// One axis at a time: the lines along the axis are gathered side by side
/// into rows and transformed together by a mixed-radix FFT (`StockhamFFT`),
/// so every L works and the innermost loops vectorise over the lines.
public struct LatticeDFT<T: Real & BinaryFloatingPoint> {
    /// The lattice transformed.
    public let lattice: Lattice
    let fft: StockhamFFT<T>

    /// The transform on `lattice`.
    public init(lattice: Lattice) {
        self.lattice = lattice
        fft = StockhamFFT(length: lattice.L)
    }

    /// (re, im) <- F, the transform of (re, im): `count` fields of V values each, side by side.
    public func forward(re: UnsafeMutablePointer<T>, im: UnsafeMutablePointer<T>, count: Int = 1) {
        transform(re, im, count: count, sign: -1)
    }

    /// (re, im) <- f, the inverse transform of (re, im), 1/V included (`count` fields).
    public func inverse(re: UnsafeMutablePointer<T>, im: UnsafeMutablePointer<T>, count: Int = 1) {
        transform(re, im, count: count, sign: 1)
        let scale = 1 / T(lattice.volume)
        for v in 0..<(lattice.volume * count) {
            re[v] *= scale
            im[v] *= scale
        }
    }

    /// field <- F^-1[symbol F field] for a real field and a real symbol ([V]
    /// values each): a linear map diagonal in momentum space. `im` is V values of scratch.
    public func multiply(_ field: UnsafeMutablePointer<T>, bySymbol symbol: UnsafePointer<T>, scratch im: UnsafeMutablePointer<T>) {
        let V = lattice.volume
        im.initialize(repeating: 0, count: V)
        forward(re: field, im: im)
        for p in 0..<V {
            field[p] *= symbol[p]
            im[p] *= symbol[p]
        }
        inverse(re: field, im: im)
    }

    /// Every line along every axis of `count` fields: out_k = sum_j in_j e^(sign 2 pi i jk/L).
    ///
    /// Site a + j s + b s L (s = strides[mu], a < s) of field f is element j of
    /// line (f, a + b s); the lines are gathered into rows [j][line], count V/L
    /// values each, so that one FFT call transforms every field (the arithmetic
    /// per line is the same whatever the count: results do not depend on it).
    func transform(_ re: UnsafeMutablePointer<T>, _ im: UnsafeMutablePointer<T>, count: Int, sign: T) {
        let L = lattice.L, V = lattice.volume, M = V / L, W = M * count
        guard L > 1, count > 0 else { return }
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * V * count) { buffer in
            let rowRe = buffer.baseAddress!, rowIm = rowRe + V * count, workRe = rowIm + V * count, workIm = workRe + V * count
            for mu in 0..<lattice.d {
                let s = lattice.strides[mu], blocks = M / s
                for f in 0..<count {
                    for j in 0..<L {
                        for b in 0..<blocks {
                            let site = f * V + j * s + b * s * L, row = j * W + f * M + b * s
                            (rowRe + row).update(from: re + site, count: s)
                            (rowIm + row).update(from: im + site, count: s)
                        }
                    }
                }
                let inWork = fft.transform(re: rowRe, im: rowIm, workRe: workRe, workIm: workIm, rowLength: W, sign: sign)
                let outRe = inWork ? workRe : rowRe, outIm = inWork ? workIm : rowIm
                for f in 0..<count {
                    for j in 0..<L {
                        for b in 0..<blocks {
                            let site = f * V + j * s + b * s * L, row = j * W + f * M + b * s
                            (re + site).update(from: outRe + row, count: s)
                            (im + site).update(from: outIm + row, count: s)
                        }
                    }
                }
            }
        }
    }
}

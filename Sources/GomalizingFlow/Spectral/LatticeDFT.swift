import Numerics

/// The discrete Fourier transform on (Z/LZ)^d, F(p) = sum_x f(x) e^(-2 pi i p.x/L),
/// and its inverse f(x) = (1/V) sum_p F(p) e^(+2 pi i p.x/L), in place on split
/// real and imaginary arrays of V values numbered as the lattice's sites
/// (momentum p is numbered as the site with coordinates p).
///
/// One axis at a time, a dense L-point DFT per line: about 8L flops per value
/// and axis. It is exact for every L (no radix restriction), the reference a
/// faster transform is tested against, and fast enough for small lattices.
public struct LatticeDFT<T: Real & BinaryFloatingPoint> {
    /// The lattice transformed.
    public let lattice: Lattice
    /// cos and sin of 2 pi k/L, k = 0..<L, rounded from Double.
    let cosTable: [T]
    let sinTable: [T]

    /// The transform on `lattice`.
    public init(lattice: Lattice) {
        self.lattice = lattice
        let L = lattice.L
        cosTable = (0..<L).map { T(Double.cos(2 * Double.pi * Double($0) / Double(L))) }
        sinTable = (0..<L).map { T(Double.sin(2 * Double.pi * Double($0) / Double(L))) }
    }

    /// (re, im) <- F, the transform of (re, im).
    public func forward(re: UnsafeMutablePointer<T>, im: UnsafeMutablePointer<T>) {
        transform(re, im, sign: -1)
    }

    /// (re, im) <- f, the inverse transform of (re, im), 1/V included.
    public func inverse(re: UnsafeMutablePointer<T>, im: UnsafeMutablePointer<T>) {
        transform(re, im, sign: 1)
        let scale = 1 / T(lattice.volume)
        for v in 0..<lattice.volume {
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

    /// Every line along every axis: out_k = sum_j in_j e^(sign 2 pi i jk/L).
    func transform(_ re: UnsafeMutablePointer<T>, _ im: UnsafeMutablePointer<T>, sign: T) {
        let L = lattice.L, V = lattice.volume
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * L) { buffer in
            let inRe = buffer.baseAddress!, inIm = inRe + L, outRe = inIm + L, outIm = outRe + L
            for mu in 0..<lattice.d {
                let s = lattice.strides[mu]
                // A line starts at every site whose coordinate mu is 0.
                for start in 0..<V where (start / s) % L == 0 {
                    for j in 0..<L {
                        inRe[j] = re[start + j * s]
                        inIm[j] = im[start + j * s]
                    }
                    for k in 0..<L {
                        var ar: T = 0, ai: T = 0
                        var t = 0  // jk mod L
                        for j in 0..<L {
                            let c = cosTable[t], sn = sign * sinTable[t]
                            ar += inRe[j] * c - inIm[j] * sn
                            ai += inRe[j] * sn + inIm[j] * c
                            t += k
                            if t >= L { t -= L }
                        }
                        outRe[k] = ar
                        outIm[k] = ai
                    }
                    for k in 0..<L {
                        re[start + k * s] = outRe[k]
                        im[start + k * s] = outIm[k]
                    }
                }
            }
        }
    }
}

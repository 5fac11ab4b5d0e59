import Numerics

/// v(x) = sum_r K(r) f(x + r) on (Z/LZ)^d with the kernel tied over
/// `DisplacementOrbits`, so that K(r) = K(-r) (this correlation is also a
/// convolution) and v is equivariant under translations and the lattice's
/// rotations and reflections. Done in Fourier space, v^(p) = K^(p) f^(p), with
/// the real symbol K^(p) = sum_r K(r) cos(2 pi p.r/L), computed once per
/// parameter update and shared by every configuration.
///
/// `apply` and `pullback` are the pair of a ChainRules rrule: the map is linear
/// and self-adjoint in f, so its pullback in f is itself; in the weights it is
/// the correlation of the cotangent with f, folded onto the orbits.
public struct SymmetricConvolution<T: Real & BinaryFloatingPoint> {
    /// The orbits the kernel is tied over: one weight each.
    public let orbits: DisplacementOrbits
    /// The transform the products are done in.
    public let dft: LatticeDFT<T>

    /// The convolution on `lattice`.
    public init(lattice: Lattice) {
        orbits = DisplacementOrbits(lattice: lattice)
        dft = LatticeDFT(lattice: lattice)
    }

    /// Weights of a kernel: one per orbit.
    public var weightCount: Int { orbits.count }

    /// The symbol K^(p) of the kernel with orbit weights `weights` ([V] values written).
    public func symbol(_ weights: UnsafePointer<T>, into symbol: UnsafeMutablePointer<T>) {
        let V = orbits.lattice.volume
        orbits.unfold(weights, into: symbol)
        withUnsafeTemporaryAllocation(of: T.self, capacity: V) { im in
            im.initialize(repeating: 0)
            // The imaginary part vanishes (to rounding): K is even.
            dft.forward(re: symbol, im: im.baseAddress!)
        }
    }

    /// out = K * field for one configuration, given K's `symbol`.
    public func apply(symbol: UnsafePointer<T>, _ field: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        let V = orbits.lattice.volume
        withUnsafeTemporaryAllocation(of: T.self, capacity: V) { im in
            out.update(from: field, count: V)
            dft.multiply(out, bySymbol: symbol, scratch: im.baseAddress!)
        }
    }

    /// The pullback of `apply` at `field` with cotangent `dOut`:
    /// dField += K * dOut and dWeights[o] += sum over r in orbit o of
    /// sum_x dOut(x) field(x + r).
    public func pullback(symbol: UnsafePointer<T>, field: UnsafePointer<T>, dOut: UnsafePointer<T>,
                         dField: UnsafeMutablePointer<T>, dWeights: UnsafeMutablePointer<T>) {
        let V = orbits.lattice.volume
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * V) { buffer in
            let dr = buffer.baseAddress!, di = dr + V, fr = di + V, fi = fr + V
            apply(symbol: symbol, dOut, into: dr)
            for v in 0..<V { dField[v] += dr[v] }
            // Correlation c(r) = sum_x dOut(x) f(x + r): c^(p) = conj(D^(p)) F^(p) / V.
            dr.update(from: dOut, count: V)
            fr.update(from: field, count: V)
            di.initialize(repeating: 0, count: V)
            fi.initialize(repeating: 0, count: V)
            dft.forward(re: dr, im: di)
            dft.forward(re: fr, im: fi)
            for p in 0..<V {
                let re = dr[p] * fr[p] + di[p] * fi[p]
                let im = dr[p] * fi[p] - di[p] * fr[p]
                dr[p] = re
                di[p] = im
            }
            dft.inverse(re: dr, im: di)
            orbits.fold(UnsafePointer(dr), into: dWeights)
        }
    }
}

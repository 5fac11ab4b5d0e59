import Foundation
import Numerics

/// A lattice-wide additive shear after a coupling: every active site x moves by
///
///   y_x = x_x + sum_c sum_r K_c(r) f_c(x_{x+r}),   f_0(phi) = phi,  f_c(phi) = phi / sqrt(1 + c^2 phi^2),
///
/// where only frozen sites are read (the features are masked to them) and
/// only active sites written, so the Jacobian is unit triangular: log|det| = 0
/// exactly, and the inverse subtracts the same term. The kernels are tied over
/// the orbits of displacements under the lattice's rotations and reflections
/// (`DisplacementOrbits`), span the whole lattice, and start at zero (the
/// identity). The features are odd, so the shear is too (Z2); it is
/// equivariant under rotations, reflections and the translations that keep the
/// checkerboard. This is the off-site part of the vector field of Gerdes et al.
/// (arXiv:2207.00283) as one exact step (docs/design/second-model-family.md).
///
/// Done in momentum space: y^ = sum_c K^_c F_c with the real symbols
/// K^_c(p) = sum_o W_oc B(o, p), B(o, p) = sum over r in orbit o of cos(p.r),
/// computed once per pass (for a chunk of configurations); the table B is
/// built once and shared by the shears of every coupling (`init(sharing:offset:)`). `forward` pairs with `pullback`,
/// `inverse` with `inverseCotangent`.
public struct OrbitShear<T: FlowScalar> {
    /// The displacement orbits of the lattice.
    public let orbits: DisplacementOrbits
    /// The orbits that carry a weight: those joining sites of opposite
    /// checkerboard parity (odd |r|_1) for even L, every orbit but r = 0 for odd L.
    public let weighted: [Int]
    /// C: features per site (phi, then C - 1 bounded odd functions of it).
    public let features: Int
    /// Start of the weights, [C][weighted.count], in the parameter vector.
    public let offset: Int
    /// B(o, p) for the weighted orbits: [weighted.count][V].
    let basis: [T]
    let dft: LatticeDFT<T>

    public init(orbits: DisplacementOrbits, features: Int, offset: Int) {
        precondition(features >= 1)
        let lattice = orbits.lattice
        self.orbits = orbits
        self.features = features
        self.offset = offset
        let weighted = OrbitShear.weightedOrbits(orbits)
        self.weighted = weighted
        let V = lattice.volume
        var slot = [Int](repeating: -1, count: orbits.count)
        for (k, o) in weighted.enumerated() { slot[o] = k }
        var basis = [Double](repeating: 0, count: weighted.count * V)
        let coords = (0..<V).map { lattice.coordinates($0) }
        for r in 0..<V where slot[orbits.orbitOf[r]] >= 0 {
            let row = slot[orbits.orbitOf[r]] * V
            for p in 0..<V {
                var phase = 0
                for mu in 0..<lattice.d { phase += coords[p][mu] * coords[r][mu] }
                basis[row + p] += Foundation.cos(2 * Double.pi * Double(phase % lattice.L) / Double(lattice.L))
            }
        }
        self.basis = basis.map { T($0) }
        dft = LatticeDFT(lattice: lattice)
    }

    /// The same shear structure (orbits, features, the table B, shared, not
    /// copied) with its weights at `offset`: one table serves every coupling.
    public init(sharing other: OrbitShear, offset: Int) {
        orbits = other.orbits
        weighted = other.weighted
        features = other.features
        basis = other.basis
        dft = other.dft
        self.offset = offset
    }

    /// The number of weighted orbits on (Z/LZ)^d without building them (in
    /// Double: no overflow for a bogus L): multisets of d values in 0...L/2
    /// with an odd sum for even L, all of them but {0, ..., 0} for odd L.
    public static func weightedCount(L: Int, d: Int) -> Double {
        var ways = [[Double]](repeating: [0, 0], count: d + 1)
        ways[0][0] = 1
        for v in 0...(L / 2) {
            for k in Swift.stride(from: 1, through: d, by: 1) {
                for parity in 0..<2 { ways[k][parity] += ways[k - 1][parity ^ (v & 1)] }
            }
        }
        return L % 2 == 0 ? ways[d][1] : ways[d][0] + ways[d][1] - 1
    }

    /// The orbits a shear on `orbits`' lattice has weights for.
    public static func weightedOrbits(_ orbits: DisplacementOrbits) -> [Int] {
        let evenL = orbits.lattice.L % 2 == 0
        return (1..<orbits.count).filter { !evenL || orbits.isOdd($0) }
    }

    /// C times the weighted orbits.
    public var parameterCount: Int { features * weighted.count }

    /// Feature c of one value and its derivative.
    @inline(__always)
    static func feature(_ c: Int, _ x: T) -> (value: T, slope: T) {
        if c == 0 { return (x, 1) }
        let w2 = T(c * c)
        let s = 1 / (1 + w2 * x * x).squareRoot()
        return (x * s, s * s * s)
    }

    /// The symbols K^_c(p), [C][V], of the current weights.
    public func symbols(_ params: UnsafePointer<T>) -> [T] {
        let V = orbits.lattice.volume, n = weighted.count
        var out = [T](repeating: 0, count: features * V)
        basis.withUnsafeBufferPointer { b in
            for c in 0..<features {
                for k in 0..<n {
                    let w = params[offset + c * n + k]
                    if w == 0 { continue }
                    for p in 0..<V { out[c * V + p] += w * b[k * V + p] }
                }
            }
        }
        return out
    }

    /// The transforms of the frozen-masked features of n configurations:
    /// (fr, fi)[(b C + c) V + p] = F_{b,c}(p), one batched transform.
    func featureTransforms(_ x: UnsafePointer<T>, n: Int, frozen: UnsafePointer<Bool>, re fr: UnsafeMutablePointer<T>,
                           im fi: UnsafeMutablePointer<T>) {
        let V = orbits.lattice.volume, C = features
        for b in 0..<n {
            for c in 0..<C {
                let out = fr + (b * C + c) * V, xb = x + b * V
                for v in 0..<V { out[v] = frozen[v] ? OrbitShear.feature(c, xb[v]).value : 0 }
            }
        }
        fi.initialize(repeating: 0, count: n * C * V)
        dft.forward(re: fr, im: fi, count: n * C)
    }

    /// Adds (sign +1) or subtracts (-1) the shear on the active sites of n
    /// configurations in place; `source` holds the frozen sites read (it may be `field`).
    func apply(_ params: UnsafePointer<T>, sign: T, source: UnsafePointer<T>, field: UnsafeMutablePointer<T>, n: Int,
               frozen: [Bool]) {
        let V = orbits.lattice.volume, C = features
        let k = symbols(params)
        k.withUnsafeBufferPointer { kb in
            frozen.withUnsafeBufferPointer { fz in
                let count = 2 * n * V * (C + 1)
                let buffer = UnsafeMutablePointer<T>.allocate(capacity: count)
                defer { buffer.deallocate() }
                let fr = buffer, fi = fr + n * C * V, gr = fi + n * C * V, gi = gr + n * V
                featureTransforms(source, n: n, frozen: fz.baseAddress!, re: fr, im: fi)
                gr.initialize(repeating: 0, count: 2 * n * V)
                for b in 0..<n {
                    for c in 0..<C {
                        let kc = kb.baseAddress! + c * V, f = (b * C + c) * V, g = b * V
                        for p in 0..<V {
                            gr[g + p] += kc[p] * fr[f + p]
                            gi[g + p] += kc[p] * fi[f + p]
                        }
                    }
                }
                dft.inverse(re: gr, im: gi, count: n)
                for b in 0..<n {
                    let out = field + b * V, shift = gr + b * V
                    for v in 0..<V where !fz[v] { out[v] += sign * shift[v] }
                }
            }
        }
    }

    /// y = x + shear on active sites, in place (`field` holds the coupling's
    /// output, whose frozen sites are its input's). log|det| = 0.
    public func forward(_ params: UnsafePointer<T>, _ field: UnsafeMutablePointer<T>, n: Int, frozen: [Bool]) {
        apply(params, sign: 1, source: field, field: field, n: n, frozen: frozen)
    }

    /// x = y - shear on active sites, in place.
    public func inverse(_ params: UnsafePointer<T>, _ field: UnsafeMutablePointer<T>, n: Int, frozen: [Bool]) {
        apply(params, sign: -1, source: field, field: field, n: n, frozen: frozen)
    }

    /// (K_c * (active-masked g))(u) f_c'(x_u), summed over c, added with `sign`
    /// to g on the frozen sites: the transpose of the shear's Jacobian.
    /// With `grads`, also dL/dW: (1/V) sum_p B(o, p) Re(conj(G^(p)) F_c(p)), G the active-masked g.
    func transpose(_ params: UnsafePointer<T>, sign: T, x: UnsafePointer<T>, g: UnsafeMutablePointer<T>, n: Int, frozen: [Bool],
                   grads: UnsafeMutablePointer<T>?) {
        let V = orbits.lattice.volume, C = features, nw = weighted.count
        let k = symbols(params)
        var perMomentum = [T](repeating: 0, count: grads == nil ? 0 : C * V)
        k.withUnsafeBufferPointer { kb in
            frozen.withUnsafeBufferPointer { fz in
                perMomentum.withUnsafeMutableBufferPointer { pm in
                    let count = 4 * n * V + (grads == nil ? 0 : 2 * n * C * V)
                    let buffer = UnsafeMutablePointer<T>.allocate(capacity: count)
                    defer { buffer.deallocate() }
                    let hr = buffer, hi = hr + n * V, tr = hi + n * V, ti = tr + n * V
                    for b in 0..<n {
                        let gb = g + b * V, h = hr + b * V
                        for v in 0..<V { h[v] = fz[v] ? 0 : gb[v] }
                    }
                    hi.initialize(repeating: 0, count: n * V)
                    dft.forward(re: hr, im: hi, count: n)
                    for c in 0..<C {
                        let kc = kb.baseAddress! + c * V
                        for b in 0..<n {
                            for p in 0..<V {
                                tr[b * V + p] = kc[p] * hr[b * V + p]
                                ti[b * V + p] = kc[p] * hi[b * V + p]
                            }
                        }
                        dft.inverse(re: tr, im: ti, count: n)
                        for b in 0..<n {
                            let gb = g + b * V, xb = x + b * V, t = tr + b * V
                            for v in 0..<V where fz[v] { gb[v] += sign * OrbitShear.feature(c, xb[v]).slope * t[v] }
                        }
                    }
                    guard grads != nil else { return }
                    let fr = ti + n * V, fi = fr + n * C * V
                    featureTransforms(x, n: n, frozen: fz.baseAddress!, re: fr, im: fi)
                    for b in 0..<n {
                        for c in 0..<C {
                            let acc = pm.baseAddress! + c * V, f = (b * C + c) * V, h = b * V
                            for p in 0..<V { acc[p] += hr[h + p] * fr[f + p] + hi[h + p] * fi[f + p] }
                        }
                    }
                }
            }
        }
        guard let grads else { return }
        let scale = 1 / T(V)
        basis.withUnsafeBufferPointer { bb in
            for c in 0..<C {
                for j in 0..<nw {
                    var s: T = 0
                    for p in 0..<V { s += bb[j * V + p] * perMomentum[c * V + p] }
                    grads[offset + c * nw + j] += s * scale
                }
            }
        }
    }

    /// The pullback of `forward` at its input x (whose frozen sites are those
    /// read): `g` holds dL/dy and becomes dL/dx; dL/dW is added to `grads`.
    public func pullback(_ params: UnsafePointer<T>, x: UnsafePointer<T>, g: UnsafeMutablePointer<T>, n: Int, frozen: [Bool],
                         grads: UnsafeMutablePointer<T>) {
        transpose(params, sign: 1, x: x, g: g, n: n, frozen: frozen, grads: grads)
    }

    /// Through the inverse x = y - shear(y): `g` holds dL/dx and becomes dL/dy
    /// (the log-det is 0). `y`'s frozen sites are the ones read.
    public func inverseCotangent(_ params: UnsafePointer<T>, y: UnsafePointer<T>, g: UnsafeMutablePointer<T>, n: Int, frozen: [Bool]) {
        transpose(params, sign: -1, x: y, g: g, n: n, frozen: frozen, grads: nil)
    }
}

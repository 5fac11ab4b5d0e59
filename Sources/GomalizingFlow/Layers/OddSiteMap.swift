import Foundation
import Numerics

/// One monotone odd map applied to every site alike, y = g(x) with
///
///   g(x) = e^alpha [x + sum_a kappa_a psi_a(x)],   psi_a(x) = x / sqrt(1 + w_a^2 x^2),
///   kappa = r / sqrt(1 + A |r|^2),
///
/// so that sum_a |kappa_a| < 1 and, as 0 < psi_a' <= 1, g' > 0: g is a
/// bijection of the real line. It is odd (Z2), and the same map at every site
/// (translations, rotations, reflections). log|det| = V alpha + sum_x log h'(x_x),
/// h = g e^-alpha. Trainable: alpha, r and the widths w (A each).
///
/// Why: an affine coupling is Gaussian given the frozen sites, while phi^4's
/// conditional density is quartic (at m^2 = -2d the site's quadratic term
/// vanishes). A site-wise odd map bends each coupling's output towards that
/// shape at O(V A) cost, where a spline coupling pays for 3K - 1 net outputs per site.
/// psi is rational (one square root), not a sine: it vectorises without libm.
/// The passes run over eight sites at a time (a configuration is padded to a
/// multiple of 8 in scratch); log|det| takes one log per 16 sites, of a product in Double.
///
/// `forward` pairs with `pullback`, `inverse` with `inverseCotangent`, as in a
/// ChainRules rrule. Fields are [n][V].
public struct OddSiteMap<T: FlowScalar> {
    /// A: the number of psi terms.
    public let features: Int
    /// Start of (alpha, r[A], w[A]) in the parameter vector.
    public let offset: Int

    public init(features: Int, offset: Int) {
        precondition(features >= 1)
        self.features = features
        self.offset = offset
    }

    /// 2A + 1: alpha, r and w.
    public var parameterCount: Int { 2 * features + 1 }

    /// Values at initialisation, the identity map: alpha = 0, r = 0, widths
    /// w_a = 2a/A (scales 1/w from A/2 down to 1/2, where phi's sites live).
    public static func initialParameters(features A: Int) -> [Double] {
        [0] + [Double](repeating: 0, count: A) + (1...A).map { 2 * Double($0) / Double(A) }
    }

    /// The map's constants for one set of parameters.
    struct Coefficients {
        var scale: T
        var alpha: T
        var kappa: [T]
        var w2: [T]
        var norm: T  // sqrt(1 + A |r|^2)
    }

    func coefficients(_ params: UnsafePointer<T>) -> Coefficients {
        let A = features, p = params + offset
        var r2: T = 0
        for a in 0..<A { r2 += p[1 + a] * p[1 + a] }
        let norm = (1 + T(A) * r2).squareRoot()
        return Coefficients(scale: T.exp(p[0]), alpha: p[0], kappa: (0..<A).map { p[1 + $0] / norm },
                            w2: (0..<A).map { p[1 + A + $0] * p[1 + A + $0] }, norm: norm)
    }

    /// h(x) - x, h'(x) and h''(x) at one site.
    @inline(__always)
    static func terms(_ x: T, _ c: Coefficients) -> (shift: T, slope: T, curvature: T) {
        var shift: T = 0, slope: T = 1, curvature: T = 0
        for a in 0..<c.kappa.count {
            let s = 1 / (1 + c.w2[a] * x * x).squareRoot()
            let s3 = s * s * s
            shift += c.kappa[a] * x * s
            slope += c.kappa[a] * s3
            curvature -= 3 * c.kappa[a] * c.w2[a] * x * s3 * s * s
        }
        return (shift, slope, curvature)
    }

    /// Eight values at p + i, unaligned.
    @inline(__always)
    static func load(_ p: UnsafePointer<T>, _ i: Int) -> SIMD8<T> { UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<T>.self) }

    @inline(__always)
    static func store(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<T>.self)
    }

    /// V rounded up to a multiple of 8: the scratch length of one configuration.
    static func padded(_ V: Int) -> Int { (V + 7) & ~7 }

    /// shift = h(x) - x, slope = h'(x) and, if given, curvature = h''(x) at the
    /// Vp sites of xs (Vp a multiple of 8).
    func evaluate(_ c: Coefficients, _ xs: UnsafePointer<T>, _ Vp: Int, shift: UnsafeMutablePointer<T>,
                  slope: UnsafeMutablePointer<T>, curvature: UnsafeMutablePointer<T>?) {
        let k = c.kappa.map { SIMD8<T>(repeating: $0) }, w2 = c.w2.map { SIMD8<T>(repeating: $0) }
        k.withUnsafeBufferPointer { k in
            w2.withUnsafeBufferPointer { w2 in
                // Sites outer, terms inner: the sums stay in registers (the same order of additions per site).
                for i in Swift.stride(from: 0, to: Vp, by: 8) {
                    let x = Self.load(xs, i)
                    var sh = SIMD8<T>.zero, sl = SIMD8<T>(repeating: 1), cu = SIMD8<T>.zero
                    for a in 0..<features {
                        let s = 1 / (1 + w2[a] * x * x).squareRoot()
                        let ks3 = k[a] * s * s * s
                        sh += k[a] * x * s
                        sl += ks3
                        cu -= 3 * w2[a] * x * ks3 * s * s
                    }
                    Self.store(sh, shift, i)
                    Self.store(sl, slope, i)
                    if let curvature { Self.store(cu, curvature, i) }
                }
            }
        }
    }

    /// sum over v < V of log slope[v]: one log per 16 sites, of their product
    /// in Double (each slope lies in (1 - K, 1 + K), K < 1: no overflow).
    static func logSum(_ slope: UnsafePointer<T>, _ V: Int) -> Double {
        var sum = 0.0, v = 0
        while v < V {
            var product = 1.0
            for u in v..<Swift.min(V, v + 16) { product *= Double(slope[u]) }
            sum += Foundation.log(product)
            v += 16
        }
        return sum
    }

    /// Copies configuration b of x into xs and zeroes the padding.
    static func gather(_ x: UnsafePointer<T>, _ b: Int, _ V: Int, into xs: UnsafeMutablePointer<T>, _ Vp: Int) {
        xs.update(from: x + b * V, count: V)
        (xs + V).initialize(repeating: 0, count: Vp - V)
    }

    /// y = g(x) for n configurations (y may be x); logJ[b] += log|det dy/dx|.
    public func forward(_ params: UnsafePointer<T>, _ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, n: Int,
                        V: Int, logJ: UnsafeMutablePointer<T>) {
        let c = coefficients(params), Vp = Self.padded(V)
        withUnsafeTemporaryAllocation(of: T.self, capacity: 3 * Vp) { buffer in
            let xs = buffer.baseAddress!, shift = xs + Vp, slope = shift + Vp
            for b in 0..<n {
                Self.gather(x, b, V, into: xs, Vp)
                evaluate(c, xs, Vp, shift: shift, slope: slope, curvature: nil)
                logJ[b] += T(Self.logSum(slope, V) + Double(V) * Double(c.alpha))
                let yb = y + b * V
                for v in 0..<V { yb[v] = c.scale * (xs[v] + shift[v]) }
            }
        }
    }

    /// x = g^-1(y) for n configurations; logJ[b] += the forward map's log|det|
    /// at x. Each site is a 1-D monotone solve: Newton's method, in Double,
    /// kept inside the bracket |h(x)| / (1 + K) <= |x| <= |h(x)| / (1 - K), K = sum |kappa|.
    public func inverse(_ params: UnsafePointer<T>, _ y: UnsafePointer<T>, into x: UnsafeMutablePointer<T>, n: Int,
                        V: Int, logJ: UnsafeMutablePointer<T>) {
        let c = coefficients(params)
        let cd = OddSiteMap<Double>.Coefficients(scale: Double(c.scale), alpha: Double(c.alpha), kappa: c.kappa.map(Double.init),
                                                 w2: c.w2.map(Double.init), norm: Double(c.norm))
        let K = cd.kappa.reduce(0) { $0 + abs($1) }
        for b in 0..<n {
            var sum = 0.0
            for v in (b * V)..<((b + 1) * V) {
                let target = Double(y[v]) / cd.scale
                let a = abs(target)
                var lo = a / (1 + K), hi = K < 1 ? a / (1 - K) : a * 2 + 1
                var u = a
                for _ in 0..<100 {
                    let t = OddSiteMap<Double>.terms(u, cd)
                    let f = u + t.shift - a
                    if f == 0 { break }
                    if f > 0 { hi = u } else { lo = u }
                    var next = u - f / t.slope
                    if !(next > lo && next < hi) { next = (lo + hi) / 2 }
                    if abs(next - u) <= 1e-15 * Swift.max(1, a) { u = next; break }
                    u = next
                }
                let xv = target < 0 ? -u : u
                x[v] = T(xv)
                sum += Foundation.log(OddSiteMap<Double>.terms(xv, cd).slope)
            }
            logJ[b] += T(sum + Double(V) * Double(c.alpha))
        }
    }

    /// The pullback of (y, logJ) = forward(x) at x: `g` holds dL/dy and
    /// becomes dL/dx; dL/d(alpha, r, w) is added to `grads` at `offset`.
    public func pullback(_ params: UnsafePointer<T>, x: UnsafePointer<T>, g: UnsafeMutablePointer<T>, dLogJ: UnsafePointer<T>,
                         n: Int, V: Int, grads: UnsafeMutablePointer<T>) {
        let c = coefficients(params), A = features, Vp = Self.padded(V)
        var dAlpha: T = 0
        var dKappa = [T](repeating: 0, count: A), dW2 = [T](repeating: 0, count: A)
        withUnsafeTemporaryAllocation(of: T.self, capacity: 5 * Vp) { buffer in
            let xs = buffer.baseAddress!, shift = xs + Vp, slope = shift + Vp, curvature = slope + Vp, gy = curvature + Vp
            for b in 0..<n {
                Self.gather(x, b, V, into: xs, Vp)
                evaluate(c, xs, Vp, shift: shift, slope: slope, curvature: curvature)
                let l = dLogJ[b], gb = g + b * V
                dAlpha += T(V) * l
                gy.initialize(repeating: 0, count: Vp)
                for v in 0..<V {
                    let d = gb[v] * c.scale
                    gy[v] = d
                    dAlpha += d * (xs[v] + shift[v])
                    gb[v] = d * slope[v] + l * curvature[v] / slope[v]
                }
                // 1/h' on the sites, 0 on the padding (which must not count).
                for v in 0..<Vp { slope[v] = v < V ? 1 / slope[v] : 0 }
                let lv = SIMD8<T>(repeating: l)
                for a in 0..<A {
                    let w2 = SIMD8<T>(repeating: c.w2[a])
                    var byKappa = SIMD8<T>.zero, byW2 = SIMD8<T>.zero
                    for i in Swift.stride(from: 0, to: Vp, by: 8) {
                        let x = Self.load(xs, i), d = Self.load(gy, i), inv = Self.load(slope, i)
                        let s = 1 / (1 + w2 * x * x).squareRoot()
                        let s3 = s * s * s
                        // psi = x s, psi' = s^3; d/d(w^2): -x^3 s^3 / 2 and -3 x^2 s^5 / 2.
                        byKappa += d * x * s + lv * s3 * inv
                        byW2 += x * x * s3 * (d * x + 3 * lv * s * s * inv)
                    }
                    dKappa[a] += byKappa.sum()
                    dW2[a] -= c.kappa[a] * byW2.sum() / 2
                }
            }
        }
        let p = params + offset, out = grads + offset
        out[0] += dAlpha
        // kappa = r / D, D = sqrt(1 + A |r|^2): dkappa_a/dr_b = delta_ab / D - A r_a r_b / D^3.
        var rDotDKappa: T = 0
        for a in 0..<A { rDotDKappa += p[1 + a] * dKappa[a] }
        for a in 0..<A {
            out[1 + a] += dKappa[a] / c.norm - T(A) * p[1 + a] * rDotDKappa / (c.norm * c.norm * c.norm)
            out[1 + A + a] += 2 * p[1 + A + a] * dW2[a]
        }
    }

    /// Through the inverse map x = g^-1(y) and its log-det -log g'(x) (with
    /// cotangent 1): `g` holds dL/dx and becomes dL/dy = (dL/dx - h''/h') / g'.
    /// `x` is the forward pass's input, the map's preimage of y.
    public func inverseCotangent(_ params: UnsafePointer<T>, x: UnsafePointer<T>, g: UnsafeMutablePointer<T>, n: Int, V: Int) {
        let c = coefficients(params), Vp = Self.padded(V)
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * Vp) { buffer in
            let xs = buffer.baseAddress!, shift = xs + Vp, slope = shift + Vp, curvature = slope + Vp
            for b in 0..<n {
                Self.gather(x, b, V, into: xs, Vp)
                evaluate(c, xs, Vp, shift: shift, slope: slope, curvature: curvature)
                let gb = g + b * V
                for v in 0..<V { gb[v] = (gb[v] - curvature[v] / slope[v]) / (c.scale * slope[v]) }
            }
        }
    }
}

import Foundation

/// One site's field given all the others, for the action of `Phi4Action`. The
/// terms of S that hold phi_x are a phi_x^2 + lam phi_x^4 - 2 h phi_x, with
/// a = m2 + 2d and h the sum of the 2d neighbours, so
///
///   p(phi | h) = exp(g(phi)) / Z(h),   g(phi) = 2 h phi - a phi^2 - lam phi^4.
///
/// The neighbours of an even site are all odd, so given the odd sites the even
/// ones are independent with these densities, and integrating them out leaves
/// the odd sites the weight prod_even Z(h_x) (`OddSiteMarginal`). This type
/// gives log Z(h) and <phi>_h = (1/2) d log Z/dh by quadrature, and exact draws.
///
/// Needs lam > 0, or lam = 0 and a > 0 (then everything is Gaussian and closed form).
public struct SiteConditional: Sendable, Equatable {
    /// Coefficient of phi^2 in the site's terms: m2 + 2d.
    public let a: Double
    /// Coefficient of phi^4.
    public let lam: Double

    /// The conditional of a site of the action with `m2` and `lam` in `d` dimensions.
    public init(m2: Double, lam: Double, d: Int) {
        self.init(a: m2 + 2 * Double(d), lam: lam)
    }

    /// The conditional with the site's coefficients `a` (of phi^2) and `lam` (of phi^4).
    public init(a: Double, lam: Double) {
        precondition(lam > 0 || (lam == 0 && a > 0), "SiteConditional needs lam > 0, or lam = 0 and a > 0")
        self.a = a
        self.lam = lam
    }

    /// g(phi) = 2 h phi - a phi^2 - lam phi^4, the log of the unnormalised density.
    @inline(__always)
    public func exponent(_ phi: Double, h: Double) -> Double {
        let p2 = phi * phi
        return 2 * h * phi - a * p2 - lam * p2 * p2
    }

    /// The real roots of g' = 2h - 2a phi - 4 lam phi^3 (lam > 0): g's critical points.
    func criticalPoints(h: Double) -> [Double] {
        SiteConditional.realRoots(p: a / (2 * lam), q: -h / (2 * lam))
    }

    /// g's critical points and the best of them, the global maximum (lam > 0):
    /// the cubic is solved once for `mode`, `support` and the envelope.
    func extrema(h: Double) -> (critical: [Double], mode: Double) {
        let critical = criticalPoints(h: h)
        return (critical, critical.max { exponent($0, h: h) < exponent($1, h: h) }!)
    }

    /// The smallest and largest g over [x0, x1], exactly: g is a quartic, so they
    /// are among the ends and g's critical points inside (`critical`, from `extrema`).
    func extremes(from x0: Double, to x1: Double, h: Double, critical: [Double]) -> (smallest: Double, largest: Double) {
        let g0 = exponent(x0, h: h), g1 = exponent(x1, h: h)
        var smallest = min(g0, g1), largest = max(g0, g1)
        for c in critical where c > x0 && c < x1 {
            let gc = exponent(c, h: h)
            smallest = min(smallest, gc)
            largest = max(largest, gc)
        }
        return (smallest, largest)
    }

    /// The global maximum of g (the density's mode): with lam > 0 the best of g's critical points.
    public func mode(h: Double) -> Double {
        if lam == 0 { return h / a }
        return extrema(h: h).mode
    }

    /// Where the density lives (lam > 0): the interval from the outermost critical
    /// points of g outwards, in steps doubling from 1/4, until g is 46 below its
    /// maximum (exp(-46) is about 1e-20); beyond the outermost critical points g
    /// falls monotonically, so the mass outside is below 1e-20 of the total.
    public func support(h: Double) -> (lo: Double, hi: Double, mode: Double, peak: Double) {
        let s = support(h: h, extrema(h: h))
        return (s.lo, s.hi, s.mode, s.peak)
    }

    /// `support(h:)` from g's extrema already found.
    func support(h: Double, _ extrema: (critical: [Double], mode: Double)) -> (lo: Double, hi: Double, mode: Double, peak: Double) {
        let (critical, m) = extrema
        let gm = exponent(m, h: h)
        func reach(from x: Double, _ direction: Double) -> Double {
            var r = 0.25
            while exponent(x + direction * r, h: h) - gm > -46 { r *= 2 }
            return x + direction * r
        }
        return (reach(from: critical.min()!, -1), reach(from: critical.max()!, 1), m, gm)
    }

    /// log Z(h) and <phi>_h. Quadrature (lam > 0): the trapezoidal rule over
    /// `support(h:)`, its panels halved until Z and <phi> change by less than 1e-14
    /// relative (for a smooth integrand that has decayed at both ends the rule
    /// converges geometrically); the integrand is taken relative to its maximum,
    /// so nothing overflows.
    public func moments(h: Double) -> (logZ: Double, mean: Double) {
        if lam == 0 {
            return (h * h / a + 0.5 * Foundation.log(Double.pi / a), h / a)
        }
        let (lo, hi, m, gm) = support(h: h)
        var n = 32
        var width = (hi - lo) / Double(n)
        // Sums over the nodes of the current rule (ends weighted 1/2; both are below e^-46).
        var s0 = 0.0, s1 = 0.0
        func add(_ phi: Double, weight: Double) {
            let f = weight * Foundation.exp(exponent(phi, h: h) - gm)
            s0 += f
            s1 += f * (phi - m)
        }
        add(lo, weight: 0.5)
        add(hi, weight: 0.5)
        for i in 1..<n { add(lo + Double(i) * width, weight: 1) }
        var z = s0 * width, first = s1 * width
        while n < (1 << 16) {
            // Halve the panels: the new nodes are the midpoints of the old ones.
            for i in 0..<n { add(lo + (Double(i) + 0.5) * width, weight: 1) }
            n *= 2
            width /= 2
            let z2 = s0 * width, first2 = s1 * width
            let converged = abs(z2 - z) <= 1e-14 * z2 && abs(first2 / z2 - first / z) <= 1e-14 * (1 + abs(m))
            z = z2
            first = first2
            if converged { break }
        }
        return (gm + Foundation.log(z), m + first / z)
    }

    /// The rejection sampler's envelope of p(phi | h) (lam > 0): `support(h:)`
    /// cut into 16 cells, on each the constant exp(max of g over the cell). g is a
    /// quartic, so that maximum is exact: the larger of the cell's ends and of
    /// g's critical points inside it. Draw a cell with probability proportional
    /// to its constant, a point uniformly in it, accept with probability
    /// exp(g - cell maximum) <= 1: exactly p(phi | h) restricted to the support
    /// (what lies outside is below 1e-20 of the mass).
    public struct Envelope: Sendable {
        public static let cells = 16
        public let lo: Double
        public let width: Double
        /// max of g over each cell.
        public let cellMaximum: [Double]
        /// Running sums of exp(cellMaximum - peak).
        let cumulative: [Double]

        init(_ site: SiteConditional, h: Double) {
            let extrema = site.extrema(h: h)
            let critical = extrema.critical
            let (lo, hi, _, peak) = site.support(h: h, extrema)
            self.lo = lo
            width = (hi - lo) / Double(Envelope.cells)
            var maxima = [Double](), sums = [Double](), total = 0.0
            for i in 0..<Envelope.cells {
                let x0 = lo + Double(i) * width, x1 = lo + Double(i + 1) * width
                let g = site.extremes(from: x0, to: x1, h: h, critical: critical).largest
                maxima.append(g)
                total += Foundation.exp(g - peak)
                sums.append(total)
            }
            cellMaximum = maxima
            cumulative = sums
        }

        /// The cell whose share of the running sum holds u in [0, total).
        func cell(_ u: Double) -> Int {
            var lower = 0, upper = cumulative.count - 1
            while lower < upper {
                let mid = (lower + upper) / 2
                if cumulative[mid] > u { upper = mid } else { lower = mid + 1 }
            }
            return lower
        }
    }

    /// The envelope `draw` uses for p(phi | h) (lam > 0).
    public func envelope(h: Double) -> Envelope { Envelope(self, h: h) }

    /// One exact draw from p(phi | h) (by rejection from `envelope(h:)` when lam > 0).
    public func draw(h: Double, using rng: inout Xoshiro256) -> Double {
        if lam == 0 {
            return h / a + SiteConditional.normal(&rng) / (2 * a).squareRoot()
        }
        let e = Envelope(self, h: h)
        let total = e.cumulative.last!
        while true {
            let i = e.cell(rng.uniform() * total)
            let phi = e.lo + (Double(i) + rng.uniform()) * e.width
            let u = 1 - rng.uniform()  // (0, 1]
            if Foundation.log(u) <= exponent(phi, h: h) - e.cellMaximum[i] { return phi }
        }
    }

    /// A standard normal deviate (Box-Muller, one of the pair).
    static func normal(_ rng: inout Xoshiro256) -> Double {
        let u1 = 1 - rng.uniform(), u2 = rng.uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// The real roots of t^3 + p t + q = 0 (one or three), each polished by two
    /// Newton steps: trigonometric form when there are three, Cardano's otherwise.
    public static func realRoots(p: Double, q: Double) -> [Double] {
        var roots: [Double]
        let disc = q * q / 4 + p * p * p / 27
        if disc < 0 {
            // Three real roots (then p < 0).
            let r = 2 * (-p / 3).squareRoot()
            let angle = Foundation.acos(max(-1, min(1, 3 * q / (p * r)))) / 3
            roots = (0..<3).map { k in r * Foundation.cos(angle - 2 * Double.pi * Double(k) / 3) }
        } else {
            let sq = disc.squareRoot()
            // The cube roots of -q/2 +- sq; the larger in magnitude first, the other from u v = -p/3 (no cancellation).
            let u = Foundation.cbrt(-q / 2 + (q <= 0 ? sq : -sq))
            roots = [u == 0 ? 0 : u - p / (3 * u)]
        }
        return roots.map { t0 in
            var t = t0
            for _ in 0..<2 {
                let f = t * t * t + p * t + q, df = 3 * t * t + p
                if df != 0 { t -= f / df }
            }
            return t
        }
    }
}

import Foundation

/// GomalizingFlow.jl's single-site "potential" prior: density proportional to
/// exp(-v(x)), v(x) = m2 x^2 + lam x^4, on [xmin, xmax], independent per site.
///
/// The normalisation Z is computed once by composite Simpson quadrature in
/// Double, doubling the panels until two estimates agree to 1e-13 relative
/// (the integrand is smooth, so the error falls as h^4; the Richardson-corrected
/// value is kept). Sampling is exact rejection from the uniform distribution
/// with the envelope exp(-(v - vmin)), vmin the minimum of v on the interval.
public struct PotentialPrior: Sendable, Equatable {
    /// Coefficient of x^2 in v.
    public let m2: Double
    /// Coefficient of x^4 in v.
    public let lam: Double
    /// Lower end of the support.
    public let xmin: Double
    /// Upper end of the support.
    public let xmax: Double
    /// min of v on [xmin, xmax]; densities are computed relative to it so that
    /// exp never overflows.
    public let vmin: Double
    /// log Z with Z = integral of exp(-v) over [xmin, xmax].
    public let logZ: Double
    /// Relative difference of the last two quadrature estimates (an error bound in practice).
    public let quadratureError: Double

    /// The prior of v = m2 x^2 + lam x^4 on [xmin, xmax] (by default [-2, 2]);
    /// computes vmin and log Z.
    public init(m2: Double, lam: Double, xmin: Double = -2, xmax: Double = 2) {
        self.m2 = m2
        self.lam = lam
        self.xmin = xmin
        self.xmax = xmax
        var candidates = [xmin, xmax]
        if xmin < 0 && 0 < xmax { candidates.append(0) }
        if lam != 0 {
            // v'(x) = 2x (m2 + 2 lam x^2) = 0
            let r = -m2 / (2 * lam)
            if r > 0 { candidates += [r.squareRoot(), -r.squareRoot()].filter { $0 > xmin && $0 < xmax } }
        }
        let v = { (x: Double) in m2 * x * x + lam * x * x * x * x }
        let vmin = candidates.map(v).min()!
        self.vmin = vmin
        let f = { (x: Double) in Foundation.exp(-(v(x) - vmin)) }
        var n = 64
        var previous = PotentialPrior.simpson(f, xmin, xmax, panels: n)
        var estimate = previous, change = Double.infinity
        while n < (1 << 22) {
            n *= 2
            let next = PotentialPrior.simpson(f, xmin, xmax, panels: n)
            change = abs(next - previous) / next
            estimate = next + (next - previous) / 15
            previous = next
            if change < 1e-13 { break }
        }
        quadratureError = change
        logZ = Foundation.log(estimate) - vmin
    }

    /// v(x) = m2 x^2 + lam x^4.
    public func potential(_ x: Double) -> Double { m2 * x * x + lam * x * x * x * x }

    /// log of the normalised density at x (-inf outside the interval, with a
    /// slack of 1e-6 of its width for draws rounded to Float).
    public func logDensity(_ x: Double) -> Double {
        let slack = 1e-6 * (xmax - xmin)
        guard x >= xmin - slack && x <= xmax + slack else { return -.infinity }
        return -potential(x) - logZ
    }

    /// Expected fraction of uniform proposals the rejection sampler accepts.
    public var samplingEfficiency: Double { Foundation.exp(logZ + vmin) / (xmax - xmin) }

    /// One exact draw.
    public func sample(_ rng: inout Xoshiro256) -> Double {
        while true {
            let x = xmin + (xmax - xmin) * rng.uniform()
            if rng.uniform() < Foundation.exp(-(potential(x) - vmin)) { return x }
        }
    }

    static func simpson(_ f: (Double) -> Double, _ a: Double, _ b: Double, panels n: Int) -> Double {
        let h = (b - a) / Double(n)
        var s = f(a) + f(b)
        for i in 1..<n { s += f(a + Double(i) * h) * (i % 2 == 1 ? 4 : 2) }
        return s * h / 3
    }

    /// Integral of the normalised density over [a, b] (a sub-interval), for tests and histograms.
    public func probability(from a: Double, to b: Double, panels: Int = 512) -> Double {
        PotentialPrior.simpson({ Foundation.exp(self.logDensity($0)) }, max(a, xmin), min(b, xmax), panels: panels)
    }
}

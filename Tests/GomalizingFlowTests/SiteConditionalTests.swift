import Foundation
import XCTest
import GomalizingFlow

/// The exact single-site conditional of phi^4 (`SiteConditional`): its normaliser
/// and mean against brute-force quadrature, and its draws against the exact CDF.
final class SiteConditionalTests: XCTestCase {
    /// (a, lam, h): the line of constant physics (a = m2 + 4 = 0), a double well
    /// (a < 0), a steep single well, a strong field, and the Gaussian case.
    let cases: [(a: Double, lam: Double, h: Double)] = [
        (0, 4.807, 0), (0, 4.807, 0.7), (0, 4.572, -3.1), (-2, 0.5, 0.05), (-2, 0.5, -1.3),
        (3, 1, 0.4), (0, 4.4, 12), (1.5, 0, 0.8),
    ]

    /// integral of phi^k exp(g(phi)) over [-12, 12] by composite Simpson with 120 000
    /// panels (a different rule and range from `moments`), relative to exp(shift).
    func bruteForce(_ c: SiteConditional, h: Double, power k: Int, shift: Double) -> Double {
        let n = 120_000, lo = -12.0, hi = 12.0, w = (hi - lo) / Double(n)
        var sum = 0.0
        for i in 0...n {
            let x = lo + Double(i) * w
            let weight: Double = i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2)
            sum += weight * pow(x, Double(k)) * exp(c.exponent(x, h: h) - shift)
        }
        return sum * w / 3
    }

    func testRealRootsOfCubics() {
        var rng = Xoshiro256(seed: 3)
        for _ in 0..<500 {
            let p = 8 * rng.uniform() - 4, q = 8 * rng.uniform() - 4
            let roots = SiteConditional.realRoots(p: p, q: q)
            let three = q * q / 4 + p * p * p / 27 < 0
            XCTAssertEqual(roots.count, three ? 3 : 1, "p \(p), q \(q)")
            for t in roots { XCTAssertEqual(t * t * t + p * t + q, 0, accuracy: 1e-12 * (1 + abs(t * t * t))) }
        }
        XCTAssertEqual(SiteConditional.realRoots(p: 0, q: 0), [0])
    }

    func testNormaliserAndMeanAgreeWithBruteForceQuadrature() {
        for c in cases {
            let site = SiteConditional(a: c.a, lam: c.lam)
            let m = site.moments(h: c.h)
            let shift = site.exponent(site.mode(h: c.h), h: c.h)
            let z = bruteForce(site, h: c.h, power: 0, shift: shift)
            XCTAssertEqual(m.logZ, shift + log(z), accuracy: 1e-11, "\(c)")
            XCTAssertEqual(m.mean, bruteForce(site, h: c.h, power: 1, shift: shift) / z, accuracy: 1e-11, "\(c)")
        }
    }

    func testMeanIsHalfTheDerivativeOfLogZ() {
        for c in cases {
            let site = SiteConditional(a: c.a, lam: c.lam)
            let eps = 1e-5
            let derivative = (site.moments(h: c.h + eps).logZ - site.moments(h: c.h - eps).logZ) / (2 * eps)
            XCTAssertEqual(site.moments(h: c.h).mean, derivative / 2, accuracy: 1e-8, "\(c)")
        }
    }

    func testSymmetryInH() {
        let site = SiteConditional(m2: -4, lam: 4.807, d: 2)
        for h in [0.3, 1.7, 5.0] {
            XCTAssertEqual(site.moments(h: h).logZ, site.moments(h: -h).logZ, accuracy: 1e-13)
            XCTAssertEqual(site.moments(h: h).mean, -site.moments(h: -h).mean, accuracy: 1e-13)
        }
        XCTAssertEqual(site.a, 0)
    }

    /// The rejection envelope bounds the density: g <= the cell's constant on a
    /// dense grid of every cell (and the constant is attained, not loose), and
    /// the sampler accepts at least 40% of its proposals (16 cells; 0.49 at the steep h = 12).
    func testEnvelopeBoundsTheDensity() {
        for c in cases where c.lam > 0 {
            let site = SiteConditional(a: c.a, lam: c.lam)
            let e = site.envelope(h: c.h)
            var covered = 0.0
            for (i, bound) in e.cellMaximum.enumerated() {
                var largest = -Double.infinity
                for k in 0...200 { largest = max(largest, site.exponent(e.lo + (Double(i) + Double(k) / 200) * e.width, h: c.h)) }
                XCTAssertLessThanOrEqual(largest, bound, "\(c), cell \(i)")
                XCTAssertGreaterThan(largest, bound - 1e-3 * (1 + abs(bound)), "\(c), cell \(i)")
                covered += e.width * exp(bound)
            }
            XCTAssertGreaterThan(exp(site.moments(h: c.h).logZ) / covered, 0.4, "acceptance: \(c)")
        }
    }

    /// Kolmogorov-Smirnov: 20 000 draws against the CDF by brute-force quadrature,
    /// sqrt(n) D below 1.95 (p = 0.001) at a fixed seed.
    func testDrawsFollowTheExactConditional() {
        var rng = Xoshiro256(seed: 11)
        for c in cases {
            let site = SiteConditional(a: c.a, lam: c.lam)
            let n = 20_000
            let draws = (0..<n).map { _ in site.draw(h: c.h, using: &rng) }
            let d = kolmogorovSmirnov(draws, site, h: c.h)
            XCTAssertLessThan(d * Double(n).squareRoot(), 1.95, "\(c)")
        }
    }

    /// The tabulated log Z (what the odd-site action uses) against the quadrature,
    /// inside and beyond the table, and its derivative against the mean.
    func testTableAgreesWithQuadrature() {
        var rng = Xoshiro256(seed: 4)
        for (m2, lam) in [(-4.0, 4.807), (-1.0, 0.5), (-4.5, 2.0)] {
            let table = SiteConditionalTable(SiteConditional(m2: m2, lam: lam, d: 2))
            XCTAssertLessThan(table.maximumError, 1e-10)
            for _ in 0..<300 {
                let h = 80 * rng.uniform() - 40
                let exact = table.conditional.moments(h: h), t = table.value(h)
                XCTAssertEqual(t.logZ, exact.logZ, accuracy: 1e-10, "h \(h)")
                XCTAssertEqual(t.derivative, 2 * exact.mean, accuracy: 1e-6, "h \(h)")
            }
        }
    }
}

/// The Kolmogorov-Smirnov distance of `draws` from p(phi | h) of `site`, its CDF
/// by the trapezoidal rule on a grid of 1e-4 over [-12, 12], interpolated linearly.
func kolmogorovSmirnov(_ draws: [Double], _ site: SiteConditional, h: Double) -> Double {
    let shift = site.exponent(site.mode(h: h), h: h)
    let lo = -12.0, w = 1e-4, count = 240_000
    var cdf = [Double](repeating: 0, count: count + 1)
    var previous = exp(site.exponent(lo, h: h) - shift)
    for i in 1...count {
        let f = exp(site.exponent(lo + Double(i) * w, h: h) - shift)
        cdf[i] = cdf[i - 1] + 0.5 * (f + previous) * w
        previous = f
    }
    let total = cdf[count]
    func F(_ x: Double) -> Double {
        let t = (x - lo) / w, i = max(0, min(count - 1, Int(t)))
        return (cdf[i] + (t - Double(i)) * (cdf[i + 1] - cdf[i])) / total
    }
    var d = 0.0
    let n = Double(draws.count)
    for (i, x) in draws.sorted().enumerated() {
        let f = F(x)
        d = max(d, abs(f - Double(i) / n), abs(f - Double(i + 1) / n))
    }
    return d
}

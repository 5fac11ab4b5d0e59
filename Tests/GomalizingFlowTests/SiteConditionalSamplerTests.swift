import Foundation
import XCTest
import GomalizingFlow

/// The tabulated exact sampler of one site's conditional (`SiteConditionalSampler`,
/// what completes the odd sites' proposals): its envelopes bound the density at
/// every h, not only at the nodes, its alias tables reproduce the cells'
/// weights, and its draws follow the exact CDF on and between the nodes, for
/// negative h and beyond the table.
final class SiteConditionalSamplerTests: XCTestCase {
    /// (a, lam): the line of constant physics at L = 20 and 64, a double well, a steep single well.
    let theories: [(a: Double, lam: Double)] = [(0, 4.807), (0, 4.398), (-2, 0.5), (3, 1)]

    /// g_h between the squeeze and the envelope on a grid of every cell, for h on
    /// nodes, half-way between them (the largest shift) and in between, of both
    /// signs; outside the support p(phi | h) is below e^-40 (the support is not
    /// cut short); and the envelope is not loose: its integral is within 30% of Z
    /// (1.1 at the line of constant physics for |h| <= 3, 1.26 at worst here).
    func testEnvelopeAndSqueezeBoundTheDensityBetweenNodes() {
        let step = 1 / Double(SiteConditionalSampler.density)
        for t in theories {
            let site = SiteConditional(a: t.a, lam: t.lam)
            let sampler = SiteConditionalSampler(site)
            XCTAssertTrue(sampler.tabulated, "\(t)")
            for node in [0, 1, 45, 46, 200, 640, 1023] {
                for shift in [0, 0.5, -0.5, 0.3, -0.49999] where Double(node) + shift >= 0 {
                    for sign in [1.0, -1.0] {
                        let h = sign * (Double(node) + shift) * step
                        var covered = 0.0, inside = 0
                        let logZ = site.moments(h: h).logZ
                        let w = 2e-4
                        for i in 0...120_000 {
                            let phi = -12 + Double(i) * w
                            let g = site.exponent(phi, h: h)
                            guard let e = sampler.envelope(h: h, phi: phi) else {
                                XCTAssertLessThan(g - logZ, -40, "\(t), h \(h), phi \(phi) outside the support")
                                continue
                            }
                            XCTAssertLessThanOrEqual(g, e.ceiling + 1e-12 * (1 + abs(g)), "\(t), h \(h), phi \(phi)")
                            XCTAssertGreaterThanOrEqual(g, e.squeeze - 1e-12 * (1 + abs(g)), "\(t), h \(h), phi \(phi)")
                            covered += w * exp(e.ceiling - logZ)
                            inside += 1
                        }
                        XCTAssertGreaterThan(inside, 1000, "\(t), h \(h)")
                        XCTAssertLessThan(covered, 1.3, "\(t), h \(h)")
                        XCTAssertGreaterThan(covered, 1 - 1e-6, "\(t), h \(h)")
                    }
                }
            }
        }
        // A very weak coupling has a support too wide for the table's bound: every draw is then the direct one.
        XCTAssertFalse(SiteConditionalSampler(SiteConditional(a: 0.001, lam: 1e-7)).tabulated)
    }

    /// Draws from the alias table come with the weights' probabilities exactly:
    /// column c gives c with probability threshold[c] and alias[c] otherwise.
    func testAliasTableReproducesTheWeights() {
        var rng = Xoshiro256(seed: 5)
        for n in [1, 2, 7, 64] {
            let weights = (0..<n).map { i in i % 5 == 3 ? 0 : exp(-30 * rng.uniform()) }
            let (threshold, alias) = SiteConditionalSampler.aliasTable(weights)
            var probability = [Double](repeating: 0, count: n)
            for c in 0..<n {
                probability[c] += threshold[c] / Double(n)
                probability[Int(alias[c])] += (1 - threshold[c]) / Double(n)
            }
            let total = weights.reduce(0, +)
            for i in 0..<n { XCTAssertEqual(probability[i], weights[i] / total, accuracy: 1e-13, "n \(n), cell \(i)") }
        }
    }

    /// Kolmogorov-Smirnov, 20 000 draws each, sqrt(n) D below 1.95 (p = 0.001):
    /// on a node, half-way between nodes, at negative h and beyond the table.
    func testDrawsFollowTheExactConditional() {
        var rng = Xoshiro256(seed: 12)
        let half = 0.5 / Double(SiteConditionalSampler.density)
        for t in theories {
            let site = SiteConditional(a: t.a, lam: t.lam)
            let sampler = SiteConditionalSampler(site)
            for h in [0, 0.7 + half, -1.3 - half, 0.05, -3.1, 16.5, -20] {
                let n = 20_000
                let draws = (0..<n).map { _ in sampler.draw(h: h, using: &rng) }
                XCTAssertLessThan(kolmogorovSmirnov(draws, site, h: h) * Double(n).squareRoot(), 1.95, "\(t), h \(h)")
            }
        }
    }

    /// The mean of many draws against the quadrature's <phi>, to 4 standard
    /// errors, at h half-way between nodes (where the envelope is raised most):
    /// a small bias of the envelope or the squeeze would show here first.
    func testMomentsOfManyDrawsBetweenNodes() {
        var rng = Xoshiro256(seed: 13)
        let site = SiteConditional(a: 0, lam: 4.807)
        let sampler = SiteConditionalSampler(site)
        for h in [0.2 + 0.5 / 64, 2.5 - 0.5 / 64] {
            let n = 400_000
            var s1 = 0.0, s2 = 0.0
            for _ in 0..<n {
                let x = sampler.draw(h: h, using: &rng)
                s1 += x
                s2 += x * x
            }
            let mean = s1 / Double(n), variance = s2 / Double(n) - mean * mean
            XCTAssertEqual(mean, site.moments(h: h).mean, accuracy: 4 * (variance / Double(n)).squareRoot(), "h \(h)")
        }
    }
}

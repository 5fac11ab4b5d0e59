import Foundation
import XCTest
import GomalizingFlow

/// The odd sites' effective action (`OddSiteMarginal`) against the integral of
/// exp(-S) over the even sites done with `Phi4Action` itself, its force against
/// finite differences, and the geometry of the covering field.
final class OddSiteMarginalTests: XCTestCase {
    let theories: [(L: Int, m2: Double, lam: Double)] = [(4, -4, 4.807), (6, -1, 0.5), (4, 1, 0), (6, -4.5, 2)]

    func randomField(_ n: Int, _ rng: inout Xoshiro256, scale: Double = 0.6) -> [Double] {
        var z = [Double](repeating: 0, count: n)
        z.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: n) }
        return z.map { $0 * scale }
    }

    /// -log of the integral of exp(-S) over the even sites, with S evaluated by
    /// Phi4Action: S is a sum of one function per even site (given the odd sites),
    /// so the integral is a product of 1-D integrals, each by Simpson's rule on [-8, 8].
    func integratedOut(_ phi: [Double], _ action: Phi4Action) -> Double {
        let lattice = action.lattice
        var base = phi
        for v in 0..<lattice.volume where lattice.parity(v) == 0 { base[v] = 0 }
        let s0 = action.action(base)
        var result = s0
        for v in 0..<lattice.volume where lattice.parity(v) == 0 {
            var trial = base
            let n = 16_000, lo = -8.0, w = 16.0 / Double(n)
            var sum = 0.0
            for i in 0...n {
                trial[v] = lo + Double(i) * w
                let weight: Double = i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2)
                sum += weight * exp(-(action.action(trial) - s0))
            }
            result -= log(sum * w / 3)
        }
        return result
    }

    func testCoveringActionIsTwiceTheIntegratedOutAction() {
        var rng = Xoshiro256(seed: 5)
        for t in theories {
            let lattice = Lattice(L: t.L, d: 2)
            let marginal = OddSiteMarginal(lattice: lattice, m2: t.m2, lam: t.lam)
            let phi = randomField(lattice.volume, &rng)
            let exact = integratedOut(phi, Phi4Action(lattice: lattice, m2: t.m2, lam: t.lam))
            let psi = marginal.covering(of: phi)
            XCTAssertEqual(marginal.action(psi) / 2, exact, accuracy: 1e-9 * (1 + abs(exact)), "\(t)")
        }
    }

    func testCoveringFieldGeometry() {
        let lattice = Lattice(L: 6, d: 2)
        let marginal = OddSiteMarginal(lattice: lattice, m2: -4, lam: 4.807)
        let phi = (0..<36).map(Double.init)
        let psi = marginal.covering(of: phi)
        var held = Set<Int>()
        for u in 0..<6 {
            for v in 0..<6 {
                let site = marginal.oddSite(u: u, v: v)
                XCTAssertEqual(lattice.parity(site), 1)
                XCTAssertEqual(psi[u * 6 + v], phi[site])
                XCTAssertEqual(psi[u * 6 + v], psi[((u + 3) % 6) * 6 + (v + 3) % 6], "the shift by (L/2, L/2)")
                held.insert(site)
                // The plaquette with upper corner (u, v) holds the even site's four neighbours.
                let even = marginal.evenSite(p: u, q: v)
                XCTAssertEqual(lattice.parity(even), 0)
                let corners = Set([(u, v), (u - 1, v), (u, v - 1), (u - 1, v - 1)].map { marginal.oddSite(u: $0.0, v: $0.1) })
                let neighbours = Set(lattice.neighbourTable().map { Int($0[even]) })
                XCTAssertEqual(corners, neighbours)
            }
        }
        XCTAssertEqual(held.count, 18, "every odd site, each twice")
    }

    func testForceIsTheGradientOfTheCoveringAction() {
        var rng = Xoshiro256(seed: 9)
        for t in theories {
            let lattice = Lattice(L: t.L, d: 2)
            let marginal = OddSiteMarginal(lattice: lattice, m2: t.m2, lam: t.lam)
            // Any field, not only covering ones: the action and force are defined on all of them.
            var psi = randomField(lattice.volume, &rng)
            var force = [Double](repeating: 0, count: lattice.volume)
            psi.withUnsafeBufferPointer { p in force.withUnsafeMutableBufferPointer { marginal.force(p.baseAddress!, into: $0.baseAddress!) } }
            for v in [0, 3, lattice.volume - 1] {
                let eps = 1e-5, x = psi[v]
                psi[v] = x + eps
                let up = marginal.action(psi)
                psi[v] = x - eps
                let down = marginal.action(psi)
                psi[v] = x
                XCTAssertEqual(force[v], (up - down) / (2 * eps), accuracy: 1e-6 * (1 + abs(force[v])), "\(t), site \(v)")
            }
        }
    }

    /// S(phi) = S_odd(phi_odd) + sum_even [log Z(h_x) - g(phi_x)] for a completed
    /// configuration, and completing keeps the odd sites.
    func testCompletedConfigurationsDecomposeTheAction() {
        var rng = Xoshiro256(seed: 2)
        for t in theories {
            let lattice = Lattice(L: t.L, d: 2)
            let marginal = OddSiteMarginal(lattice: lattice, m2: t.m2, lam: t.lam)
            let action = Phi4Action(lattice: lattice, m2: t.m2, lam: t.lam)
            let psi = marginal.covering(of: randomField(lattice.volume, &rng))
            let phi = marginal.completed(psi, using: &rng)
            XCTAssertEqual(marginal.covering(of: phi), psi)
            let table = lattice.neighbourTable()
            var evenTerms = 0.0
            for v in 0..<lattice.volume where lattice.parity(v) == 0 {
                let h = table.reduce(0.0) { $0 + phi[Int($1[v])] }
                evenTerms += marginal.conditional.moments(h: h).logZ - marginal.conditional.exponent(phi[v], h: h)
            }
            XCTAssertEqual(action.action(phi), marginal.action(psi) / 2 + evenTerms, accuracy: 1e-9 * (1 + abs(action.action(phi))), "\(t)")
        }
    }
}

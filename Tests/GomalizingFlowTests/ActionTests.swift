import GomalizingFlow
import GomalizingRun
import XCTest

final class ActionTests: XCTestCase {
    /// S written out site by site from coordinates, independent of the neighbour tables.
    func bruteForceAction(_ phi: [Double], L: Int, d: Int, m2: Double, lam: Double) -> Double {
        let lat = Lattice(L: L, d: d)
        var s = 0.0
        for v in 0..<lat.volume {
            let x = lat.coordinates(v)
            for mu in 0..<d {
                var y = x
                y[mu] = (y[mu] + 1) % L
                let diff = phi[lat.index(y)] - phi[v]
                s += diff * diff
            }
            s += m2 * phi[v] * phi[v] + lam * pow(phi[v], 4)
        }
        return s
    }

    func testActionMatchesDefinitionInEveryDimension() {
        for (L, d) in [(6, 1), (4, 2), (4, 3), (4, 4)] {
            let lat = Lattice(L: L, d: d)
            let phi = randomArray(lat.volume, seed: UInt64(10 * d + L), scale: 1.5)
            let act = Phi4Action(lattice: lat, m2: -4, lam: 6.975)
            let expected = bruteForceAction(phi, L: L, d: d, m2: -4, lam: 6.975)
            XCTAssertEqual(act.action(phi), expected, accuracy: 1e-10 * abs(expected), "L=\(L) d=\(d)")
        }
    }

    func testConstantFieldHasNoKineticTerm() {
        let lat = Lattice(L: 4, d: 3)
        let phi = [Double](repeating: 0.7, count: lat.volume)
        let act = Phi4Action(lattice: lat, m2: 1.5, lam: 2)
        XCTAssertEqual(act.action(phi), Double(lat.volume) * (1.5 * 0.49 + 2 * 0.7 * 0.7 * 0.7 * 0.7), accuracy: 1e-12)
    }

    func testForceIsTheGradientOfTheAction() {
        for d in 2...4 {
            let lat = Lattice(L: 4, d: d)
            let act = Phi4Action(lattice: lat, m2: -4, lam: 8)
            var phi = randomArray(lat.volume, seed: UInt64(d), scale: 1.2)
            let force = act.force(phi)
            var numeric = [Double](repeating: 0, count: lat.volume)
            let h = 1e-5
            for i in 0..<lat.volume {
                let keep = phi[i]
                phi[i] = keep + h
                let sp = act.action(phi)
                phi[i] = keep - h
                let sm = act.action(phi)
                phi[i] = keep
                numeric[i] = (sp - sm) / (2 * h)
            }
            assertGradientsMatch(analytic: force, numeric: numeric, tolerance: 1e-7, "force d=\(d)")
        }
    }

    func testCheckerboardAlternatesAndSplitsTheLatticeInHalves() {
        let lat = Lattice(L: 4, d: 2)
        let m0 = lat.checkerboard(parity: 0)
        let m1 = lat.checkerboard(parity: 1)
        XCTAssertEqual(m0.filter { $0 }.count, 8)
        for v in 0..<16 { XCTAssertNotEqual(m0[v], m1[v]) }
        // Parity 0: site (0,0) is active, (0,1) frozen, as in the reference code.
        XCTAssertFalse(m0[lat.index([0, 0])])
        XCTAssertTrue(m0[lat.index([0, 1])])
        // Every neighbour of a frozen site is active.
        let nb = lat.neighbourTable()
        for v in 0..<16 where m0[v] { for t in nb { XCTAssertFalse(m0[Int(t[v])]) } }
    }

    func testNormalPriorDensity() {
        let z: [Double] = [0.5, -1, 2]
        let prior = NormalPrior(volume: 3)
        let expected = -(0.25 + 1 + 4) / 2 - 1.5 * log(2 * Double.pi)
        z.withUnsafeBufferPointer { XCTAssertEqual(prior.logDensity($0.baseAddress!), expected, accuracy: 1e-12) }
    }

    func testNormalSamplerMoments() {
        var rng = Xoshiro256(seed: 7)
        var z = [Double](repeating: 0, count: 200_000)
        z.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: $0.count) }
        let mean = z.reduce(0, +) / Double(z.count)
        let varc = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(z.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(varc, 1, accuracy: 0.01)
    }
}

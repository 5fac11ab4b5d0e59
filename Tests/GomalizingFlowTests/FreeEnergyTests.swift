import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The free energy from proposals (issue 31): the exact free-field log Z, and
/// the estimator's value and error against it.
final class FreeEnergyTests: XCTestCase {
    /// log Z = (V/2) log pi - (1/2) log det K, K the action's quadratic form,
    /// built here from S itself and factorised by Cholesky.
    func testFreeLogZEqualsTheDeterminantOfTheAction() {
        for (L, d, m2) in [(2, 2, 1.0), (3, 2, 0.5), (2, 3, 2.0), (4, 2, 0.25)] {
            let lat = Lattice(L: L, d: d)
            let V = lat.volume
            let action = Phi4Action(lattice: lat, m2: m2, lam: 0)
            func S(_ sites: [Int]) -> Double {
                var phi = [Double](repeating: 0, count: V)
                for x in sites { phi[x] += 1 }
                return action.action(phi)
            }
            var K = [Double](repeating: 0, count: V * V)
            for x in 0..<V {
                for y in 0..<V {
                    K[x * V + y] = x == y ? S([x]) : (S([x, y]) - S([x]) - S([y])) / 2
                }
            }
            // Cholesky: log det K = 2 sum log L_ii.
            var c = [Double](repeating: 0, count: V * V)
            var logDet = 0.0
            for i in 0..<V {
                for j in 0...i {
                    var s = K[i * V + j]
                    for k in 0..<j { s -= c[i * V + k] * c[j * V + k] }
                    if i == j {
                        XCTAssertGreaterThan(s, 0)
                        c[i * V + i] = s.squareRoot()
                        logDet += 2 * Foundation.log(c[i * V + i])
                    } else {
                        c[i * V + j] = s / c[j * V + j]
                    }
                }
            }
            let exact = 0.5 * Double(V) * Foundation.log(Double.pi) - 0.5 * logDet
            XCTAssertEqual(FreeField.logZ(lattice: lat, m2: m2), exact, accuracy: 1e-10 * max(1, abs(exact)), "L \(L) d \(d)")
        }
    }

    /// Independent Gaussian proposals of a free field on 2x2: the estimate is
    /// within 4 errors of the exact log Z in every one of 40 seeds, and within one
    /// error in about 68% of them (the error is neither too small nor too large).
    func testEstimateCoversTheExactFreeEnergy() throws {
        let lat = Lattice(L: 2, d: 2)
        let V = lat.volume, m2 = 1.0, sigma2 = 0.5  // sigma^2 >= 1/(2 m2): bounded weights
        let action = Phi4Action(lattice: lat, m2: m2, lam: 0)
        let exact = FreeField.logZ(lattice: lat, m2: m2)
        var within1 = 0
        let seeds = 40, n = 20_000
        for seed in 0..<seeds {
            var rng = Xoshiro256(seed: UInt64(1000 + seed))
            var logP = [Double](), logQ = [Double]()
            logP.reserveCapacity(n)
            logQ.reserveCapacity(n)
            for _ in 0..<n {
                var phi = [Double](repeating: 0, count: V)
                var lq = 0.0
                for x in 0..<V {
                    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
                    phi[x] = (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2) * sigma2.squareRoot()
                    lq += -phi[x] * phi[x] / (2 * sigma2) - 0.5 * Foundation.log(2 * Double.pi * sigma2)
                }
                logP.append(-action.action(phi))
                logQ.append(lq)
            }
            let k = WeightDiagnostics(logWeights: zip(logP, logQ).map { $0 - $1 }).paretoK
            let f = try XCTUnwrap(FreeEnergy(logP: logP, logQ: logQ, volume: V, paretoK: k))
            XCTAssertTrue(f.trusted, "bounded weights: k = \(k)")
            XCTAssertEqual(f.density, -f.logZ / Double(V))
            XCTAssertLessThan(abs(f.logZ - exact), 4 * f.logZError, "seed \(seed): \(f.logZ) vs \(exact) ± \(f.logZError)")
            if abs(f.logZ - exact) < f.logZError { within1 += 1 }
        }
        XCTAssertGreaterThan(within1, seeds / 2, "\(within1) of \(seeds) within one error")
        XCTAssertLessThan(within1, 36, "\(within1) of \(seeds) within one error: the error is too large")
    }

    /// A proposal that is the target itself gives log Z with no error; a
    /// non-finite log weight or no proposal gives no estimate.
    func testExactProposalAndDegenerateInput() throws {
        let logP = [-1.0, -2.5, -0.3], logZ = 1.7
        let f = try XCTUnwrap(FreeEnergy(logP: logP, logQ: logP.map { $0 - logZ }, volume: 4, paretoK: .nan))
        XCTAssertEqual(f.logZ, logZ, accuracy: 1e-14)
        XCTAssertEqual(f.logZError, 0, accuracy: 1e-7)
        XCTAssertFalse(f.trusted, "too few proposals for a tail fit: not trusted")
        var one = f
        one.oneVacuum = true
        XCTAssertTrue(one.verdict.contains("one vacuum") && one.verdict.contains("--z2 on"), one.verdict)
        XCTAssertNil(FreeEnergy(logP: [], logQ: [], volume: 4, paretoK: 0.1))
        XCTAssertNil(FreeEnergy(logP: [-1, -2], logQ: [-1, -.infinity], volume: 4, paretoK: 0.1))
        // S overflowing to +inf is a zero weight, not a broken estimate.
        let zero = try XCTUnwrap(FreeEnergy(logP: [-.infinity, -1], logQ: [-1, -2], volume: 4, paretoK: 0.1))
        XCTAssertEqual(zero.logZ, Foundation.log(Foundation.exp(1.0) / 2), accuracy: 1e-14)
    }

    /// `analyze` of a flow chain of a free theory prints log Z, the free energy
    /// density and the exact value, and keeps them in the JSON and the report.
    func testAnalyzePrintsTheFreeEnergyOfAFlowChain() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("free.toml")
        try tinyConfigText(epochs: 2, lam: 0, M2: 1).write(to: cfg, atomically: true, encoding: .utf8)
        for args in [["train", cfg.path, "--quiet"], ["sample", "result/free", "--n", "3000", "--seed", "4", "--out", "f.npy"]] {
            let r = try runCommand(exe, args, in: dir, timeout: 300)
            XCTAssertEqual(r.code, 0, r.err)
        }
        let r = try runCommand(exe, ["analyze", "f.npy", "--config", cfg.path], in: dir, timeout: 300)
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("free energy: log Z = ") && r.out.contains("from 3000 proposals"), r.out)
        let exact = FreeField.logZ(lattice: Lattice(L: 4, d: 2), m2: 1)
        XCTAssertTrue(r.out.contains(String(format: "free field: exact log Z = %.8g", exact)), r.out)
        let obs = try Observables.load(path: dir.appendingPathComponent("f.analysis.json").path)
        let f = try XCTUnwrap(obs.freeEnergy)
        XCTAssertEqual(f.proposals, 3000)
        XCTAssertTrue(f.logZ.isFinite && f.logZError > 0)
        XCTAssertTrue(HTMLReport.analysis(obs, file: "f.analysis.json").contains("Free energy: log Z"))
        // An HMC chain has no proposals, so no free energy.
        _ = try runCommand(exe, ["hmc", cfg.path, "--n", "300", "--out", "h.npy"], in: dir, timeout: 300)
        let h = try runCommand(exe, ["analyze", "h.npy", "--config", cfg.path], in: dir, timeout: 300)
        XCTAssertFalse(h.out.contains("free energy"), h.out)
    }
}

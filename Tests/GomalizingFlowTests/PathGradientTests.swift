import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// [training] gradient = "path": the path-gradient estimator of the reverse KL
/// (Vaitl, Nicoli et al. 2022), built on d log q(phi)/d phi through the inverse flow.
final class PathGradientTests: XCTestCase {
    /// d log q / d phi against central differences of log q through the inverse.
    func testDensityGradientMatchesFiniteDifferences() {
        for spec in [ModelSpec(L: 4, d: 2, nLayers: 4, hiddenSizes: [8], kernelSize: 3, seed: 3),
                     ModelSpec(L: 4, d: 3, nLayers: 2, hiddenSizes: [4], kernelSize: 3, crossKernel: true, seed: 3),
                     ModelSpec(L: 4, d: 2, nLayers: 4, hiddenSizes: [4, 4], kernelSize: 3, seed: 3, z2Equivariant: true)] {
            let flow = Flow<Double>(spec: spec)
            flow.parameters = flow.parameters.map { $0 * 2 }
            let V = flow.lattice.volume
            let analytic = assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(2 * V, seed: 5), n: 2,
                                                                         siteStride: max(1, V / 16), spec.convName)
            XCTAssertGreaterThan(analytic.map(abs).max()!, 0.1)
        }
    }

    /// Both estimators have the same expectation (the score term they differ
    /// by averages to zero), and near convergence the path gradient varies less.
    func testSameExpectationAndLowerVarianceNearConvergence() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trained = try Trainer(config: Config.parse(
            tinyConfigText(epochs: 4, iterations: 150, batch: 32, hidden: [8], extra: "result = \"\(dir.path)\""), file: "t.toml", name: "t"))
        try trained.train()
        XCTAssertGreaterThan(trained.history.records.last!.acceptanceRate, 30, "the flow must be near convergence for the variance claim")
        let flow = Flow<Double>(architecture: trained.flow.architecture, parameters: trained.flow.parameters.map(Double.init))
        let action = trained.config.action
        let B = 16, V = flow.lattice.volume, P = flow.parameters.count
        let standard = BatchRunner(flow: flow, action: action, batchSize: B, threads: 1)
        let path = BatchRunner(flow: flow, action: action, batchSize: B, threads: 1)
        path.pathGradient = true
        var rng = Xoshiro256(seed: 77)
        let K = 400
        var meanS = [Double](repeating: 0, count: P), meanP = meanS, sqS = meanS, sqP = meanS, meanD = meanS, sqD = meanS
        for _ in 0..<K {
            var z = [Double](repeating: 0, count: B * V)
            z.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: B * V) }
            let ls = z.withUnsafeBufferPointer { standard.run(z: $0.baseAddress!, withGradient: true) }
            let lp = z.withUnsafeBufferPointer { path.run(z: $0.baseAddress!, withGradient: true) }
            XCTAssertEqual(ls, lp, accuracy: 1e-12, "the same loss")
            for i in 0..<P {
                let s = standard.gradient[i], p = path.gradient[i], d = s - p
                meanS[i] += s; sqS[i] += s * s; meanP[i] += p; sqP[i] += p * p; meanD[i] += d; sqD[i] += d * d
            }
        }
        var t2 = 0.0, varS = 0.0, varP = 0.0
        for i in 0..<P {
            let k = Double(K)
            let md = meanD[i] / k, vd = max(sqD[i] / k - md * md, 1e-300)
            t2 += md * md / (vd / k)
            varS += sqS[i] / k - (meanS[i] / k) * (meanS[i] / k)
            varP += sqP[i] / k - (meanP[i] / k) * (meanP[i] / k)
        }
        // Mean over parameters of t^2 for the difference's mean: about 1 if its expectation is zero.
        XCTAssertLessThan(t2 / Double(P), 1.6, "the estimators differ in expectation")
        XCTAssertLessThan(varP, 0.8 * varS, "path-gradient variance \(varP) against standard \(varS)")
    }

    func testTheConfigKeyAndTraining() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try Config.parse(tinyConfigText(epochs: 3, iterations: 100, batch: 32, extra: "gradient = \"path\"\nresult = \"\(dir.path)\""),
                                 file: "p.toml", name: "p")
        XCTAssertTrue(c.training.pathGradient)
        XCTAssertEqual(c.runDefinition["[training] gradient"], "path")
        let t = try Trainer(config: c)
        try t.train()
        let acc = t.history.records.map(\.acceptanceRate)
        XCTAssertGreaterThan(acc.last!, acc.first! + 5, "\(acc)")
        for (bad, says) in [("gradient = \"score\"", "\"path\""), ("gradient = 1", "\"standard\"")] {
            XCTAssertThrowsError(try Config.parse(tinyConfigText(extra: bad), file: "b.toml", name: "b")) { e in
                XCTAssertTrue("\(e)".contains("[training] gradient") && "\(e)".contains(says), "\(e)")
            }
        }
        XCTAssertThrowsError(try Config.parse(tinyConfigText(extra: "gradient = \"path\"").replacingOccurrences(of: "kernel_size = 3", with: "kernel_size = 3\nuse_bn = true"),
                                              file: "b.toml", name: "b")) { e in
            XCTAssertTrue("\(e)".contains("use_bn"), "\(e)")
        }
        XCTAssertThrowsError(try Config.parse(tinyConfigText(extra: "gradient = \"path\"\nprior = { kind = \"potential\", m2 = -4.0, lam = 8.0 }"),
                                              file: "b.toml", name: "b")) { e in
            XCTAssertTrue("\(e)".contains("[training] gradient") && "\(e)".contains("potential"), "\(e)")
        }
        // A run of one estimator is not continued with the other.
        let other = try Config.parse(tinyConfigText(epochs: 4, iterations: 100, batch: 32, extra: "result = \"\(dir.path)\""),
                                     file: "p.toml", name: "p")
        XCTAssertThrowsError(try Trainer(config: other, folder: .resume)) { e in
            XCTAssertTrue("\(e)".contains("[training] gradient: path in the run, standard now"), "\(e)")
        }
    }

    /// d log q0/dz of both priors against finite differences of their log density.
    func testPriorLogDensityGradient() {
        for spec in [PriorSpec.normal, .potential(m2: -4, lam: 8, xmin: -2, xmax: 2)] {
            let prior = Prior(spec, volume: 6)
            let z: [Double] = [0.3, -1.1, 0.05, 1.7, -0.6, 0.9]
            var g = [Double](repeating: 0, count: 6)
            z.withUnsafeBufferPointer { zp in g.withUnsafeMutableBufferPointer { prior.logDensityGradient(zp.baseAddress!, into: $0.baseAddress!) } }
            for i in 0..<6 {
                var p = z, m = z
                p[i] += 1e-6
                m[i] -= 1e-6
                let fd = (p.withUnsafeBufferPointer { prior.logDensity($0.baseAddress!) } - m.withUnsafeBufferPointer { prior.logDensity($0.baseAddress!) }) / 2e-6
                XCTAssertEqual(g[i], fd, accuracy: 1e-5 * max(1, abs(fd)), "\(spec) site \(i)")
            }
        }
    }
}

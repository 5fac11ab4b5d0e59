import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `[model] integrate_even_sites`: a flow on the covering field of the odd sites
/// (`FlowTarget.oddSites`). Its log q is exact on covering fields (brute-force
/// Jacobian of the map between the odd sites' values), its training gradient is
/// the loss's, and the chain it drives (even sites drawn exactly) agrees with HMC.
final class IntegratedEvenSitesTests: XCTestCase {
    func spec(L: Int = 6) -> ModelSpec {
        ModelSpec(L: L, d: 2, nLayers: 4, hiddenSizes: [4], kernelSize: 3, crossKernel: true, seed: 3,
                  fourierScaling: true, siteMapFeatures: 2, integrateEvenSites: true)
    }

    /// A flow away from the identity: every parameter moved by a random amount.
    func perturbedFlow(_ spec: ModelSpec, seed: UInt64) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        var rng = Xoshiro256(seed: seed)
        for i in flow.parameters.indices { flow.parameters[i] += 0.3 * (2 * rng.uniform() - 1) }
        return flow
    }

    /// The covering field of `values` (one per odd site: (u, v) with u < L/2).
    func covering(_ values: [Double], L: Int) -> [Double] {
        var z = [Double](repeating: 0, count: L * L)
        for (i, x) in values.enumerated() { z[i] = x }
        z.withUnsafeMutableBufferPointer { FlowTarget.oddSites(OddSiteMarginal(lattice: Lattice(L: L, d: 2), m2: -4, lam: 5)).symmetrise($0.baseAddress!, count: 1) }
        return z
    }

    /// The flow maps covering fields to covering fields, and logJ / 2 is the
    /// log-det of the map between the L^2/2 odd sites' values, by central
    /// differences and LU: the Fourier layer counts only the momenta a covering field has.
    func testLogDetIsTheJacobianOfTheOddSitesMap() {
        let L = 6, n = L * L / 2
        let flow = perturbedFlow(spec(L: L), seed: 8)
        var rng = Xoshiro256(seed: 1)
        let values = (0..<n).map { _ in 2 * rng.uniform() - 1 }
        let (psi, logJ) = flowForward(flow, covering(values, L: L), n: 1)
        for u in 0..<L {
            for v in 0..<L {
                XCTAssertEqual(psi[u * L + v], psi[((u + L / 2) % L) * L + (v + L / 2) % L], accuracy: 1e-12)
            }
        }
        var jacobian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for j in 0..<n {
            var up = values, down = values
            up[j] += 1e-6
            down[j] -= 1e-6
            let a = flowForward(flow, covering(up, L: L), n: 1).phi, b = flowForward(flow, covering(down, L: L), n: 1).phi
            for i in 0..<n { jacobian[i][j] = (a[i] - b[i]) / 2e-6 }
        }
        XCTAssertEqual(logAbsDet(jacobian), logJ[0] / 2, accuracy: 1e-6)
        // Without the covering weights the Fourier layer's log-det would differ: the check can fail.
        var plain = spec(L: L)
        plain.integrateEvenSites = false
        let other = Flow<Double>(spec: plain)
        other.parameters = flow.parameters
        XCTAssertGreaterThan(abs(flowForward(other, covering(values, L: L), n: 1).logJ[0] / 2 - logJ[0] / 2), 1e-3)
    }

    /// The runner's loss is mean(log q - log p) of the odd sites (log q0 and logJ
    /// halved, S_odd), and its standard gradient matches central differences of it.
    func testLossAndGradientAgainstFiniteDifferences() {
        let L = 6, B = 3
        let flow = perturbedFlow(spec(L: L), seed: 2)
        let marginal = OddSiteMarginal(lattice: Lattice(L: L, d: 2), m2: -4, lam: 5)
        let runner = BatchRunner(flow: flow, target: .oddSites(marginal), batchSize: B, threads: 1)
        var rng = Xoshiro256(seed: 6)
        var z = [Double]()
        for _ in 0..<B { z += covering((0..<(L * L / 2)).map { _ in 2 * rng.uniform() - 1 }, L: L) }
        let loss = z.withUnsafeBufferPointer { runner.run(z: $0.baseAddress!, withGradient: true) }
        // The loss by hand: the odd sites' prior density, the halved log-det, and S_odd.
        let (psi, logJ) = flowForward(flow, z, n: B)
        var expected = 0.0
        for b in 0..<B {
            let zb = Array(z[(b * L * L)..<(b * L * L + L * L / 2)])
            let logQ0 = zb.reduce(-0.5 * Double(zb.count) * log(2 * Double.pi)) { $0 - 0.5 * $1 * $1 }
            expected += logQ0 - logJ[b] / 2 + marginal.action(Array(psi[(b * L * L)..<((b + 1) * L * L)])) / 2
        }
        XCTAssertEqual(loss, expected / Double(B), accuracy: 1e-9 * (1 + abs(loss)))
        let gradient = runner.gradient
        for i in spreadIndices(flow.parameters.count, samples: 12) {
            let keep = flow.parameters[i]
            flow.parameters[i] = keep + 1e-6
            let up = z.withUnsafeBufferPointer { runner.run(z: $0.baseAddress!, withGradient: false) }
            flow.parameters[i] = keep - 1e-6
            let down = z.withUnsafeBufferPointer { runner.run(z: $0.baseAddress!, withGradient: false) }
            flow.parameters[i] = keep
            XCTAssertEqual(gradient[i], (up - down) / 2e-6, accuracy: 1e-5 * (1 + abs(gradient[i])), "parameter \(i)")
        }
    }

    /// The path gradient is the derivative of mean[log q_fixed(T(z)) + S_odd(T(z))]
    /// with the density's parameters held: central differences through the inverse flow.
    func testPathGradientAgainstFiniteDifferences() {
        let L = 6, B = 2
        let flow = perturbedFlow(spec(L: L), seed: 5)
        let fixed = Flow<Double>(spec: spec(L: L))
        fixed.parameters = flow.parameters
        let marginal = OddSiteMarginal(lattice: Lattice(L: L, d: 2), m2: -4, lam: 5)
        let runner = BatchRunner(flow: flow, target: .oddSites(marginal), batchSize: B, threads: 1)
        runner.pathGradient = true
        var rng = Xoshiro256(seed: 7)
        var z = [Double]()
        for _ in 0..<B { z += covering((0..<(L * L / 2)).map { _ in 2 * rng.uniform() - 1 }, L: L) }
        z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: true) }
        let gradient = runner.gradient
        func objective() -> Double {
            let psi = flowForward(flow, z, n: B).phi
            var s = 0.0
            for b in 0..<B {
                let one = Array(psi[(b * L * L)..<((b + 1) * L * L)])
                s += flowLogDensity(fixed, at: one) / 2 + marginal.action(one) / 2
            }
            return s / Double(B)
        }
        for i in spreadIndices(flow.parameters.count, samples: 10) {
            let keep = flow.parameters[i]
            flow.parameters[i] = keep + 1e-6
            let up = objective()
            flow.parameters[i] = keep - 1e-6
            let down = objective()
            flow.parameters[i] = keep
            XCTAssertEqual(gradient[i], (up - down) / 2e-6, accuracy: 1e-5 * (1 + abs(gradient[i])), "parameter \(i)")
        }
    }

    func testConfigKeyAndModelFiles() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = """
        [training]
        batchsize = 4
        epochs = 1
        iterations = 1
        base_lr = 0.001
        [physical]
        L = 6
        Nd = NDIM
        M2 = -4.0
        lam = 5.0
        [model]
        n_layers = 2
        hidden_sizes = [4]
        kernel_size = 3
        integrate_even_sites = VALUE
        """
        func parse(_ nd: Int, _ value: String) throws -> Config {
            try Config.parse(base.replacingOccurrences(of: "NDIM", with: "\(nd)").replacingOccurrences(of: "VALUE", with: value),
                             file: "rb.toml", name: "rb")
        }
        XCTAssertTrue(try parse(2, "true").model.integrateEvenSites)
        XCTAssertFalse(try parse(2, "false").model.integrateEvenSites)
        for (nd, value, words) in [(3, "true", "2-D"), (2, "1", "true or false")] {
            assertConfigError(try parse(nd, value), mentions: ["rb.toml", "integrate_even_sites", words])
        }
        // The flag travels in model files, and a model of the other kind is refused.
        let flow = Flow<Float>(spec: spec())
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(flow, to: url)
        XCTAssertEqual(try ModelFile.load(FlowArchitecture(spec: spec()), from: url.path).parameters, flow.parameters)
        var plain = spec()
        plain.integrateEvenSites = false
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: plain), from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("m.safetensors") && "\(e)".contains("integrate_even_sites = true")
                          && "\(e)".contains("integrate_even_sites = false"), "\(e)")
        }
    }

    /// A warm start to another L carries the Fourier layer's log-scales from the
    /// momenta a covering field has (even k_0 + k_1) only: the others were never trained.
    func testWarmStartReadsOnlyTheCoveringMomenta() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = Flow<Float>(spec: spec(L: 6))
        let f = small.architecture.fourier!
        for (o, k) in f.orbits.representatives.enumerated() {
            let p2 = f.orbits.momentumSquared[o]
            small.parameters[f.offset + o] = k.reduce(0, +) % 2 == 0 ? Float(0.1 * p2) : 5
        }
        let url = dir.appendingPathComponent("small.safetensors")
        try ModelFile.save(small, to: url)
        let large = FlowArchitecture(spec: spec(L: 10))
        let state = try ModelFile.load(large, from: url.path)
        let g = large.fourier!
        for (o, k) in g.orbits.representatives.enumerated() where k.reduce(0, +) % 2 == 0 {
            // 0.1 p^2 is linear in p^2, so the interpolation reproduces it inside the source's range (p^2 <= 8).
            XCTAssertEqual(Double(state.parameters[g.offset + o]), min(0.1 * g.orbits.momentumSquared[o], 0.8), accuracy: 1e-5, "orbit \(k)")
        }
    }

    /// Trained through the Trainer with the path gradient at E1 (L = 6), the chain
    /// of odd-site proposals completed by exact even-site draws agrees with HMC.
    func testTrainsAndAgreesWithHMCOnE1() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try testConfig(name: "e1-odd", result: dir, L: 6, M2: -4, lam: 6.975, batch: 64, iterations: 600,
                               lr: 0.003, layers: 6, hidden: [8], evalSamples: 256, seed: 4)
        c.model.fourierScaling = true
        c.model.crossKernel = true
        c.model.integrateEvenSites = true
        c.training.pathGradient = true
        let trainer = try Trainer(config: c)
        try trainer.train()
        assertFlowAndHMCAgree(trainer.flow, config: c)
    }
}

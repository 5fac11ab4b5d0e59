import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `[model] site_map_features`: an odd monotone map, the same at every site,
/// after each coupling (`OddSiteMap`).
final class SiteMapTests: XCTestCase {
    /// Parameters far from the identity: alpha, amplitudes r (|r| up to `strength`,
    /// so sum |kappa| near 1) and widths.
    func strongParameters(_ A: Int, seed: UInt64, strength: Double = 3) -> [Double] {
        let r = randomArray(2 * A + 1, seed: seed)
        return [0.3 * r[0]] + (0..<A).map { strength * r[1 + $0] } + (0..<A).map { 0.3 + 2 * abs(r[1 + A + $0]) }
    }

    /// A flow of `spec` with its couplings scaled by 3 and strong site maps: nothing in it is the identity.
    func makeFlow(_ spec: ModelSpec, seed: UInt64 = 1) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        let firstMap = flow.architecture.siteMapOffsets[0]
        for i in 0..<firstMap { flow.parameters[i] *= 3 }
        for (k, o) in flow.architecture.siteMapOffsets.enumerated() {
            for (j, v) in strongParameters(spec.siteMapFeatures, seed: seed + UInt64(k)).enumerated() { flow.parameters[o + j] = v }
        }
        return flow
    }

    let specs = [ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3, siteMapFeatures: 3),
                 ModelSpec(L: 4, d: 2, nLayers: 3, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 4, z2Equivariant: true,
                           fourierScaling: true, siteMapFeatures: 2),
                 ModelSpec(L: 3, d: 3, nLayers: 2, hiddenSizes: [3], kernelSize: 3, seed: 5, siteMapFeatures: 1)]

    /// The layer alone over a dense sweep at strong parameters: g' > 0 (by
    /// central differences too), g odd, the inverse exact with the same log-det.
    func testMapIsMonotoneOddAndInvertible() {
        for (A, strength) in [(1, 3.0), (4, 3.0), (8, 50.0)] {
            let params = strongParameters(A, seed: UInt64(A), strength: strength)
            let map = OddSiteMap<Double>(features: A, offset: 0)
            let xs = stride(from: -20.0, through: 20.0, by: 0.01).map { $0 }
            let V = xs.count
            var y = [Double](repeating: 0, count: V), logJ = [0.0]
            map.forward(params, xs, into: &y, n: 1, V: V, logJ: &logJ)
            for k in 1..<V { XCTAssertGreaterThan(y[k], y[k - 1], "A = \(A): not increasing at x = \(xs[k])") }
            // log|det| is the sum of log g' at the sites: check it by central differences.
            var fd = 0.0
            for x in xs {
                var yp = [0.0], ym = [0.0], l = [0.0]
                map.forward(params, [x + 1e-6], into: &yp, n: 1, V: 1, logJ: &l)
                map.forward(params, [x - 1e-6], into: &ym, n: 1, V: 1, logJ: &l)
                fd += log((yp[0] - ym[0]) / 2e-6)
            }
            XCTAssertEqual(logJ[0], fd, accuracy: 1e-5 * Double(V))
            var minus = [Double](repeating: 0, count: V), l = [0.0]
            map.forward(params, xs.map { -$0 }, into: &minus, n: 1, V: V, logJ: &l)
            for k in 0..<V { XCTAssertEqual(minus[k], -y[k], accuracy: 1e-12) }
            XCTAssertEqual(l[0], logJ[0], accuracy: 1e-9)
            var back = [Double](repeating: 0, count: V), inverseLogJ = [0.0]
            map.inverse(params, y, into: &back, n: 1, V: V, logJ: &inverseLogJ)
            for k in 0..<V { XCTAssertEqual(back[k], xs[k], accuracy: 1e-11, "A = \(A)") }
            XCTAssertEqual(inverseLogJ[0], logJ[0], accuracy: 1e-8)
            XCTAssertGreaterThan(zip(y, xs).map { abs($0 - $1) }.max()!, 0.1, "the map must not be the identity")
            // Float: the round trip to 1e-5 relative.
            let pf = params.map(Float.init), xf = xs.map(Float.init)
            let mf = OddSiteMap<Float>(features: A, offset: 0)
            var yf = [Float](repeating: 0, count: V), bf = [Float](repeating: 0, count: V), lf: [Float] = [0]
            mf.forward(pf, xf, into: &yf, n: 1, V: V, logJ: &lf)
            mf.inverse(pf, yf, into: &bf, n: 1, V: V, logJ: &lf)
            for k in 0..<V { XCTAssertEqual(bf[k], xf[k], accuracy: 1e-5 * max(1, abs(xf[k]))) }
        }
    }

    /// The flow with site maps: log|det J| against the brute-force Jacobian, and the inverse.
    func testFlowLogDetIsExactAndInverts() {
        for spec in specs {
            let flow = makeFlow(spec)
            let V = flow.lattice.volume
            let z = randomNormal(V, seed: 11)
            let (phi, logJ) = flowForward(flow, z, n: 1)
            XCTAssertEqual(logJ[0], bruteForceLogDet(flow, at: z), accuracy: 1e-6, "L = \(spec.L), d = \(spec.d)")
            let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
            back.output.update(from: phi, count: V)
            flow.inverse(tape: back, n: 1)
            for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-10) }
            XCTAssertEqual(back.logJ[0], logJ[0], accuracy: 1e-9)
            // The site maps matter: without them (same couplings) phi differs.
            var plain = spec
            plain.siteMapFeatures = 0
            let arch = FlowArchitecture(spec: plain)
            let without = Flow<Double>(architecture: arch, parameters: Array(flow.parameters[..<arch.parameterCount]))
            XCTAssertGreaterThan(zip(flowForward(without, z, n: 1).phi, phi).map { abs($0 - $1) }.max()!, 1e-2)
        }
    }

    /// The pullback against central differences, every site-map parameter and
    /// a spread of the others; and the path gradient's d log q / d phi.
    func testPullbackAndDensityGradientMatchFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec, seed: 2)
            let V = flow.lattice.volume, P = flow.parameters.count
            let first = flow.architecture.siteMapOffsets[0]
            let grads = assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 21), r: randomArray(2 * V, seed: 22),
                parameters: spreadIndices(first, samples: 40) + Array(first..<P), zStride: max(1, 2 * V / 24),
                "L = \(spec.L), d = \(spec.d)")
            XCTAssertGreaterThan(grads[first..<P].map(abs).max()!, 1e-2)
            assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(V, seed: 31), n: 1, "L = \(spec.L), d = \(spec.d)")
        }
    }

    /// With z2_equivariant the flow stays odd: T(-z) = -T(z), logJ even.
    func testZ2FlowWithSiteMapsIsOdd() {
        let flow = makeFlow(specs[1], seed: 5)
        let V = flow.lattice.volume, n = 3
        let z = randomNormal(n * V, seed: 4)
        let (phi, logJ) = flowForward(flow, z, n: n)
        let (phiMinus, logJMinus) = flowForward(flow, z.map { -$0 }, n: n)
        for i in phi.indices { XCTAssertEqual(phiMinus[i], -phi[i], accuracy: 1e-12) }
        for b in 0..<n { XCTAssertEqual(logJMinus[b], logJ[b], accuracy: 1e-10) }
    }

    /// At initialisation the site maps are the identity, so a flow with them
    /// computes exactly what the flow without them does, from the same couplings.
    func testIdentityAtInitialisation() {
        for spec in specs {
            var plain = spec
            plain.siteMapFeatures = 0
            let with = Flow<Double>(spec: spec), without = Flow<Double>(spec: plain)
            XCTAssertEqual(Array(with.parameters[..<without.parameters.count]), without.parameters)
            let z = randomNormal(2 * with.lattice.volume, seed: 8)
            let a = flowForward(with, z, n: 2), b = flowForward(without, z, n: 2)
            XCTAssertEqual(a.phi, b.phi)
            XCTAssertEqual(a.logJ, b.logJ)
        }
    }

    /// Config key and its errors, run definition, footprint, model files: a
    /// model without site maps starts them at the identity; one with them
    /// cannot start a flow without, nor one with another number of terms.
    func testConfigAndModelFiles() throws {
        let base = tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4])
        func parse(_ keys: String, _ file: String = "s.toml") throws -> Config {
            try Config.parse(addingModelKeys(keys, to: base), file: file, name: "s")
        }
        let c = try parse("site_map_features = 4")
        XCTAssertEqual(c.model.siteMapFeatures, 4)
        XCTAssertEqual(c.runDefinition["[model] site_map_features"], "4")
        XCTAssertEqual(try parse("").runDefinition["[model] site_map_features"], "0")
        XCTAssertEqual(ModelFootprint(spec: c.model).parameters, Double(FlowArchitecture(spec: c.model).parameterCount))
        for (keys, words) in [("site_map_features = -1", ["0...64"]), ("site_map_features = 2.5", ["0...64"]),
                              ("site_map_features = 65", ["0...64"]), ("site_map_features = 2\nuse_bn = true", ["use_bn"])] {
            assertConfigError(try parse(keys, "bad.toml"), mentions: ["bad.toml", "[model] site_map_features"] + words, keys)
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = specs[0]
        let arch = FlowArchitecture(spec: spec)
        let params = makeFlow(spec, seed: 7).parameters.map(Float.init)
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(arch, parameters: params, buffers: [], to: url)
        XCTAssertEqual(try ModelFile.load(arch, from: url.path).parameters, params)
        XCTAssertTrue(try SafeTensors.load(path: url.path).metadata["model_spec"]!.contains("\"siteMapFeatures\":3"))
        // Another L takes the same site maps (they do not depend on L).
        var larger = spec
        larger.L = 6
        XCTAssertEqual(Array(try ModelFile.load(FlowArchitecture(spec: larger), from: url.path).parameters), params)
        // From a model without site maps: the same couplings, identity maps.
        var plain = spec
        plain.siteMapFeatures = 0
        let plainArch = FlowArchitecture(spec: plain)
        let plainURL = dir.appendingPathComponent("plain.safetensors")
        try ModelFile.save(plainArch, parameters: Array(params[..<plainArch.parameterCount]), buffers: [], to: plainURL)
        XCTAssertFalse(try SafeTensors.load(path: plainURL.path).metadata["model_spec"]!.contains("siteMap"))
        let started = try ModelFile.load(arch, from: plainURL.path).parameters
        XCTAssertEqual(Array(started[..<plainArch.parameterCount]), Array(params[..<plainArch.parameterCount]))
        XCTAssertEqual(Array(started[plainArch.parameterCount...]), Array(arch.initialParameters(as: Float.self)[plainArch.parameterCount...]))
        // With site maps into a flow without them, or with another A: refused, naming both.
        XCTAssertThrowsError(try ModelFile.load(plainArch, from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("3 terms") && "\(e)".contains("none") && "\(e)".contains("site_map_features"), "\(e)")
        }
        var other = spec
        other.siteMapFeatures = 5
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: other), from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("3 terms") && "\(e)".contains("5"), "\(e)")
        }
    }

    /// It trains through the Trainer with the path gradient (loss falls), and
    /// the chain it drives agrees with HMC at E1 (L = 6): chi_2 and E within 3 sigma.
    func testTrainsAndAgreesWithHMCOnE1() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try testConfig(name: "e1-sitemap", result: dir, L: 6, M2: -4, lam: 6.975, batch: 64, iterations: 600,
                               lr: 0.003, layers: 6, hidden: [8], evalSamples: 256, seed: 4)
        c.model.fourierScaling = true
        c.model.crossKernel = true
        c.model.siteMapFeatures = 4
        c.training.pathGradient = true
        let trainer = try Trainer(config: c)
        try trainer.train()
        let first = trainer.flow.architecture.siteMapOffsets[0]
        let initial = trainer.flow.architecture.initialParameters(as: Float.self)
        XCTAssertGreaterThan(zip(trainer.flow.parameters[first...], initial[first...]).map { abs($0 - $1) }.max()!, 1e-2,
                             "training moved the site maps")
        assertFlowAndHMCAgree(trainer.flow, config: c)
    }
}

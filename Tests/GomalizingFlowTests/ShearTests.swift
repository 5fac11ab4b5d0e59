import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `[model] shear_features`: a lattice-wide shear of the active sites by
/// D4-tied kernels over features of the frozen ones, after each coupling (`OrbitShear`).
final class ShearTests: XCTestCase {
    /// A flow of `spec` with its couplings scaled by 3, and random shear
    /// weights (and site maps, where present): nothing in it is the identity.
    func makeFlow(_ spec: ModelSpec, seed: UInt64 = 1, scale: Double = 0.3) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        let arch = flow.architecture, shears = arch.shears!.offsets[0]
        for i in 0..<(arch.fourier?.offset ?? arch.siteMapOffsets.first ?? shears) { flow.parameters[i] *= 3 }
        let count = flow.parameters.count - shears
        let w = randomArray(count, seed: seed, scale: scale)
        for k in 0..<count { flow.parameters[shears + k] = w[k] }
        return flow
    }

    let specs = [ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3, shearFeatures: 2),
                 ModelSpec(L: 6, d: 2, nLayers: 3, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 4, z2Equivariant: true,
                           fourierScaling: true, siteMapFeatures: 2, shearFeatures: 3),
                 ModelSpec(L: 5, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3, seed: 6, shearFeatures: 1),
                 ModelSpec(L: 4, d: 3, nLayers: 2, hiddenSizes: [3], kernelSize: 3, seed: 5, shearFeatures: 2)]

    /// The orbits it weights: on even L those of odd |r|_1 (4, 12, 30, 72 at
    /// L = 6, 12, 20, 32, as the design memo counts), on odd L all but r = 0.
    func testWeightedOrbitCounts() {
        for (L, expected) in [(6, 4), (12, 12), (20, 30), (32, 72)] {
            XCTAssertEqual(OrbitShear<Double>.weightedOrbits(DisplacementOrbits(lattice: Lattice(L: L, d: 2))).count, expected, "L = \(L)")
        }
        XCTAssertEqual(OrbitShear<Double>.weightedOrbits(DisplacementOrbits(lattice: Lattice(L: 5, d: 2))).count, 5)
        // The count without the orbits (what a model file's shapes are checked against) agrees.
        for (L, d) in [(6, 2), (12, 2), (32, 2), (5, 2), (7, 3), (8, 3), (6, 4), (5, 4), (2, 2), (3, 3)] {
            XCTAssertEqual(OrbitShear<Double>.weightedCount(L: L, d: d),
                           Double(OrbitShear<Double>.weightedOrbits(DisplacementOrbits(lattice: Lattice(L: L, d: d))).count), "L = \(L), d = \(d)")
        }
    }

    /// One shear against the direct sum over displacements: y_x = x_x +
    /// sum_c sum_r K_c(r) f_c(x_{x+r}) on active sites, frozen sites unchanged.
    func testShearIsTheDirectPeriodicSum() {
        for (L, d) in [(6, 2), (5, 2), (4, 3)] {
            let lattice = Lattice(L: L, d: d), V = lattice.volume, C = 3
            let orbits = DisplacementOrbits(lattice: lattice)
            let shear = OrbitShear<Double>(orbits: orbits, features: C, offset: 0)
            let nw = shear.weighted.count
            let params = randomArray(C * nw, seed: 7)
            var weightOfOrbit = [[Double]](repeating: [Double](repeating: 0, count: orbits.count), count: C)
            for c in 0..<C { for (j, o) in shear.weighted.enumerated() { weightOfOrbit[c][o] = params[c * nw + j] } }
            let frozen = lattice.checkerboard(parity: 1)
            let x = randomNormal(V, seed: 8)
            var y = x
            shear.forward(params, &y, n: 1, frozen: frozen)
            for v in 0..<V {
                guard !frozen[v] else { XCTAssertEqual(y[v], x[v]); continue }
                var expected = x[v]
                for r in 0..<V {
                    let u = lattice.shifted(v, by: lattice.coordinates(r))
                    guard frozen[u] else { continue }
                    for c in 0..<C {
                        let f = c == 0 ? x[u] : x[u] / (1 + Double(c * c) * x[u] * x[u]).squareRoot()
                        expected += weightOfOrbit[c][orbits.orbitOf[r]] * f
                    }
                }
                XCTAssertEqual(y[v], expected, accuracy: 1e-12, "L = \(L), d = \(d), site \(v)")
            }
            XCTAssertGreaterThan(zip(x, y).map { abs($0 - $1) }.max()!, 0.1)
            var back = y
            shear.inverse(params, &back, n: 1, frozen: frozen)
            for v in 0..<V { XCTAssertEqual(back[v], x[v], accuracy: 1e-12) }
        }
    }

    /// The flow with shears: log|det J| against the brute-force Jacobian, the
    /// inverse, the pullback (every shear weight) and the density gradient
    /// against finite differences.
    func testFlowIsExactAndItsGradientsMatchFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec)
            let V = flow.lattice.volume, P = flow.parameters.count
            let z = randomNormal(V, seed: 11)
            let (phi, logJ) = flowForward(flow, z, n: 1)
            XCTAssertEqual(logJ[0], bruteForceLogDet(flow, at: z), accuracy: 1e-6, "L = \(spec.L), d = \(spec.d)")
            let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
            back.output.update(from: phi, count: V)
            flow.inverse(tape: back, n: 1)
            for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-10) }
            XCTAssertEqual(back.logJ[0], logJ[0], accuracy: 1e-9)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: back.output, count: V)), phi, "the inverse leaves its input alone")
            let first = flow.architecture.shears!.offsets[0]
            let grads = assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 21), r: randomArray(2 * V, seed: 22),
                parameters: spreadIndices(first, samples: 30) + spreadIndices(P - first, samples: 60).map { $0 + first },
                zStride: max(1, 2 * V / 24), spare: 1, "L = \(spec.L), d = \(spec.d)")
            XCTAssertGreaterThan(grads[first..<P].map(abs).max()!, 1e-2)
            assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(V, seed: 31), n: 1, siteStride: max(1, V / 24),
                                                          "L = \(spec.L), d = \(spec.d)")
        }
    }

    /// Equivariance to rounding: the flow is odd with z2_equivariant and
    /// commutes with even translations (its nets are translation equivariant);
    /// a shear alone also commutes with rotations by 90 degrees about a site and
    /// with reflections, which keep the checkerboard.
    func testSymmetries() {
        let flow = makeFlow(specs[1], seed: 5)
        let lattice = flow.lattice, V = lattice.volume, L = lattice.L
        func moved(_ f: [Double], _ move: ([Int]) -> [Int]) -> [Double] {
            var out = f
            for v in 0..<V { out[lattice.index(move(lattice.coordinates(v)))] = f[v] }
            return out
        }
        let z = randomNormal(V, seed: 4)
        let (phi, logJ) = flowForward(flow, z, n: 1)
        let (minus, logJMinus) = flowForward(flow, z.map { -$0 }, n: 1)
        for v in 0..<V { XCTAssertEqual(minus[v], -phi[v], accuracy: 1e-12) }
        XCTAssertEqual(logJMinus[0], logJ[0], accuracy: 1e-10)
        let step = { (c: [Int]) in [(c[0] + 2) % L, c[1]] }
        let (phiMoved, logJMoved) = flowForward(flow, moved(z, step), n: 1)
        let expected = moved(phi, step)
        for v in 0..<V { XCTAssertEqual(phiMoved[v], expected[v], accuracy: 1e-10) }
        XCTAssertEqual(logJMoved[0], logJ[0], accuracy: 1e-9)
        XCTAssertGreaterThan(zip(phi, z).map { abs($0 - $1) }.max()!, 0.1)

        let shear = OrbitShear<Double>(orbits: DisplacementOrbits(lattice: lattice), features: 3, offset: 0)
        let params = randomArray(shear.parameterCount, seed: 6)
        let frozen = lattice.checkerboard(parity: 0)
        var y = z
        shear.forward(params, &y, n: 1, frozen: frozen)
        for move in [{ (c: [Int]) in [c[1], (L - c[0]) % L] }, { (c: [Int]) in [(L - c[0]) % L, c[1]] }, step] {
            var ym = moved(z, move)
            shear.forward(params, &ym, n: 1, frozen: frozen)
            let e = moved(y, move)
            for v in 0..<V { XCTAssertEqual(ym[v], e[v], accuracy: 1e-12) }
        }
        XCTAssertGreaterThan(zip(y, z).map { abs($0 - $1) }.max()!, 0.1)
    }

    /// Zero weights are the identity; config key, its errors and the run
    /// definition; model files: from a model without shears (zeros), from
    /// another L (by displacement), refused with another C or into a flow without.
    func testConfigModelFilesAndWarmStarts() throws {
        let spec = specs[0]
        var plain = spec
        plain.shearFeatures = 0
        let with = Flow<Double>(spec: spec), without = Flow<Double>(spec: plain)
        let z = randomNormal(2 * with.lattice.volume, seed: 8)
        XCTAssertEqual(flowForward(with, z, n: 2).phi, flowForward(without, z, n: 2).phi)

        let base = tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4])
        func parse(_ keys: String, _ file: String = "s.toml") throws -> Config {
            try Config.parse(addingModelKeys(keys, to: base), file: file, name: "s")
        }
        XCTAssertEqual(try parse("shear_features = 2").runDefinition["[model] shear_features"], "2")
        XCTAssertEqual(try parse("").runDefinition["[model] shear_features"], "0")
        for keys in ["shear_features = -1", "shear_features = 17", "shear_features = \"2\"", "shear_features = 2\nuse_bn = true"] {
            assertConfigError(try parse(keys, "bad.toml"), mentions: ["bad.toml", "[model] shear_features"], keys)
        }
        // [training] shear_lr: the shears' own rate, a factor shear_lr / base_lr on their weights only.
        func withRate(_ rate: String, _ model: String = "shear_features = 2") throws -> Config {
            try Config.parse(addingModelKeys(model, to: tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4], extra: "shear_lr = \(rate)")),
                             file: "r.toml", name: "r")
        }
        let rated = try withRate("1e-5")
        XCTAssertEqual(rated.training.shearLR, 1e-5)
        XCTAssertEqual(rated.runDefinition["[training] shear_lr"], "1e-05")
        XCTAssertEqual(try parse("shear_features = 2").runDefinition["[training] shear_lr"], "none")
        // --resume refuses a run continued with another shear rate, or without it.
        XCTAssertEqual(Config.definitionDifferences(run: rated.runDefinition, now: try parse("shear_features = 2").runDefinition),
                       ["[training] shear_lr: 1e-05 in the run, none now"])
        var before = try parse("shear_features = 2").runDefinition
        before["[training] shear_lr"] = nil  // a checkpoint written before the key
        XCTAssertEqual(Config.definitionDifferences(run: before, now: rated.runDefinition), ["[training] shear_lr: none in the run, 1e-05 now"])
        for (rate, model) in [("0", "shear_features = 2"), ("-1e-3", "shear_features = 2"), ("\"fast\"", "shear_features = 2"), ("1e-5", "")] {
            assertConfigError(try withRate(rate, model), mentions: ["r.toml", "[training] shear_lr"], rate + " " + model)
        }
        let ratedArch = FlowArchitecture(spec: rated.model)
        let scale = try XCTUnwrap(TrainingLoop.rateScale(ratedArch, rated.training))
        let shearEntries = Set(ratedArch.tensors.filter { $0.name.hasSuffix(".shear.weight") }.flatMap { $0.offset..<($0.offset + $0.count) })
        XCTAssertEqual(shearEntries.count, 2 * 2 * OrbitShear<Double>.weightedOrbits(ratedArch.shears!.orbits).count)
        for i in 0..<ratedArch.parameterCount {
            XCTAssertEqual(scale[i], shearEntries.contains(i) ? Float(1e-5 / rated.training.baseLR) : 1, "parameter \(i)")
        }
        XCTAssertNil(TrainingLoop.rateScale(ratedArch, try parse("shear_features = 2").training))

        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let arch = FlowArchitecture(spec: spec)
        let params = makeFlow(spec, seed: 9).parameters.map(Float.init)
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(arch, parameters: params, buffers: [], to: url)
        XCTAssertEqual(try ModelFile.load(arch, from: url.path).parameters, params)
        // From a model without shears: the same couplings, zero weights.
        let plainArch = FlowArchitecture(spec: plain)
        let plainURL = dir.appendingPathComponent("plain.safetensors")
        try ModelFile.save(plainArch, parameters: Array(params[..<plainArch.parameterCount]), buffers: [], to: plainURL)
        let started = try ModelFile.load(arch, from: plainURL.path).parameters
        XCTAssertEqual(Array(started[..<plainArch.parameterCount]), Array(params[..<plainArch.parameterCount]))
        XCTAssertTrue(started[plainArch.parameterCount...].allSatisfy { $0 == 0 })
        // To L = 8: the weight of displacement (0, 1) and (1, 2) carried, (0, 2)'s wrap at L = 4 dropped.
        var larger = spec
        larger.L = 8
        let largeArch = FlowArchitecture(spec: larger)
        let carried = try ModelFile.load(largeArch, from: url.path).parameters
        let small = arch.shears!, big = largeArch.shears!
        let smallW = OrbitShear<Double>.weightedOrbits(small.orbits), bigW = OrbitShear<Double>.weightedOrbits(big.orbits)
        func weight(_ p: [Float], _ shears: (orbits: DisplacementOrbits, offsets: [Int]), _ w: [Int], layer: Int, c: Int, rep: [Int]) -> Float? {
            guard let j = w.firstIndex(where: { shears.orbits.representatives[$0] == rep }) else { return nil }
            return p[shears.offsets[layer] + c * w.count + j]
        }
        for layer in 0..<2 {
            for c in 0..<2 {
                XCTAssertEqual(weight(carried, big, bigW, layer: layer, c: c, rep: [0, 1]), weight(params, small, smallW, layer: layer, c: c, rep: [0, 1]))
                XCTAssertNotEqual(weight(params, small, smallW, layer: layer, c: c, rep: [1, 2]), 0)
                XCTAssertEqual(weight(carried, big, bigW, layer: layer, c: c, rep: [1, 2]), 0, "|r| = L/2 wrapped at L = 4")
                XCTAssertEqual(weight(carried, big, bigW, layer: layer, c: c, rep: [0, 3]), 0, "new at L = 8")
            }
        }
        XCTAssertThrowsError(try ModelFile.load(plainArch, from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("2 features") && "\(e)".contains("none") && "\(e)".contains("shear_features"), "\(e)")
        }
        var other = spec
        other.shearFeatures = 3
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: other), from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("2 features") && "\(e)".contains("3"), "\(e)")
        }
    }

    /// It trains through the Trainer with the path gradient and shears and
    /// site maps, and the chain agrees with HMC at E1: chi_2 and E within 3 sigma.
    func testTrainsAndAgreesWithHMCOnE1() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try testConfig(name: "e1-shear", result: dir, L: 6, M2: -4, lam: 6.975, batch: 64, iterations: 600,
                               lr: 0.003, layers: 6, hidden: [8], evalSamples: 256, seed: 4)
        c.model.fourierScaling = true
        c.model.crossKernel = true
        c.model.siteMapFeatures = 4
        c.model.shearFeatures = 2
        c.training.pathGradient = true
        let trainer = try Trainer(config: c)
        try trainer.train()
        let first = trainer.flow.architecture.shears!.offsets[0]
        XCTAssertGreaterThan(trainer.flow.parameters[first...].map(abs).max()!, 1e-3, "training moved the shears")
        assertFlowAndHMCAgree(trainer.flow, config: c)
    }
}

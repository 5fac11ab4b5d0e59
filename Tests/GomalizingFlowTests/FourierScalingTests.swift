import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `[model] fourier_scaling`: a first layer diagonal in momentum space,
/// u = F^-1[e^mu(p) F z], one log-scale per momentum orbit.
final class FourierScalingTests: XCTestCase {
    /// A flow with the Fourier layer whose couplings are scaled by 3 and whose
    /// log-scales are random in [-1, 1], the zero mode's 0.7: nothing in it is the identity.
    func makeFlow(_ spec: ModelSpec, seed: UInt64 = 1) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        flow.parameters = flow.parameters.map { $0 * 3 }
        let f = flow.architecture.fourier!
        let mu = randomArray(f.orbits.count, seed: seed)
        for o in 0..<f.orbits.count { flow.parameters[f.offset + o] = o == 0 ? 0.7 : mu[o] }
        return flow
    }

    let specs = [ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3, fourierScaling: true),
                 ModelSpec(L: 5, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 4, fourierScaling: true),
                 ModelSpec(L: 3, d: 3, nLayers: 2, hiddenSizes: [3], kernelSize: 3, seed: 5, z2Equivariant: true, fourierScaling: true)]

    /// log|det J| against the brute-force Jacobian; inverse(forward(z)) = z with the same log-det.
    func testExactLogDetAndInverse() {
        for spec in specs {
            let flow = makeFlow(spec)
            let V = flow.lattice.volume
            let z = randomNormal(V, seed: 11)
            let (phi, logJ) = flowForward(flow, z, n: 1)
            let brute = bruteForceLogDet(flow, at: z)
            XCTAssertGreaterThan(flow.parameters.suffix(flow.architecture.fourier!.orbits.count).map(abs).max()!, 0.5)
            XCTAssertEqual(logJ[0], brute, accuracy: 1e-6, "L = \(spec.L), d = \(spec.d)")
            let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
            back.output.update(from: phi, count: V)
            flow.inverse(tape: back, n: 1)
            for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-12) }
            XCTAssertEqual(back.logJ[0], logJ[0], accuracy: 1e-10)
        }
        // Float32: the round trip to 1e-5 at L = 12.
        let spec = ModelSpec(L: 12, d: 2, nLayers: 4, hiddenSizes: [8], kernelSize: 3, seed: 6, fourierScaling: true)
        let f = Flow<Float>(architecture: FlowArchitecture(spec: spec), parameters: makeFlow(spec).parameters.map(Float.init))
        let V = f.lattice.volume
        let z = randomNormal(2 * V, seed: 12).map(Float.init)
        let tape = FlowTape<Float>(architecture: f.architecture, capacity: 2)
        tape.input.update(from: z, count: 2 * V)
        f.forward(tape: tape, n: 2)
        let back = FlowTape<Float>(architecture: f.architecture, capacity: 2)
        back.output.update(from: tape.output, count: 2 * V)
        f.inverse(tape: back, n: 2)
        for i in 0..<(2 * V) { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-5) }
    }

    /// The pullback against central differences of sum r phi + sum c logJ, for
    /// every log-scale, parameters spread over the couplings, and z.
    func testPullbackMatchesFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec, seed: 2)
            let V = flow.lattice.volume, P = flow.parameters.count
            let f = flow.architecture.fourier!
            let grads = assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 21), r: randomArray(2 * V, seed: 22),
                parameters: spreadIndices(f.offset, samples: 60) + Array(f.offset..<P), zStride: max(1, 2 * V / 24),
                "L = \(spec.L), d = \(spec.d)")
            XCTAssertGreaterThan(grads[f.offset..<P].map(abs).max()!, 1e-2)
        }
    }

    /// d log q / d phi (the path gradient's input) against central differences of log q through the inverse.
    func testDensityGradientMatchesFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec, seed: 3)
            assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(flow.lattice.volume, seed: 31), n: 1,
                                                          "L = \(spec.L), d = \(spec.d)")
        }
    }

    /// The free theory (lam = 0, m2 > 0) is sampled exactly by the Fourier layer
    /// alone with mu(p) = -log(2(p^2 + m2))/2 and identity couplings: log p - log q
    /// is the same for every configuration (so ESS = 1). This pins the
    /// conventions: S has no 1/2, and the DFT's 1/V sits in the inverse.
    func testFreeFieldIsSampledExactly() {
        for (L, d, m2) in [(6, 2, 0.5), (5, 2, 0.3), (4, 3, 1.0)] {
            let spec = ModelSpec(L: L, d: d, nLayers: 2, hiddenSizes: [4], kernelSize: 3, fourierScaling: true)
            let flow = Flow<Double>(spec: spec)
            let f = flow.architecture.fourier!
            for i in 0..<f.offset { flow.parameters[i] = 0 }  // s = t = 0: identity couplings
            for (o, p2) in f.orbits.momentumSquared.enumerated() { flow.parameters[f.offset + o] = -0.5 * log(2 * (p2 + m2)) }
            let action = Phi4Action(lattice: flow.lattice, m2: m2, lam: 0)
            let B = 16
            let runner = BatchRunner(flow: flow, action: action, batchSize: B, threads: 1)
            runner.run(z: randomNormal(B * flow.lattice.volume, seed: 41), withGradient: false)
            let logW = (0..<B).map { runner.logP[$0] - runner.logQ[$0] }
            let mean = logW.reduce(0, +) / Double(B)
            XCTAssertLessThan(logW.map { abs($0 - mean) }.max()!, 1e-9, "L = \(L), d = \(d)")
            // A wrong scale (the free field's without the factor 2) is not exact.
            for (o, p2) in f.orbits.momentumSquared.enumerated() { flow.parameters[f.offset + o] = -0.5 * log(p2 + m2) }
            runner.run(z: randomNormal(B * flow.lattice.volume, seed: 41), withGradient: false)
            let wrong = (0..<B).map { runner.logP[$0] - runner.logQ[$0] }
            XCTAssertGreaterThan(wrong.max()! - wrong.min()!, 0.1)
        }
    }

    /// Config key, run definition and model files: the spec records it; a model
    /// without the layer starts one at the identity; another L's log-scales
    /// are carried over by momentum.
    func testConfigModelFilesAndWarmStarts() throws {
        let base = tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4])
        let c = try Config.parse(addingModelKeys("fourier_scaling = true", to: base), file: "f.toml", name: "f")
        XCTAssertTrue(c.model.fourierScaling)
        XCTAssertEqual(c.runDefinition["[model] fourier_scaling"], "true")
        XCTAssertEqual(try Config.parse(base, file: "g.toml", name: "g").runDefinition["[model] fourier_scaling"], "false")
        assertConfigError(try Config.parse(addingModelKeys("fourier_scaling = true\nuse_bn = true", to: base), file: "h.toml", name: "h"),
                          mentions: ["h.toml", "[model] fourier_scaling", "use_bn"])
        assertConfigError(try Config.parse(addingModelKeys("fourier_scaling = 1", to: base), file: "i.toml", name: "i"),
                          mentions: ["i.toml", "[model] fourier_scaling"])
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Round trip, and the spec in the metadata says it has the layer.
        let spec = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, fourierScaling: true)
        let arch = FlowArchitecture(spec: spec)
        let params = makeFlow(spec, seed: 7).parameters.map(Float.init)
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(arch, parameters: params, buffers: [], to: url)
        XCTAssertEqual(try ModelFile.load(arch, from: url.path).parameters, params)
        XCTAssertTrue(try SafeTensors.load(path: url.path).metadata["model_spec"]!.contains("\"fourierScaling\":true"))
        // From a model without the layer: the same couplings, mu = 0.
        var plain = spec
        plain.fourierScaling = false
        let plainArch = FlowArchitecture(spec: plain)
        XCTAssertEqual(plainArch.parameterCount + arch.fourier!.orbits.count, arch.parameterCount)
        let plainURL = dir.appendingPathComponent("plain.safetensors")
        try ModelFile.save(plainArch, parameters: Array(params[..<plainArch.parameterCount]), buffers: [], to: plainURL)
        XCTAssertFalse(try SafeTensors.load(path: plainURL.path).metadata["model_spec"]!.contains("fourier"))
        let started = try ModelFile.load(arch, from: plainURL.path).parameters
        XCTAssertEqual(Array(started[..<plainArch.parameterCount]), Array(params[..<plainArch.parameterCount]))
        XCTAssertEqual(Array(started[plainArch.parameterCount...]), [Float](repeating: 0, count: arch.fourier!.orbits.count))
        // A model with the layer cannot start one without it (its couplings were trained on u, not z).
        XCTAssertThrowsError(try ModelFile.load(plainArch, from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("fourier.log_scale") && "\(e)".contains("fourier_scaling = true"), "\(e)")
        }
        // A model whose spec has the layer but whose file lost its tensor is refused, not silently reset.
        var lost = try SafeTensors.load(path: url.path)
        lost.tensors[FlowArchitecture.fourierTensorName] = nil
        let lostURL = dir.appendingPathComponent("lost.safetensors")
        try SafeTensors.encode(lost.tensors.map { ($0.key, $0.value) }, metadata: lost.metadata).write(to: lostURL)
        XCTAssertThrowsError(try ModelFile.load(arch, from: lostURL.path)) { e in
            XCTAssertTrue("\(e)".contains("fourier.log_scale") && "\(e)".contains("missing"), "\(e)")
        }
        // L = 4 -> L = 8: equal p^2 gives equal mu (the mean where orbits share a p^2),
        // and the rest lies between neighbours.
        var large = spec
        large.L = 8
        let largeArch = FlowArchitecture(spec: large)
        let moved = try ModelFile.load(largeArch, from: url.path).parameters
        XCTAssertEqual(Array(moved[..<plainArch.parameterCount]), Array(params[..<plainArch.parameterCount]))
        let small = arch.fourier!.orbits, big = largeArch.fourier!.orbits
        let muSmall = Array(params[arch.fourier!.offset...]).map(Double.init), muBig = Array(moved[largeArch.fourier!.offset...]).map(Double.init)
        XCTAssertEqual(muBig.count, big.count)
        for (o, p2) in big.momentumSquared.enumerated() {
            let same = small.momentumSquared.indices.filter { abs(small.momentumSquared[$0] - p2) < 1e-12 }
            if !same.isEmpty {
                XCTAssertEqual(muBig[o], same.map { muSmall[$0] }.reduce(0, +) / Double(same.count), accuracy: 1e-6)
            } else {
                XCTAssertGreaterThanOrEqual(muBig[o], muSmall.min()! - 1e-6)
                XCTAssertLessThanOrEqual(muBig[o], muSmall.max()! + 1e-6)
            }
        }
        // By hand: L = 8's orbit (0, 1) has p^2 = 4 sin^2(pi/8) = 0.586, between L = 4's
        // (0, 0) at 0 and (0, 1) at 2: mu = mu00 + (mu01 - mu00) 0.586/2.
        let p2 = 4 * pow(sin(Double.pi / 8), 2)
        let o8 = try XCTUnwrap(big.representatives.firstIndex(of: [0, 1]))
        let a = muSmall[try XCTUnwrap(small.representatives.firstIndex(of: [0, 0]))]
        let b = muSmall[try XCTUnwrap(small.representatives.firstIndex(of: [0, 1]))]
        XCTAssertEqual(muBig[o8], a + (b - a) * p2 / 2, accuracy: 1e-6)
    }

    /// It trains, its log-scales move, the chain's acceptance is measured, and the footprint counts its parameters.
    func testTrainsThroughTheTrainer() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = tinyConfigText(epochs: 2, iterations: 20, batch: 16, hidden: [4], extra: "result = \"\(dir.path)\"\ngradient = \"path\"")
            .replacingOccurrences(of: "[model]\n", with: "[model]\nfourier_scaling = true\n")
        let trainer = try Trainer(config: Config.parse(text, file: "t.toml", name: "t"))
        try trainer.train()
        let f = trainer.flow.architecture.fourier!
        XCTAssertGreaterThan(trainer.flow.parameters[f.offset...].map(abs).max()!, 1e-3)
        XCTAssertTrue(trainer.history.records.allSatisfy { $0.acceptanceRate > 0 && $0.acceptanceRate <= 100 })
        XCTAssertEqual(ModelFootprint(spec: trainer.config.model).parameters, Double(trainer.flow.architecture.parameterCount))
    }
}

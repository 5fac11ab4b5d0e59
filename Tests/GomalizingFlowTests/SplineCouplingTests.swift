import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `[model] type = "spline"`: couplings whose site-wise map is a monotone
/// rational-quadratic spline (`RationalQuadraticSpline`, `SplineCoupling`).
final class SplineCouplingTests: XCTestCase {
    /// Raw parameters of one site, large enough that bins and slopes differ clearly.
    func randomTheta(_ spline: RationalQuadraticSpline<Double>, seed: UInt64) -> [Double] {
        randomArray(spline.parameterCount, seed: seed, scale: 1.5)
    }

    func evaluate(_ spline: RationalQuadraticSpline<Double>, _ x: Double, _ theta: [Double]) -> RationalQuadraticSpline<Double>.Point {
        var scratch = [Double](repeating: 0, count: spline.scratchCount)
        return spline.evaluate(x, theta, scratch: &scratch)
    }

    /// One site: zero parameters are the identity; the map is monotone and
    /// continuous (at the knots and at +-B); dy/dx and d log(dy/dx)/dx against
    /// central differences; the inverse gives x back with the same log-derivative.
    func testSplineIsMonotoneExactAndInvertible() {
        for (bins, bound) in [(2, 1.0), (5, 3.0), (8, 5.0)] {
            let spline = RationalQuadraticSpline<Double>(bins: bins, bound: bound)
            let zero = [Double](repeating: 0, count: spline.parameterCount)
            for x in [-bound * 0.9, -0.3, 0.0, 0.7, bound * 0.99] {
                let p = evaluate(spline, x, zero)
                XCTAssertEqual(p.y, x, accuracy: 1e-12)
                XCTAssertEqual(p.logDerivative, 0, accuracy: 1e-12)
            }
            for seed in 1...4 {
                let theta = randomTheta(spline, seed: UInt64(seed * 10 + bins))
                var last = -Double.infinity
                var scratch = [Double](repeating: 0, count: spline.scratchCount)
                for step in 0...4000 {
                    let x = -1.2 * bound + 2.4 * bound * Double(step) / 4000
                    let p = evaluate(spline, x, theta)
                    // Monotone and, on this grid of steps 6e-4 B with slopes below ~e^5, without jumps.
                    XCTAssertGreaterThan(p.y, last)
                    if step > 0 { XCTAssertLessThan(p.y - last, 0.1 * bound) }
                    last = p.y
                    XCTAssertEqual(p.logDerivative, log(p.derivative), accuracy: 1e-10)
                    let h = 1e-6
                    let yp = evaluate(spline, x + h, theta), ym = evaluate(spline, x - h, theta)
                    // Central differences straddling a knot are one-sided on each half: skip those.
                    if yp.bin == ym.bin {
                        XCTAssertEqual(p.derivative, (yp.y - ym.y) / (2 * h), accuracy: 1e-6 * max(1, p.derivative))
                        XCTAssertEqual(p.logDerivativeSlope, (yp.logDerivative - ym.logDerivative) / (2 * h),
                                       accuracy: 1e-5 * max(1, abs(p.logDerivativeSlope)))
                    }
                    let back = spline.inverse(p.y, theta, scratch: &scratch)
                    XCTAssertEqual(back.x, x, accuracy: 1e-11)
                    XCTAssertEqual(back.logDerivative, p.logDerivative, accuracy: 1e-9)
                }
                // Continuous at +-B, where it meets the identity.
                XCTAssertEqual(evaluate(spline, bound * (1 - 1e-12), theta).y, bound, accuracy: 1e-9)
                XCTAssertEqual(evaluate(spline, -bound * (1 - 1e-12), theta).y, -bound, accuracy: 1e-9)
            }
        }
    }

    /// It is the advertised spline, not only a self-consistent one: at every
    /// interior knot (sizes from the softmax with the least size, slopes from
    /// the shifted softplus, computed here independently) y = y_k and
    /// dy/dx = d_k, and the ends meet the identity with slope 1.
    func testKnotsAndSlopesAreThoseOfTheParameters() {
        let (K, B) = (6, 2.5)
        let spline = RationalQuadraticSpline<Double>(bins: K, bound: B)
        let theta = randomTheta(spline, seed: 77)
        func sizes(_ raw: ArraySlice<Double>) -> [Double] {
            let e = raw.map { exp($0) }, total = e.reduce(0, +)
            return e.map { 2 * B * (1e-3 + (1 - Double(K) * 1e-3) * $0 / total) }
        }
        let w = sizes(theta[0..<K]), h = sizes(theta[K..<(2 * K)])
        let shift = log(exp(1 - 1e-3) - 1)
        for k in 1..<K {
            let xk = -B + w[..<k].reduce(0, +), yk = -B + h[..<k].reduce(0, +)
            let dk = 1e-3 + log(1 + exp(theta[2 * K + k - 1] + shift))
            let p = evaluate(spline, xk, theta)
            XCTAssertEqual(p.y, yk, accuracy: 1e-12, "knot \(k)")
            XCTAssertEqual(p.derivative, dk, accuracy: 1e-9 * max(1, dk), "knot \(k)")
        }
        XCTAssertEqual(evaluate(spline, -B + 1e-9, theta).derivative, 1, accuracy: 1e-6)
        XCTAssertEqual(evaluate(spline, B - 1e-9, theta).derivative, 1, accuracy: 1e-6)
    }

    /// Float32: with raw parameters of scale 1 the round trip holds to 1e-5
    /// of the bound B = 5; with scale 3 (slopes down to ~1e-3, where x is
    /// ill-determined by y) the inverse is still backward stable, |dx| f'(x)
    /// within 1e-5 of B; the log-derivatives agree; raw parameters of +-40
    /// give finite values.
    func testFloatRoundTripWithStrongParameters() {
        let spline = RationalQuadraticSpline<Float>(bins: 8, bound: 5)
        var scratch = [Float](repeating: 0, count: spline.scratchCount)
        for scale in [1.0, 3.0] {
            var worst: Float = 0, worstScaled: Float = 0
            for seed in 1...20 {
                let theta = randomArray(spline.parameterCount, seed: UInt64(100 + seed), scale: scale).map(Float.init)
                for step in 0...400 {
                    let x = Float(-5.5 + 11 * Double(step) / 400)
                    let p = spline.evaluate(x, theta, scratch: &scratch)
                    let back = spline.inverse(p.y, theta, scratch: &scratch)
                    worst = max(worst, abs(back.x - x))
                    worstScaled = max(worstScaled, abs(back.x - x) * p.derivative)
                    XCTAssertEqual(back.logDerivative, p.logDerivative, accuracy: 2e-3 * max(1, abs(p.logDerivative)))
                }
            }
            XCTAssertLessThan(worstScaled, 5e-5, "scale \(scale)")
            if scale == 1 { XCTAssertLessThan(worst, 5e-5) }
        }
        let extreme = (0..<spline.parameterCount).map { Float($0 % 2 == 0 ? 40 : -40) }
        for x: Float in [-4.9, -1, 0, 0.3, 2, 4.99] {
            let p = spline.evaluate(x, extreme, scratch: &scratch)
            XCTAssertTrue(p.y.isFinite && p.logDerivative.isFinite && p.logDerivativeSlope.isFinite)
            XCTAssertTrue(spline.inverse(p.y, extreme, scratch: &scratch).x.isFinite)
        }
    }

    /// The pullback in theta against central differences of gy y + gl l, for
    /// points in every bin.
    func testSplinePullbackMatchesFiniteDifferences() {
        let spline = RationalQuadraticSpline<Double>(bins: 6, bound: 3)
        var bins = Set<Int>()
        for seed in 1...6 {
            let theta = randomTheta(spline, seed: UInt64(seed))
            for x in stride(from: -2.95, through: 2.95, by: 0.37) {
                let gy = 0.8, gl = -1.3
                let p = evaluate(spline, x, theta)
                bins.insert(p.bin)
                var scratch = [Double](repeating: 0, count: spline.scratchCount)
                let q = spline.evaluate(x, theta, scratch: &scratch)
                var g = [Double](repeating: 0, count: spline.parameterCount)
                spline.pullback(q, theta, gy: gy, gl: gl, scratch: &scratch, gTheta: &g)
                var numeric: [Double] = []
                for j in theta.indices {
                    var tp = theta, tm = theta
                    tp[j] += 1e-6
                    tm[j] -= 1e-6
                    let a = evaluate(spline, x, tp), b = evaluate(spline, x, tm)
                    numeric.append((gy * (a.y - b.y) + gl * (a.logDerivative - b.logDerivative)) / 2e-6)
                }
                assertGradientsMatch(analytic: g, numeric: numeric, tolerance: 1e-5, floor: 1e-4, "x = \(x)")
            }
        }
        XCTAssertEqual(bins, Set(0..<6), "every bin was tested")
    }

    let specs = [ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, useFinalTanh: false, seed: 3,
                           coupling: .spline(.init(bins: 4, bound: 2))),
                 ModelSpec(L: 5, d: 2, nLayers: 3, hiddenSizes: [3], kernelSize: 3, crossKernel: true, useFinalTanh: false, seed: 4,
                           fourierScaling: true, coupling: .spline(.init(bins: 5, bound: 1.5))),
                 ModelSpec(L: 3, d: 3, nLayers: 2, hiddenSizes: [3], kernelSize: 3, useFinalTanh: false, seed: 5,
                           coupling: .spline(.init(bins: 3, bound: 2.5)))]

    /// A flow of `spec` with its seeded weights (and random Fourier
    /// log-scales): sites fall inside the spline's interval and outside it.
    /// Not scaled up as the affine tests do: raw spline parameters of 10 give
    /// bins of the least width and slopes of e^10, where central differences
    /// no longer measure anything.
    func makeFlow(_ spec: ModelSpec, seed: UInt64 = 1) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        if let f = flow.architecture.fourier {
            let mu = randomArray(f.orbits.count, seed: seed, scale: 0.5)
            for o in 0..<f.orbits.count { flow.parameters[f.offset + o] = mu[o] }
        }
        return flow
    }

    /// log|det J| against the brute-force Jacobian; inverse(forward(z)) = z with
    /// the same log-det (Double); in Float32 the round trip holds to 1e-5 at L = 12.
    func testSplineFlowLogDetIsExactAndInverts() {
        for spec in specs {
            let flow = makeFlow(spec)
            let V = flow.lattice.volume
            let z = randomNormal(V, seed: 11).map { 1.5 * $0 }
            let (phi, logJ) = flowForward(flow, z, n: 1)
            let brute = bruteForceLogDet(flow, at: z)
            XCTAssertGreaterThan(abs(brute), 0.5, "a non-trivial Jacobian")
            XCTAssertEqual(logJ[0], brute, accuracy: 1e-6, "L = \(spec.L), d = \(spec.d)")
            let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
            back.output.update(from: phi, count: V)
            flow.inverse(tape: back, n: 1)
            for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-10) }
            XCTAssertEqual(back.logJ[0], logJ[0], accuracy: 1e-9)
        }
        let spec = ModelSpec(L: 12, d: 2, nLayers: 6, hiddenSizes: [8], kernelSize: 3, crossKernel: true, useFinalTanh: false, seed: 6,
                             fourierScaling: true, coupling: .spline(.init(bins: 8, bound: 4)))
        let f = Flow<Float>(architecture: FlowArchitecture(spec: spec), parameters: makeFlow(spec).parameters.map(Float.init))
        let V = f.lattice.volume
        let z = randomNormal(4 * V, seed: 12).map { Float(1.5 * $0) }
        let tape = FlowTape<Float>(architecture: f.architecture, capacity: 4)
        tape.input.update(from: z, count: 4 * V)
        f.forward(tape: tape, n: 4)
        let back = FlowTape<Float>(architecture: f.architecture, capacity: 4)
        back.output.update(from: tape.output, count: 4 * V)
        f.inverse(tape: back, n: 4)
        var worst: Float = 0
        for i in 0..<(4 * V) { worst = max(worst, abs(back.input[i] - z[i])) }
        XCTAssertLessThan(worst, 1e-5)
        for b in 0..<4 { XCTAssertEqual(back.logJ[b], tape.logJ[b], accuracy: 1e-3 * max(1, abs(tape.logJ[b]))) }
    }

    /// The flow's pullback against central differences of sum r phi + sum c logJ,
    /// in the parameters (every tensor, the last layers' included) and in z.
    func testSplineFlowPullbackMatchesFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec, seed: 2)
            let V = flow.lattice.volume
            let grads = assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 21), r: randomArray(2 * V, seed: 22),
                parameters: spreadIndices(flow.parameters.count, samples: 200), "L = \(spec.L), d = \(spec.d)")
            XCTAssertGreaterThan(spreadIndices(flow.parameters.count, samples: 200).map { abs(grads[$0]) }.max()!, 1e-2)
        }
    }

    /// d log q / d phi (the path gradient's input) against central differences
    /// of log q computed through the inverse.
    func testSplineDensityGradientMatchesFiniteDifferences() {
        for spec in specs {
            let flow = makeFlow(spec, seed: 3)
            assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(flow.lattice.volume, seed: 31).map { 1.5 * $0 }, n: 1,
                                                          "L = \(spec.L), d = \(spec.d)")
        }
    }

    /// Config keys and their one-line errors; the run definition; model files
    /// that name the family when it does not match.
    func testConfigKeysAndModelFiles() throws {
        let base = tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4])
        func parse(_ model: String, _ name: String = "s") throws -> Config {
            try Config.parse(base.replacingOccurrences(of: "[model]\n", with: "[model]\n" + model), file: name + ".toml", name: name)
        }
        let c = try parse("type = \"spline\"\nspline_bins = 6\nspline_bound = 4\n")
        XCTAssertEqual(c.model.coupling, .spline(SplineCoupling(bins: 6, bound: 4)))
        XCTAssertEqual(c.model.couplingOutputs, 17)
        XCTAssertEqual(c.runDefinition["[model] type"], "spline")
        XCTAssertEqual(c.runDefinition["[model] spline_bins"], "6")
        XCTAssertEqual(try parse("type = \"spline\"\n").model.coupling, .spline(SplineCoupling(bins: 8, bound: 5)))
        XCTAssertEqual(try parse("outC = 23\ntype = \"spline\"\n").model.couplingOutputs, 23)
        let plain = try parse("")
        XCTAssertEqual(plain.model.coupling, .affine)
        XCTAssertEqual(plain.runDefinition["[model] type"], "affine")
        XCTAssertNil(plain.runDefinition["[model] spline_bins"])
        XCTAssertEqual(try parse("type = \"affine\"\n").model, plain.model)
        XCTAssertEqual(try parse("type = \"Spline\"\n").model.coupling.typeName, "spline")
        // Resume refuses another family or spline; a checkpoint from before the key was affine.
        XCTAssertEqual(Config.definitionDifferences(run: plain.runDefinition, now: c.runDefinition),
                       ["[model] type: affine in the run, spline now", "[model] use_final_tanh: true in the run, false now"])
        XCTAssertEqual(Config.definitionDifferences(run: c.runDefinition,
                                                     now: try parse("type = \"spline\"\nspline_bins = 6\nspline_bound = 3\n").runDefinition),
                       ["[model] spline_bound: 4.0 in the run, 3.0 now"])
        var old = plain.runDefinition
        old["[model] type"] = nil
        XCTAssertEqual(Config.definitionDifferences(run: old, now: plain.runDefinition), [])
        for (text, mentions) in [("type = \"rqs\"\n", ["[model] type", "spline"]),
                                 ("type = \"spline\"\nspline_bins = 1\n", ["[model] spline_bins"]),
                                 ("type = \"spline\"\nspline_bound = -1.0\n", ["[model] spline_bound"]),
                                 ("type = \"spline\"\nspline_bound = 1e-9\n", ["[model] spline_bound", "0.01"]),
                                 ("type = \"spline\"\nspline_bound = 1e6\n", ["[model] spline_bound", "100"]),
                                 ("type = \"spline\"\nuse_bn = true\n", ["[model] use_bn", "spline"]),
                                 ("type = \"spline\"\nz2_equivariant = true\n", ["[model] z2_equivariant"]),
                                 ("type = \"spline\"\nuse_final_tanh = true\n", ["[model] use_final_tanh"]),
                                 ("type = \"spline\"\noutC = 2\n", ["[model] outC", "23"]),
                                 ("spline_bins = 8\n", ["[model] spline_bins", "type = \"spline\""])] {
            XCTAssertThrowsError(try parse(text, "bad")) { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains("bad.toml") && mentions.allSatisfy(m.contains) && !m.contains("\n"), m)
            }
        }
        // Model files: a round trip; the spec in the metadata; a family that does not match is named.
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = specs[0]
        let arch = FlowArchitecture(spec: spec)
        let params = makeFlow(spec).parameters.map(Float.init)
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(arch, parameters: params, buffers: [], to: url)
        XCTAssertEqual(try ModelFile.load(arch, from: url.path).parameters, params)
        XCTAssertTrue(try SafeTensors.load(path: url.path).metadata["model_spec"]!.contains("\"spline\":{\"bins\":4,\"bound\":2}"))
        var affine = spec
        affine.coupling = .affine
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: affine), from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("type = \"spline\" with 4 bins") && "\(e)".contains("type = \"affine\"")
                          && "\(e)".contains("m.safetensors") && !"\(e)".contains("\n"), "\(e)")
        }
        // Another bound is another map: refused, with both named.
        var wider = spec
        wider.coupling = .spline(.init(bins: 4, bound: 3))
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: wider), from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("[-2.0, 2.0]") && "\(e)".contains("[-3.0, 3.0]"), "\(e)")
        }
        // Weights do not depend on L: a spline model starts a larger lattice's spline flow.
        var large = spec
        large.L = 8
        XCTAssertEqual(try ModelFile.load(FlowArchitecture(spec: large), from: url.path).parameters, params)
        // An affine model's metadata has no spline key: its files are what they were.
        let affineURL = dir.appendingPathComponent("a.safetensors")
        try ModelFile.save(FlowArchitecture(spec: affine), parameters: Array(repeating: 0, count: FlowArchitecture(spec: affine).parameterCount),
                           buffers: [], to: affineURL)
        XCTAssertFalse(try SafeTensors.load(path: affineURL.path).metadata["model_spec"]!.contains("spline"))
    }

    /// The chain is exact with the new family: flow + MH with spline couplings
    /// and the Fourier layer against HMC at E1 (L = 6, m2 = -4, lam = 6.975),
    /// chi_2 and the Ising energy within 3 combined sigma (the CI-sized version
    /// of the L = 12 check in docs/studies/large-lattices.md).
    func testFlowAndHMCAgreeOnE1() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try testConfig(name: "e1-spline", result: dir, L: 6, M2: -4, lam: 6.975, batch: 64, iterations: 600,
                               lr: 0.003, layers: 6, hidden: [8], evalSamples: 256, seed: 4)
        c.model.coupling = .spline(.init(bins: 4, bound: 4))
        c.model.useFinalTanh = false
        c.model.fourierScaling = true
        c.model.crossKernel = true
        c.training.pathGradient = true
        let trainer = try Trainer(config: c)
        try trainer.train()
        assertFlowAndHMCAgree(trainer.flow, config: c)
    }

    /// It trains through the Trainer with the path gradient (loss falls), and
    /// the footprint counts its parameters.
    func testTrainsThroughTheTrainer() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = tinyConfigText(epochs: 3, iterations: 25, batch: 16, hidden: [4], extra: "result = \"\(dir.path)\"\ngradient = \"path\"")
            .replacingOccurrences(of: "[model]\n", with: "[model]\ntype = \"spline\"\nspline_bins = 4\nspline_bound = 3\n")
        let trainer = try Trainer(config: Config.parse(text, file: "t.toml", name: "t"))
        try trainer.train()
        let records = trainer.history.records
        XCTAssertEqual(records.count, 3)
        XCTAssertTrue(records.allSatisfy { $0.acceptanceRate > 0 && $0.acceptanceRate <= 100 && $0.loss.isFinite })
        XCTAssertLessThan(records.last!.loss, records.first!.loss)
        XCTAssertEqual(ModelFootprint(spec: trainer.config.model).parameters, Double(trainer.flow.architecture.parameterCount))
    }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Z2-symmetrised proposals (`Z2Mixture`, `sample --z2`) and the one-vacuum
/// diagnostics (`VacuumDiagnostics`), on a two-site lattice where every
/// density can be integrated by brute force.
final class Z2MixtureTests: XCTestCase {
    let lattice = Lattice(L: 2, d: 1)
    /// Broken phase: two vacua near phi = ±1.7 with a barrier between them that a flow centred on one never crosses.
    var action: Phi4Action { Phi4Action(lattice: lattice, m2: -6, lam: 1) }

    /// A flow of two affine couplings whose last layers output s = 0, t = `shift`:
    /// phi = z + shift on every site, a proposal centred on one vacuum.
    func shiftedFlow(_ shift: Float) -> Flow<Float> {
        let spec = ModelSpec(L: 2, d: 1, nLayers: 2, hiddenSizes: [2], kernelSize: 3, useFinalTanh: false, seed: 1)
        let flow = Flow<Float>(spec: spec)
        for t in flow.architecture.tensors where t.name.hasPrefix("layers.") && t.name.contains(".net.1.") {
            for k in 0..<t.count { flow.parameters[t.offset + k] = 0 }
            if t.name.hasSuffix(".bias") { flow.parameters[t.offset + 1] = shift }
        }
        return flow
    }

    /// Over a grid of the plane: the mixture's density integrates to 1, is even, and
    /// is the mean of the flow's density at phi and -phi, here two shifted normals.
    func testTheMixtureDensityIsTheNormalisedEvenMeanOfTheFlows() {
        let shift: Float = 1.5
        let flow = shiftedFlow(shift)
        let mixture = Z2Mixture(flow: flow, prior: .normal, batchSize: 64, seed: 3, threads: 2)
        let h = 0.05, lo = -8.0, n = Int(16 / h)
        var total = 0.0, worst = 0.0
        var phi = [Float](repeating: 0, count: 2 * n), logQMinus = [Double](repeating: 0, count: n)
        var logQPlus = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n {
                phi[2 * j] = Float(lo + h * Double(i))
                phi[2 * j + 1] = Float(lo + h * Double(j))
            }
            // log q(-phi) directly; log q(phi) as log q(-(-phi)).
            mixture.logDensityOfNegated(phi, n: n, into: &logQMinus)
            let negated = phi.map { -$0 }
            mixture.logDensityOfNegated(negated, n: n, into: &logQPlus)
            for j in 0..<n {
                let x = Double(phi[2 * j]), y = Double(phi[2 * j + 1]), s = Double(shift)
                let exact = -log(2 * Double.pi) - 0.5 * ((x - s) * (x - s) + (y - s) * (y - s))
                worst = max(worst, abs(logQPlus[j] - exact) * exp(exact))
                let q = Z2Mixture.logMeanExp(logQPlus[j], logQMinus[j])
                XCTAssertEqual(q, Z2Mixture.logMeanExp(logQMinus[j], logQPlus[j]))
                total += exp(q) * h * h
            }
        }
        XCTAssertEqual(total, 1, accuracy: 1e-3, "the mixture is a normalised density")
        XCTAssertLessThan(worst, 1e-5, "the inverse pass gives the flow's density")
    }

    /// With a general flow (s != 0, so the log-det matters): the inverse pass at
    /// -(-phi) gives the forward pass's log q(phi), and `symmetrise` combines the
    /// two terms and negates exactly the proposals its coins say.
    func testTheInverseTermIsTheFlowsDensityAndSymmetriseCombinesBoth() {
        let spec = ModelSpec(L: 4, d: 2, nLayers: 4, hiddenSizes: [8], kernelSize: 3, seed: 7, fourierScaling: true)
        let flow = Flow<Float>(spec: spec)
        flow.parameters = flow.parameters.map { 2 * $0 }
        let V = 16, n = 12
        let prior = Prior(.normal, volume: V)
        let tape = FlowTape<Float>(architecture: flow.architecture, capacity: n)
        let z = randomNormal(n * V, seed: 3).map(Float.init)
        tape.input.update(from: z, count: n * V)
        flow.forward(tape: tape, n: n)
        let phi = Array(UnsafeBufferPointer(start: tape.output, count: n * V))
        let logQ = (0..<n).map { b in prior.logDensity(tape.input + b * V) - Double(tape.logJ[b]) }
        XCTAssertGreaterThan(tape.logJ.pointee.magnitude, 0.1, "a flow with a non-trivial log-det")
        let mixture = Z2Mixture(flow: flow, prior: .normal, batchSize: 8, seed: 5, threads: 2)
        var back = [Double](repeating: 0, count: n), other = [Double](repeating: 0, count: n)
        mixture.logDensityOfNegated(phi.map { -$0 }, n: n, into: &back)
        for b in 0..<n { XCTAssertEqual(back[b], logQ[b], accuracy: 1e-3 * max(1, abs(logQ[b]))) }
        mixture.logDensityOfNegated(phi, n: n, into: &other)
        var field = phi, q = logQ
        mixture.symmetrise(phi: &field, logQ: &q, n: n, first: 40)
        for b in 0..<n {
            XCTAssertEqual(q[b], Z2Mixture.logMeanExp(logQ[b], other[b]), accuracy: 1e-12)
            let sign: Float = mixture.negates(40 + b) ? -1 : 1
            for v in 0..<V { XCTAssertEqual(field[b * V + v], sign * phi[b * V + v]) }
        }
        XCTAssertTrue((0..<n).contains { mixture.negates(40 + $0) } && (0..<n).contains { !mixture.negates(40 + $0) })
        XCTAssertEqual(mixture.nonFinite, 0)
    }

    /// The exact <|M|> and V<M^2> of the two-site theory, by quadrature.
    func exactMoments() -> (absM: Double, chi: Double) {
        let h = 0.01, lo = -6.0, n = Int(12 / h)
        var z = 0.0, absM = 0.0, m2 = 0.0
        for i in 0..<n {
            for j in 0..<n {
                let p: [Double] = [lo + h * Double(i), lo + h * Double(j)]
                let w = exp(-action.action(p))
                let m = (p[0] + p[1]) / 2
                z += w
                absM += w * abs(m)
                m2 += w * m * m
            }
        }
        return (absM / z, 2 * m2 / z)
    }

    /// A flow proposing one vacuum only: its chain never leaves it (and the
    /// diagnostics say so); the symmetrised chain samples both, with <M> = 0
    /// and the exact <|M|> and V<M^2> within errors.
    func testSymmetrisedProposalsReachBothVacuaExactly() {
        let flow = shiftedFlow(1.7)
        let exact = exactMoments()
        func chain(_ symmetrised: Bool) -> Observables {
            let sampler = FlowSampler(flow: flow, action: action, batchSize: 256, seed: 9, threads: 2, symmetrised: symmetrised)
            var m = Measurements(lattice: lattice)
            sampler.run(steps: 40_000) { phi, _, _, _ in m.add([Double(phi[0]), Double(phi[1])]) }
            return Observables(m)
        }
        let plain = chain(false)
        let vacua = try? XCTUnwrap(plain.vacua)
        XCTAssertEqual(vacua?.positiveFraction ?? 0, 1, accuracy: 0.01, "the plain chain stays in the vacuum it is proposed")
        XCTAssertEqual(vacua?.oneSided, true)
        XCTAssertTrue((plain.warnings ?? []).contains { $0.hasPrefix("one vacuum:") }, "\(plain.warnings ?? [])")

        let both = chain(true)
        let m = both.magnetization!, absM = both.absMagnetization, chi = both.symmetricSusceptibility!
        XCTAssertEqual(both.vacua?.oneSided, false, "\(both.vacua!)")
        XCTAssertEqual(both.vacua?.positiveFraction ?? 0, 0.5, accuracy: 0.05)
        XCTAssertLessThan(abs(m.value), 4 * m.error, "<M> = 0: \(m)")
        XCTAssertLessThan(abs(absM.value - exact.absM), 4 * absM.error, "<|M|> \(absM) against \(exact.absM)")
        XCTAssertLessThan(abs(chi.value - exact.chi), 4 * chi.error, "V<M^2> \(chi) against \(exact.chi)")
        XCTAssertFalse((both.warnings ?? []).contains { $0.hasPrefix("one vacuum:") })
    }

    /// The sign stream: a fair coin per proposal index, independent of batching.
    func testSignsAreAFairCoinPerProposal() {
        let mixture = Z2Mixture(flow: shiftedFlow(1), prior: .normal, batchSize: 8, seed: 4, threads: 1)
        let n = 20_000
        let flips = (0..<n).filter { mixture.negates($0) }.count
        XCTAssertEqual(Double(flips) / Double(n), 0.5, accuracy: 4 * 0.5 / Double(n).squareRoot())
        XCTAssertEqual((0..<100).map { mixture.negates($0) },
                       (0..<100).map { Z2Mixture(flow: shiftedFlow(1), prior: .normal, batchSize: 64, seed: 4, threads: 2).negates($0) })
        XCTAssertEqual(Z2Mixture.logMeanExp(-.infinity, -.infinity), -.infinity)
        XCTAssertEqual(Z2Mixture.logMeanExp(0, 0), 0, accuracy: 1e-15)
        XCTAssertEqual(Z2Mixture.logMeanExp(-1000, 0), log(0.5), accuracy: 1e-12)
    }

    /// `sample --z2`: a bad value is one line; `on` writes its reason into the
    /// chain's record and an even chain (M > 0 about half the time); `off` and
    /// `auto` on a balanced flow give the chain of earlier versions (the same file).
    func testSampleCommandChoosesAndRecordsTheProposal() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("z.toml")
        try tinyConfigText(epochs: 1, iterations: 3).write(to: cfg, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("res/z")
        let t = try runProcess(exe, ["train", cfg.path, "--quiet", "--result", dir.appendingPathComponent("res").path])
        XCTAssertEqual(t.code, 0, t.err)
        let bad = try runProcess(exe, ["sample", folder.path, "--n", "10", "--z2", "maybe"])
        XCTAssertEqual(bad.code, 2)
        XCTAssertEqual(bad.err.split(separator: "\n").count, 1, bad.err)
        XCTAssertTrue(bad.err.contains("--z2 must be auto, on or off"), bad.err)

        func sample(_ mode: String) throws -> (Data, Provenance?) {
            let out = dir.appendingPathComponent("\(mode).npy")
            let r = try runProcess(exe, ["sample", folder.path, "--n", "400", "--seed", "2", "--z2", mode, "--out", out.path])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertTrue(r.out.contains("Z2-symmetrised proposals " + (mode == "auto" ? "" : mode + " (--z2 " + mode + ")")), r.out)
            return (try Data(contentsOf: out), try Provenance.loadIfPresent(Provenance.sidecar(of: out)))
        }
        let (on, record) = try sample("on")
        XCTAssertEqual(record?.details?["z2"], "on (--z2 on)")
        let npy = try NpyFile(path: dir.appendingPathComponent("on.npy").path)
        var row: [Double] = [], positive = 0
        for r in 0..<npy.rowCount {
            npy.row(r, into: &row)
            if row.reduce(0, +) > 0 { positive += 1 }
        }
        XCTAssertEqual(Double(positive) / Double(npy.rowCount), 0.5, accuracy: 0.15)
        let (off, _) = try sample("off")
        XCTAssertNotEqual(on, off)
        let (auto, autoRecord) = try sample("auto")
        if autoRecord?.details?["z2"]?.hasPrefix("off") == true { XCTAssertEqual(auto, off) } else { XCTAssertEqual(auto, on) }

        // A model whose couplings shift every site by +tanh(3): its proposals all have M > 0, and auto turns the mixture on.
        let config = try Config.parse(tinyConfigText(epochs: 1, iterations: 3), file: "z.toml", name: "z")
        let shifted = Flow<Float>(spec: config.model)
        for t in shifted.architecture.tensors where t.name.contains(".net.1.") {
            for k in 0..<t.count { shifted.parameters[t.offset + k] = 0 }
            if t.name.hasSuffix(".bias") { shifted.parameters[t.offset + 1] = 3 }
        }
        try ModelFile.save(shifted, to: folder.appendingPathComponent("model_best.safetensors"))
        let lopsided = dir.appendingPathComponent("lopsided.npy")
        let r = try runProcess(exe, ["sample", folder.path, "--n", "200", "--seed", "2", "--out", lopsided.path])
        XCTAssertEqual(r.code, 0, r.err)
        let lopsidedRecord = try Provenance.loadIfPresent(Provenance.sidecar(of: lopsided))
        XCTAssertEqual(lopsidedRecord?.details?["z2"], "on (auto: M > 0 in 100.0% of 1024 pilot proposals)", r.out)
    }
}

import GomalizingFlow
import GomalizingRun
import XCTest

final class BatchNormTests: XCTestCase {
    func bnSpec(d: Int = 2, k: Int? = nil, layers: Int = 2) -> ModelSpec {
        ModelSpec(L: 4, d: d, nLayers: layers, hiddenSizes: [4], kernelSize: 3, convAxes: k, useFinalTanh: true, useBN: true, seed: 8)
    }

    /// A flow whose batch norms are not the identity: random scales, shifts and running statistics.
    func perturbed(_ spec: ModelSpec) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        let noise = randomArray(flow.parameters.count, seed: 77, scale: 0.3)
        for t in flow.architecture.tensors where t.name.contains(".bn.") {
            for i in t.offset..<(t.offset + t.count) { flow.parameters[i] += noise[i] }
        }
        let r = randomArray(flow.buffers.count, seed: 78, scale: 0.5)
        for t in flow.architecture.bufferTensors {
            for i in t.offset..<(t.offset + t.count) {
                flow.buffers[i] = t.name.hasSuffix("running_var") ? 1 + abs(r[i]) : r[i]
            }
        }
        return flow
    }

    /// Training-mode loss gradient, through the batch statistics, against finite
    /// differences of the training-mode loss on a fixed batch split over 3 chunks.
    func testTrainingGradientThroughBatchStatistics() {
        for spec in [bnSpec(), bnSpec(d: 3, k: 2)] {
            let flow = perturbed(spec)
            let V = flow.lattice.volume, B = 6
            let action = Phi4Action(lattice: flow.lattice, m2: -4, lam: 8)
            let runner = BatchRunner(flow: flow, action: action, batchSize: B, threads: 2, chunkSize: 2)
            let z = randomNormal(B * V, seed: 91)
            let before = flow.buffers
            _ = runner.run(z: z, withGradient: true, training: true)
            let grads = runner.gradient
            XCTAssertNotEqual(flow.buffers, before, "a training step updates the running statistics")
            flow.buffers = before
            let (analytic, numeric) = parameterGradientPairs(flow, analytic: grads) {
                runner.run(z: z, withGradient: false, training: true)
            }
            XCTAssertEqual(flow.buffers, before, "loss evaluations without a gradient leave the running statistics alone")
            assertGradientsMatch(analytic: analytic, numeric: numeric, tolerance: 1e-4, floor: 0.05, "BN training \(spec.convName)")
        }
    }

    /// With running statistics the flow is a fixed bijection per configuration:
    /// exact inverse, log-det equal to the brute-force Jacobian, and a pullback
    /// that matches finite differences.
    func testSamplingModeIsAnExactBijection() {
        let flow = perturbed(bnSpec(layers: 4))
        let V = flow.lattice.volume
        let z = randomNormal(V, seed: 5)
        func forward(_ z: [Double]) -> ([Double], Double) {
            let tape = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
            tape.input.update(from: z, count: V)
            flow.forward(tape: tape, n: 1)
            return (Array(UnsafeBufferPointer(start: tape.output, count: V)), tape.logJ[0])
        }
        let (phi, logJ) = forward(z)
        let tape = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
        tape.output.update(from: phi, count: V)
        flow.inverse(tape: tape, n: 1)
        for i in 0..<V { XCTAssertEqual(tape.input[i], z[i], accuracy: 1e-12) }

        var J = [[Double]](repeating: [Double](repeating: 0, count: V), count: V)
        let h = 1e-6
        for j in 0..<V {
            var zp = z, zm = z
            zp[j] += h; zm[j] -= h
            let (fp, _) = forward(zp), (fm, _) = forward(zm)
            for i in 0..<V { J[i][j] = (fp[i] - fm[i]) / (2 * h) }
        }
        XCTAssertEqual(logJ, logAbsDet(J), accuracy: 1e-6)

        // Pullback of L = sum r phi + c logJ in sampling mode.
        let r = randomArray(V, seed: 6)
        let c = 0.8
        let t2 = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
        t2.input.update(from: z, count: V)
        flow.forward(tape: t2, n: 1)
        var grads = [Double](repeating: 0, count: flow.parameters.count)
        flow.pullback(tape: t2, n: 1, dPhi: r, dLogJ: [c], grads: &grads)
        func loss() -> Double {
            let (p, l) = forward(z)
            var s = c * l
            for i in 0..<V { s += r[i] * p[i] }
            return s
        }
        let (analytic, numeric) = parameterGradientPairs(flow, analytic: grads, h: h, loss)
        assertGradientsMatch(analytic: analytic, numeric: numeric, tolerance: 1e-4, floor: 1e-4, "BN sampling mode")
    }

    func testRunningStatisticsUpdate() {
        let bn = BatchNorm(channels: 2, gammaOffset: 0, betaOffset: 2, meanOffset: 0, varOffset: 2, activation: .identity)
        // Channel 0 takes 1, 2, 3, 4; channel 1 takes 0, 0, 0, 8.
        let z: [Double] = [1, 0, 2, 0, 3, 0, 4, 8]
        var moments = [Double](repeating: 0, count: 4)
        bn.accumulateMoments(z, sites: 4, into: &moments)
        let stats = bn.statistics(moments: moments, count: 4)
        XCTAssertEqual(stats.mean, [2.5, 2])
        XCTAssertEqual(stats.variance, [1.25, 12])
        var buffers: [Double] = [0, 0, 1, 1]
        bn.updateRunning(stats, buffers: &buffers)
        // momentum 0.1, unbiased variance n/(n-1) * biased.
        XCTAssertEqual(buffers[0], 0.25, accuracy: 1e-12)
        XCTAssertEqual(buffers[1], 0.2, accuracy: 1e-12)
        XCTAssertEqual(buffers[2], 0.9 + 0.1 * 1.25 * 4 / 3, accuracy: 1e-12)
        XCTAssertEqual(buffers[3], 0.9 + 0.1 * 16, accuracy: 1e-12)
        // Normalised output has zero mean and unit variance with gamma 1, beta 0.
        var y = [Double](repeating: 0, count: 8)
        bn.forward(z, &y, sites: 4, stats: stats, params: [1, 1, 0, 0])
        XCTAssertEqual(y[0] + y[2] + y[4] + y[6], 0, accuracy: 1e-12)
        XCTAssertEqual((y[1] * y[1] + y[3] * y[3] + y[5] * y[5] + y[7] * y[7]) / 4, 12 / (12 + BatchNorm.eps), accuracy: 1e-9)
    }

    func testThreadCountDoesNotChangeBatchNormTraining() {
        let spec = ModelSpec(L: 6, d: 2, nLayers: 4, hiddenSizes: [8], kernelSize: 3, useBN: true)
        let z = randomNormal(16 * 36, seed: 3).map(Float.init)
        var results: [([Float], [Float])] = []
        for threads in [1, 2] {
            let flow = Flow<Float>(spec: spec)
            let runner = BatchRunner(flow: flow, action: Phi4Action(lattice: flow.lattice, m2: -4, lam: 8), batchSize: 16, threads: threads)
            _ = runner.run(z: z, withGradient: true, training: true)
            results.append((runner.gradient, flow.buffers))
        }
        XCTAssertEqual(results[0].0, results[1].0)
        XCTAssertEqual(results[0].1, results[1].1)
    }
}

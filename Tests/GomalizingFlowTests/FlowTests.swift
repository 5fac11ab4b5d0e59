import GomalizingFlow
import GomalizingRun
import XCTest

final class FlowTests: XCTestCase {
    func spec(L: Int = 4, d: Int = 2, k: Int? = nil, layers: Int = 4, hidden: [Int] = [8, 8], tanh: Bool = true) -> ModelSpec {
        ModelSpec(L: L, d: d, nLayers: layers, hiddenSizes: hidden, kernelSize: 3, convAxes: k, useFinalTanh: tanh, seed: 5)
    }

    func testInverseUndoesForward() {
        for s in [spec(), spec(d: 3, k: 2), spec(d: 4, k: 2, layers: 2, hidden: [4]), spec(tanh: false)] {
            let flow = Flow<Double>(spec: s)
            let V = flow.lattice.volume, n = 3
            let z = randomNormal(n * V, seed: 3)
            let (phi, logJ) = flowForward(flow, z, n: n)
            let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n)
            tape.output.update(from: phi, count: n * V)
            flow.inverse(tape: tape, n: n)
            for i in 0..<(n * V) { XCTAssertEqual(tape.input[i], z[i], accuracy: 1e-12, s.convName) }
            for b in 0..<n { XCTAssertEqual(tape.logJ[b], logJ[b], accuracy: 1e-10) }
            XCTAssertGreaterThan(zip(phi, z).map { abs($0 - $1) }.max()!, 1e-3, "the flow must not be the identity")
        }
    }

    func testInverseInFloat32() {
        let flow = Flow<Float>(spec: spec(L: 8))
        let V = flow.lattice.volume, n = 4
        let z = randomNormal(n * V, seed: 9).map(Float.init)
        let (phi, _) = flowForward(flow, z, n: n)
        let tape = FlowTape<Float>(architecture: flow.architecture, capacity: n)
        tape.output.update(from: phi, count: n * V)
        flow.inverse(tape: tape, n: n)
        for i in 0..<(n * V) { XCTAssertEqual(tape.input[i], z[i], accuracy: 1e-4) }
    }

    /// log|det J| by brute force: the 16 x 16 Jacobian of the whole flow on an
    /// L = 4, d = 2 lattice by central differences, and its determinant by LU.
    func testLogDetEqualsBruteForceJacobian() {
        for s in [spec(layers: 6), spec(k: 1, layers: 4)] {
            let flow = Flow<Double>(spec: s)
            // Larger weights make the map clearly non-volume-preserving.
            flow.parameters = flow.parameters.map { $0 * 3 }
            let z = randomNormal(flow.lattice.volume, seed: 21)
            let (_, logJ) = flowForward(flow, z, n: 1)
            let brute = bruteForceLogDet(flow, at: z)
            XCTAssertGreaterThan(abs(brute), 0.5, "test needs a non-trivial Jacobian")
            XCTAssertEqual(logJ[0], brute, accuracy: 1e-6, s.convName)
        }
    }

    /// Flow pullback against central differences of L = sum r phi + sum c logJ,
    /// for every parameter and every input site, in Float64.
    func testFlowPullbackMatchesFiniteDifferences() {
        for s in [spec(layers: 2), spec(d: 3, k: 2, layers: 2, hidden: [4]), spec(d: 4, k: 3, layers: 2, hidden: [3], tanh: false)] {
            let flow = Flow<Double>(spec: s)
            let V = flow.lattice.volume
            // About 150 parameters spread over all tensors (every layer) keep this fast.
            let grads = assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 31), r: randomArray(2 * V, seed: 32),
                parameters: spreadIndices(flow.parameters.count, samples: 150), zStride: max(1, 2 * V / 24), tolerance: 1e-4, s.convName)
            XCTAssertGreaterThan(grads.map(abs).max()!, 1e-3)
        }
    }

    /// The full reverse-KL gradient (flow + action force + prior) against finite
    /// differences of the loss on a fixed batch.
    func testReverseKLGradient() {
        let flow = Flow<Double>(spec: spec(layers: 2))
        let V = flow.lattice.volume, B = 5
        let action = Phi4Action(lattice: flow.lattice, m2: -4, lam: 8)
        let runner = BatchRunner(flow: flow, action: action, batchSize: B, threads: 1, chunkSize: 2)
        let z = randomNormal(B * V, seed: 41)
        let loss0 = runner.run(z: z, withGradient: true)
        let grads = runner.gradient
        // The loss is mean(log q - log p) computed independently here.
        var expected = 0.0
        for b in 0..<B {
            let zb = Array(z[(b * V)..<((b + 1) * V)])
            let (phi, logJ) = flowForward(flow, zb, n: 1)
            let logq0 = zb.withUnsafeBufferPointer { NormalPrior(volume: V).logDensity($0.baseAddress!) }
            expected += (logq0 - logJ[0] + action.action(phi)) / Double(B)
        }
        XCTAssertEqual(loss0, expected, accuracy: 1e-9 * abs(expected))
        let (analytic, numeric) = parameterGradientPairs(flow, analytic: grads, samples: 300) {
            runner.run(z: z, withGradient: false)
        }
        assertGradientsMatch(analytic: analytic, numeric: numeric, tolerance: 1e-4, floor: 1e-3, "reverse KL")
    }

    /// Chunks own their buffers and are summed in order: any thread count gives
    /// bit-identical losses and gradients.
    func testThreadCountDoesNotChangeResults() {
        let flow = Flow<Float>(spec: spec(L: 6, layers: 4))
        let action = Phi4Action(lattice: flow.lattice, m2: -4, lam: 8)
        let z = randomNormal(16 * flow.lattice.volume, seed: 51).map(Float.init)
        let one = BatchRunner(flow: flow, action: action, batchSize: 16, threads: 1)
        let two = BatchRunner(flow: flow, action: action, batchSize: 16, threads: 2)
        let l1 = one.run(z: z, withGradient: true)
        let l2 = two.run(z: z, withGradient: true)
        XCTAssertEqual(l1, l2)
        XCTAssertEqual(one.gradient, two.gradient)
        XCTAssertEqual(one.logQ, two.logQ)
    }

    func testParameterCountAndInitialisationBounds() {
        let arch = FlowArchitecture(spec: spec(L: 8, layers: 16))
        // Per coupling: 9*1*8+8 + 9*8*8+8 + 9*8*2+2 = 810.
        XCTAssertEqual(arch.parameterCount, 16 * 810)
        let p: [Float] = arch.initialParameters()
        for t in arch.tensors {
            let fanIn = t.conv?.fanIn ?? arch.tensors.first { $0.name == t.name.replacingOccurrences(of: ".bias", with: ".weight") }!.conv!.fanIn
            let bound = Float(1 / Double(fanIn).squareRoot())
            for i in t.offset..<(t.offset + t.count) { XCTAssertLessThanOrEqual(abs(p[i]), bound) }
        }
        let arch4 = FlowArchitecture(spec: spec(L: 4, d: 4, k: 2, layers: 1))
        // Six 2-D branches per net layer: 6 * (810).
        XCTAssertEqual(arch4.parameterCount, 6 * 810)
    }
}

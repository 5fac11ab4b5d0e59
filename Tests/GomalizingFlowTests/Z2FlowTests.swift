import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// [model] z2_equivariant: s even and t odd in the frozen sites, so the flow is
/// odd and q(phi) = q(-phi) like exp(-S).
final class Z2FlowTests: XCTestCase {
    func spec(d: Int = 2, layers: Int = 4, hidden: [Int] = [8, 8], cross: Bool = false, k: Int? = nil) -> ModelSpec {
        ModelSpec(L: 4, d: d, nLayers: layers, hiddenSizes: hidden, kernelSize: 3, convAxes: k, crossKernel: cross, seed: 5,
                  z2Equivariant: true)
    }

    /// The tape holds one configuration more than used: offsets must follow n, not the capacity.
    func forward<T>(_ flow: Flow<T>, _ z: [T], n: Int, sampling: Bool = false) -> ([T], [T]) {
        let V = flow.lattice.volume
        let tape = FlowTape<T>(architecture: flow.architecture, capacity: n + 1)
        tape.input.update(from: z, count: n * V)
        flow.forward(tape: tape, n: n, forPullback: !sampling)
        return (Array(UnsafeBufferPointer(start: tape.output, count: n * V)), Array(UnsafeBufferPointer(start: tape.logJ, count: n)))
    }

    /// T(-z) = -T(z) and logJ(-z) = logJ(z) to rounding, in Double and in the
    /// Float sampling pass (Winograd), while a plain flow is far from odd.
    func testTheFlowIsOdd() {
        for s in [spec(), spec(d: 3, layers: 2, hidden: [4], k: 2), spec(cross: true)] {
            let flow = Flow<Double>(spec: s)
            flow.parameters = flow.parameters.map { $0 * 3 }
            let V = flow.lattice.volume, n = 3
            let z = randomNormal(n * V, seed: 4)
            let (phi, logJ) = forward(flow, z, n: n)
            let (phiMinus, logJMinus) = forward(flow, z.map { -$0 }, n: n)
            for i in phi.indices { XCTAssertEqual(phiMinus[i], -phi[i], accuracy: 1e-12, s.convName) }
            for b in 0..<n { XCTAssertEqual(logJMinus[b], logJ[b], accuracy: 1e-10) }
            XCTAssertGreaterThan(zip(phi, z).map { abs($0 - $1) }.max()!, 1e-2, "the flow must not be the identity")
            var plainSpec = s
            plainSpec.z2Equivariant = false
            let plain = Flow<Double>(architecture: FlowArchitecture(spec: plainSpec), parameters: flow.parameters)
            let (a, _) = forward(plain, z, n: n), (b, _) = forward(plain, z.map { -$0 }, n: n)
            XCTAssertGreaterThan(zip(a, b).map { abs($0 + $1) }.max()!, 1e-3, "a plain flow is not odd: the test must be able to fail")
        }
        let flow = Flow<Float>(spec: ModelSpec(L: 8, d: 2, nLayers: 4, hiddenSizes: [8, 8], kernelSize: 3, seed: 5, z2Equivariant: true))
        let V = 64, n = 2
        let z = randomNormal(n * V, seed: 6).map(Float.init)
        let (phi, logJ) = forward(flow, z, n: n, sampling: true)
        let (phiMinus, logJMinus) = forward(flow, z.map { -$0 }, n: n, sampling: true)
        for i in phi.indices { XCTAssertEqual(phiMinus[i], -phi[i], accuracy: 1e-5) }
        for b in 0..<n { XCTAssertEqual(logJMinus[b], logJ[b], accuracy: 1e-4) }
    }

    /// Still an exact flow: log|det J| against the brute-force Jacobian, and the inverse.
    func testLogDetAndInverse() {
        assertExactFlow(spec(layers: 6), seed: 9)
    }

    /// The pullback through the symmetrised nets against finite differences.
    func testPullbackMatchesFiniteDifferences() {
        for s in [spec(layers: 2), spec(d: 3, layers: 2, hidden: [4], cross: true)] {
            let flow = Flow<Double>(spec: s)
            let V = flow.lattice.volume
            assertFlowPullbackMatchesFiniteDifferences(
                flow, z: randomNormal(2 * V, seed: 31), r: randomArray(2 * V, seed: 32),
                parameters: spreadIndices(flow.parameters.count, samples: 150), zStride: max(1, 2 * V / 24), tolerance: 1e-4,
                spare: 2, "z2 \(s.convName)")
        }
    }

    /// Trained through the CLI's trainer, the proposals' log q is even: log q of
    /// the sampled phi equals log q of -phi evaluated through the inverse.
    func testTrainingAndEvenDensity() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try Config.parse(tinyConfigText(epochs: 2, iterations: 20, batch: 16, extra: "result = \"\(dir.path)\"")
            .replacingOccurrences(of: "kernel_size = 3", with: "kernel_size = 3\nz2_equivariant = true"), file: "z.toml", name: "z")
        XCTAssertTrue(c.model.z2Equivariant)
        XCTAssertEqual(c.runDefinition["[model] z2_equivariant"], "true")
        let t = try Trainer(config: c)
        try t.train()
        XCTAssertTrue(t.history.records.allSatisfy { $0.loss.isFinite })
        let flow = t.flow, V = flow.lattice.volume
        let z = randomNormal(V, seed: 3).map(Float.init)
        let (phi, _) = forward(flow, z, n: 1)
        func logQ(_ phi: [Float]) -> Double {
            let tape = FlowTape<Float>(architecture: flow.architecture, capacity: 1)
            tape.output.update(from: phi, count: V)
            flow.inverse(tape: tape, n: 1)
            let z = UnsafeBufferPointer(start: tape.input, count: V)
            return z.reduce(0.0) { $0 - 0.5 * Double($1 * $1) } - 0.5 * Double(V) * log(2 * Double.pi) - Double(tape.logJ[0])
        }
        XCTAssertEqual(logQ(phi), logQ(phi.map { -$0 }), accuracy: 1e-4)
        XCTAssertThrowsError(try Config.parse(tinyConfigText().replacingOccurrences(of: "kernel_size = 3",
                                                                                      with: "kernel_size = 3\nz2_equivariant = true\nuse_bn = true"),
                                              file: "zb.toml", name: "zb")) { e in
            XCTAssertTrue("\(e)".contains("[model] z2_equivariant") && "\(e)".contains("use_bn"), "\(e)")
        }
    }
}

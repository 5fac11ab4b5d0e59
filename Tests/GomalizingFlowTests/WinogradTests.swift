import GomalizingFlow
import GomalizingRun
import XCTest

/// Winograd F(2x2, 3x3) against the direct convolution it replaces in sampling passes.
final class WinogradTests: XCTestCase {
    func conv(L: Int, d: Int = 2, K: Int = 3, cin: Int, cout: Int) -> PeriodicConv {
        let st = ConvStencil(lattice: Lattice(L: L, d: d), axes: Array(0..<d), kernelSize: K)
        return PeriodicConv(stencil: st, cin: cin, cout: cout, weightOffset: 0, biasOffset: st.tapCount * cin * cout)
    }

    func outputs<T: BinaryFloatingPoint & SIMDScalar>(_ conv: PeriodicConv, n: Int, _: T.Type, activation: FusedActivation,
                                                      winograd: Bool) -> [T] {
        let V = conv.stencil.volume
        let params = randomArray(conv.weightCount + conv.cout, seed: 3).map { T($0) }
        let x = randomArray(n * V * conv.cin, seed: 4, scale: 2).map { T($0) }
        var y = [T](repeating: 0, count: n * V * conv.cout)
        var scratch = [T](repeating: 0, count: 2 * conv.weightCount)
        x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in y.withUnsafeMutableBufferPointer { yp in
            conv.forward(xp.baseAddress!, yp.baseAddress!, n: n, params: pp.baseAddress!, weightScratch: &scratch,
                         activation: activation, winograd: winograd)
        } } }
        return y
    }

    func testWhichConvolutionsAdmitIt() {
        XCTAssertTrue(conv(L: 8, cin: 8, cout: 8).admitsWinograd)
        XCTAssertTrue(conv(L: 2, cin: 16, cout: 8).admitsWinograd)
        XCTAssertFalse(conv(L: 7, cin: 8, cout: 8).admitsWinograd, "odd L has no 2x2 tiling")
        // 3D: in the AVX2 kernels only (KernelPathTests checks those transforms).
        XCTAssertEqual(conv(L: 8, d: 3, cin: 8, cout: 8).admitsWinograd, KernelPath.active == .avx2fma)
        XCTAssertFalse(conv(L: 8, K: 5, cin: 8, cout: 8).admitsWinograd)
        XCTAssertFalse(conv(L: 8, cin: 1, cout: 8).admitsWinograd)
        XCTAssertFalse(conv(L: 8, cin: 8, cout: 2).admitsWinograd)
    }

    /// Equal to the direct sum up to rounding, in Double and Float, with and
    /// without the fused activation; L = 6 leaves a partial group of tiles.
    func testMatchesDirectConvolution() {
        // Float runs CKernels' copy on the AVX2 path and the Swift loops on the portable one.
        for path in KernelPath.allCases where path.isAvailable {
            withKernelPath(path) { matchesDirectConvolution("\(path)") }
        }
    }

    func matchesDirectConvolution(_ label: String) {
        for (L, cin, cout) in [(2, 8, 8), (4, 8, 8), (6, 8, 16), (8, 16, 8)] {
            let c = conv(L: L, cin: cin, cout: cout)
            XCTAssertTrue(c.admitsWinograd)
            for act in [FusedActivation.identity, .leakyReLU] {
                let direct = outputs(c, n: 3, Double.self, activation: act, winograd: false)
                let fast = outputs(c, n: 3, Double.self, activation: act, winograd: true)
                let scale = direct.map(abs).max()!
                XCTAssertGreaterThan(scale, 1)
                for i in direct.indices {
                    XCTAssertEqual(fast[i], direct[i], accuracy: 1e-13 * scale, "L=\(L) \(cin)->\(cout) \(act) at \(i)")
                }
                let directF = outputs(c, n: 3, Float.self, activation: act, winograd: false)
                let fastF = outputs(c, n: 3, Float.self, activation: act, winograd: true)
                let worst = zip(fastF, directF).map { abs(Double($0) - Double($1)) }.max()!
                XCTAssertLessThan(worst, 2e-5 * scale, "\(label) L=\(L) \(cin)->\(cout) \(act)")
                // A different order of operations: some values round differently.
                XCTAssertNotEqual(fastF, directF, "the Winograd path was not taken")
            }
        }
    }

    /// The sampling pass (forPullback false) computes the same map as the
    /// training pass up to rounding, for fields and log-Jacobians.
    func testSamplingPassMatchesTrainingPass() {
        for path in KernelPath.allCases where path.isAvailable { withKernelPath(path) { samplingPassMatchesTrainingPass() } }
    }

    func samplingPassMatchesTrainingPass() {
        let spec = ModelSpec(L: 8, d: 2, nLayers: 4, hiddenSizes: [8, 8], kernelSize: 3, convAxes: nil, useFinalTanh: true)
        let flow = Flow<Float>(spec: spec)
        let n = 3, V = 64
        let z = randomNormal(n * V, seed: 9).map { Float($0) }
        func run(_ forPullback: Bool) -> ([Float], [Float]) {
            let tape = FlowTape<Float>(architecture: flow.architecture, capacity: n)
            z.withUnsafeBufferPointer { tape.input.update(from: $0.baseAddress!, count: n * V) }
            flow.forward(tape: tape, n: n, forPullback: forPullback)
            return (Array(UnsafeBufferPointer(start: tape.output, count: n * V)),
                    Array(UnsafeBufferPointer(start: tape.logJ, count: n)))
        }
        let (phiT, logJT) = run(true)
        let (phiS, logJS) = run(false)
        XCTAssertNotEqual(phiS, phiT, "the Winograd path was not taken")
        for i in phiT.indices { XCTAssertEqual(phiS[i], phiT[i], accuracy: 1e-5 * max(1, abs(phiT[i]))) }
        for b in 0..<n { XCTAssertEqual(logJS[b], logJT[b], accuracy: 1e-4 * max(1, abs(logJT[b]))) }
    }
}

import GomalizingFlow
import GomalizingRun
import XCTest

final class ConvTests: XCTestCase {
    /// Builds the convolutions of a "dCk" layer with parameters laid out back to back.
    func makeLayer(L: Int, d: Int, k: Int, K: Int, cin: Int, cout: Int, activation: Activation) -> (CombinationalConv, Int) {
        let lat = Lattice(L: L, d: d)
        var offset = 0
        var convs: [PeriodicConv] = []
        for axes in ConvStencil.axisSubsets(d: d, k: k) {
            let st = ConvStencil(lattice: lat, axes: axes, kernelSize: K)
            let w = st.tapCount * cin * cout
            convs.append(PeriodicConv(stencil: st, cin: cin, cout: cout, weightOffset: offset, biasOffset: offset + w))
            offset += w + cout
        }
        return (CombinationalConv(convs: convs, activation: activation, cin: cin, cout: cout), offset)
    }

    func testAxisSubsetsAreTheCombinations() {
        XCTAssertEqual(ConvStencil.axisSubsets(d: 4, k: 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
        XCTAssertEqual(ConvStencil.axisSubsets(d: 3, k: 3), [[0, 1, 2]])
        XCTAssertEqual(ConvStencil.axisSubsets(d: 4, k: 1).count, 4)
    }

    /// The conv against a direct sum over coordinates with explicit wrap-around.
    func testConvMatchesDirectPeriodicSum() {
        for (d, axes, K, cin, cout) in [(2, [0, 1], 3, 3, 10), (3, [0, 2], 3, 3, 10), (4, [1, 2, 3], 3, 3, 10), (2, [1], 5, 3, 10),
                                        (2, [0, 1], 3, 8, 2), (2, [0, 1], 3, 16, 11), (3, [0, 1, 2], 3, 8, 1)] {
            let L = 4, n = 2
            let lat = Lattice(L: L, d: d)
            let st = ConvStencil(lattice: lat, axes: axes, kernelSize: K)
            let conv = PeriodicConv(stencil: st, cin: cin, cout: cout, weightOffset: 0, biasOffset: st.tapCount * cin * cout)
            let params = randomArray(st.tapCount * cin * cout + cout, seed: 1)
            let x = randomArray(n * lat.volume * cin, seed: 2)
            var y = [Double](repeating: 0, count: n * lat.volume * cout)
            var scratch = [Double](repeating: 0, count: 2 * conv.weightCount)
            x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in y.withUnsafeMutableBufferPointer { yp in
                conv.forward(xp.baseAddress!, yp.baseAddress!, n: n, params: pp.baseAddress!, weightScratch: &scratch)
            } } }
            let h = K / 2
            for b in 0..<n {
                for v in 0..<lat.volume {
                    let c = lat.coordinates(v)
                    for co in 0..<cout {
                        var s = params[st.tapCount * cin * cout + co]
                        for t in 0..<st.tapCount {
                            var off = [Int](repeating: 0, count: d)
                            var r = t
                            for a in axes.indices.reversed() { off[axes[a]] = r % K - h; r /= K }
                            let u = lat.index(zip(c, off).map { $0 + $1 })
                            for ci in 0..<cin {
                                s += params[(t * cin + ci) * cout + co] * x[(b * lat.volume + u) * cin + ci]
                            }
                        }
                        XCTAssertEqual(y[(b * lat.volume + v) * cout + co], s, accuracy: 1e-12, "d=\(d) axes=\(axes) \(cin)->\(cout)")
                    }
                }
            }
        }
    }

    /// Pullback of a combinational layer against central differences (see `assertLayerGradient`).
    func checkLayerGradient(d: Int, k: Int, activation: Activation, cin: Int, cout: Int, K: Int = 3) {
        let (layer, P) = makeLayer(L: 4, d: d, k: k, K: K, cin: cin, cout: cout, activation: activation)
        assertLayerGradient(layer, parameterCount: P, d: d, "\(d)C\(k) \(activation) \(cin)->\(cout)")
    }

    func testGradientFull2D() { checkLayerGradient(d: 2, k: 2, activation: .tanh, cin: 8, cout: 9) }
    func testGradientFull2DLeaky() { checkLayerGradient(d: 2, k: 2, activation: .leakyReLU, cin: 3, cout: 8) }
    func testGradientFull3D() { checkLayerGradient(d: 3, k: 3, activation: .tanh, cin: 2, cout: 2) }
    func testGradientCombinational3C2() { checkLayerGradient(d: 3, k: 2, activation: .tanh, cin: 1, cout: 8) }
    func testGradientCombinational4C2() { checkLayerGradient(d: 4, k: 2, activation: .tanh, cin: 2, cout: 3) }
    func testGradientCombinational4C3() { checkLayerGradient(d: 4, k: 3, activation: .leakyReLU, cin: 1, cout: 2) }
    func testGradientManyToFewChannels() { checkLayerGradient(d: 2, k: 2, activation: .tanh, cin: 8, cout: 2) }
    func testGradientFewToManyChannels() { checkLayerGradient(d: 3, k: 2, activation: .leakyReLU, cin: 1, cout: 16) }
    func testGradientKernel5() { checkLayerGradient(d: 2, k: 1, activation: .identity, cin: 2, cout: 8, K: 5) }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// conv = "cross": the site and its axis neighbours only, no diagonal taps.
final class CrossConvTests: XCTestCase {
    /// The taps are exactly {0, ±s e_a : 1 <= s <= K/2}, and tap T-1-t mirrors tap t.
    func testStencilReadsTheSiteAndItsAxisNeighbours() {
        for (d, K) in [(2, 3), (3, 3), (4, 3), (2, 5), (3, 1)] {
            let lat = Lattice(L: 6, d: d)
            let st = ConvStencil(crossOn: lat, kernelSize: K)
            XCTAssertEqual(st.tapCount, 2 * d * (K / 2) + 1)
            XCTAssertEqual(st.tapCount, ConvStencil.crossTapCount(d: d, kernelSize: K))
            let origin = lat.index([Int](repeating: 2, count: d))
            var offsets: [[Int]] = []
            for t in 0..<st.tapCount {
                let c = lat.coordinates(Int(st.neighbour[t * lat.volume + origin]))
                offsets.append(c.map { $0 - 2 })
            }
            var expected: [[Int]] = [[Int](repeating: 0, count: d)]
            for a in 0..<d where K > 1 {
                for s in 1...(K / 2) {
                    for sign in [-1, 1] { var o = [Int](repeating: 0, count: d); o[a] = sign * s; expected.append(o) }
                }
            }
            XCTAssertEqual(Set(offsets), Set(expected), "d=\(d) K=\(K)")
            XCTAssertEqual(offsets.count, Set(offsets).count)
            for t in 0..<st.tapCount {
                XCTAssertEqual(offsets[st.tapCount - 1 - t], offsets[t].map { -$0 }, "mirror of tap \(t)")
            }
            XCTAssertFalse(PeriodicConv(stencil: st, cin: 8, cout: 8, weightOffset: 0, biasOffset: 0).admitsWinograd)
        }
    }

    func layer(d: Int, K: Int = 3, cin: Int, cout: Int, activation: Activation) -> (CombinationalConv, Int) {
        let st = ConvStencil(crossOn: Lattice(L: 4, d: d), kernelSize: K)
        let w = st.tapCount * cin * cout
        let conv = PeriodicConv(stencil: st, cin: cin, cout: cout, weightOffset: 0, biasOffset: w)
        return (CombinationalConv(convs: [conv], activation: activation, cin: cin, cout: cout), w + cout)
    }

    /// The layer against a direct sum over the cross with explicit wrap-around.
    func testForwardIsTheSumOverTheCross() {
        let d = 3, cin = 3, cout = 8, n = 2
        let (l, P) = layer(d: d, cin: cin, cout: cout, activation: .identity)
        let lat = Lattice(L: 4, d: d), V = lat.volume
        let params = randomArray(P, seed: 4), x = randomArray(n * V * cin, seed: 5)
        var y = [Double](repeating: 0, count: n * V * cout), br = [Double](repeating: 0, count: 0)
        var ws = [Double](repeating: 0, count: 2 * P)
        x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in
            l.forward(xp.baseAddress!, &y, branches: &br, n: n, params: pp.baseAddress!, weightScratch: &ws)
        } }
        let st = l.convs[0].stencil
        var offsets: [[Int]] = []
        let mid = lat.index([1, 1, 1])
        for t in 0..<st.tapCount { offsets.append(lat.coordinates(Int(st.neighbour[t * V + mid])).map { $0 - 1 }) }
        for b in 0..<n {
            for v in 0..<V {
                let c = lat.coordinates(v)
                for co in 0..<cout {
                    var s = params[st.tapCount * cin * cout + co]
                    for (t, o) in offsets.enumerated() {
                        let u = lat.index(zip(c, o).map { (($0 + $1) % 4 + 4) % 4 })
                        for ci in 0..<cin { s += params[(t * cin + ci) * cout + co] * x[(b * V + u) * cin + ci] }
                    }
                    XCTAssertEqual(y[(b * V + v) * cout + co], s, accuracy: 1e-12)
                }
            }
        }
    }

    func checkGradient(d: Int, K: Int = 3, cin: Int, cout: Int, activation: Activation) {
        let (l, P) = layer(d: d, K: K, cin: cin, cout: cout, activation: activation)
        assertLayerGradient(l, parameterCount: P, d: d, "cross d=\(d) K=\(K)")
    }

    func testGradient2D() { checkGradient(d: 2, cin: 8, cout: 8, activation: .leakyReLU) }
    func testGradient3D() { checkGradient(d: 3, cin: 1, cout: 8, activation: .tanh) }
    func testGradient4D() { checkGradient(d: 4, cin: 2, cout: 3, activation: .leakyReLU) }
    func testGradientArm2() { checkGradient(d: 2, K: 5, cin: 2, cout: 2, activation: .tanh) }

    func spec(d: Int = 2, layers: Int = 4, hidden: [Int] = [8, 8]) -> ModelSpec {
        ModelSpec(L: 4, d: d, nLayers: layers, hiddenSizes: hidden, kernelSize: 3, crossKernel: true, seed: 5)
    }

    /// A flow of cross couplings: exact log-det (brute-force Jacobian), exact inverse.
    func testFlowLogDetAndInverse() {
        assertExactFlow(spec(layers: 6), seed: 8)
    }

    /// Parameter count: per coupling sum over net layers of (2d+1) cin cout + cout.
    func testParameterCountAndFiles() throws {
        for d in 2...4 {
            let s = ModelSpec(L: 4, d: d, nLayers: 16, hiddenSizes: [8, 8], kernelSize: 3, crossKernel: true)
            let taps = 2 * d + 1
            let perCoupling = (taps * 1 * 8 + 8) + (taps * 8 * 8 + 8) + (taps * 8 * 2 + 2)
            let arch = FlowArchitecture(spec: s)
            XCTAssertEqual(arch.parameterCount, 16 * perCoupling)
            XCTAssertEqual(ModelFootprint(spec: s).parameters, Double(16 * perCoupling))
            XCTAssertEqual(arch.tensors[0].shape, [8, 1, taps])
            XCTAssertEqual(s.convName, "cross")
        }
        // Files: a cross model round-trips; the metadata of other models does not mention the cross.
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let flow = Flow<Float>(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, crossKernel: true))
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(flow, to: url)
        XCTAssertEqual(try ModelFile.load(flow.architecture, from: url.path).parameters, flow.parameters)
        XCTAssertTrue(ModelFile.metadata(of: flow.architecture)["model_spec"]!.contains("\"crossKernel\":true"))
        let full = FlowArchitecture(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3))
        // Byte for byte the metadata models had before the cross kernel existed.
        XCTAssertEqual(ModelFile.metadata(of: full)["model_spec"],
                       "{\"L\":4,\"convAxes\":2,\"d\":2,\"hiddenSizes\":[4],\"kernelSize\":3,\"nLayers\":2,\"seed\":2021,\"useBN\":false,\"useFinalTanh\":true}")
        // A cross's taps are among a box's: refused as a smaller kernel, naming both ([training] grow_pretrained starts one from it).
        XCTAssertThrowsError(try ModelFile.load(full, from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("a cross kernel of size 3; this flow has 2 with hidden [4] and a full kernel of size 3"), "\(e)")
        }
        let decoded = try JSONDecoder().decode(ModelSpec.self, from: Data(ModelFile.metadata(of: flow.architecture)["model_spec"]!.utf8))
        XCTAssertEqual(decoded, flow.architecture.spec)
    }

    func testConfigValue() throws {
        let c = try Config.parse(tinyConfigText().replacingOccurrences(of: "kernel_size = 3", with: "kernel_size = 3\nconv = \"cross\""),
                                 file: "c.toml", name: "c")
        XCTAssertTrue(c.model.crossKernel)
        XCTAssertEqual(c.runDefinition["[model] conv"], "cross")
        XCTAssertThrowsError(try Config.parse(tinyConfigText().replacingOccurrences(of: "kernel_size = 3", with: "kernel_size = 3\nconv = \"star\""),
                                              file: "c.toml", name: "c")) { e in
            XCTAssertTrue("\(e)".contains("[model] conv") && "\(e)".contains("\"cross\""), "\(e)")
        }
    }
}

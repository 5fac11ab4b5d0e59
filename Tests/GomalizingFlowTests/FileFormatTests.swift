import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

final class FileFormatTests: XCTestCase {
    func testSafeTensorsRoundTripAndLayout() throws {
        let t: [(String, SafeTensors.Tensor)] = [
            ("a", .init(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])),
            ("b", .init(shape: [1], values: [-0.5])),
        ]
        let data = SafeTensors.encode(t, metadata: ["k": "v"])
        // Header length is little-endian and the data starts 8-byte aligned.
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(Int(n) % 8, 0)
        XCTAssertEqual(data.count, 8 + Int(n) + 7 * 4)
        let (back, meta) = try SafeTensors.decode(data, file: "x.safetensors")
        XCTAssertEqual(back["a"], t[0].1)
        XCTAssertEqual(back["b"], t[1].1)
        XCTAssertEqual(meta["k"], "v")
    }

    func testCorruptSafeTensorsGiveOneLineErrors() {
        let good = SafeTensors.encode([("w", .init(shape: [2], values: [1, 2]))])
        var cases: [(Data, String)] = []
        cases.append((Data([1, 2, 3]), "shorter"))
        var huge = good
        huge.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0, 0, 0, 0, 0, 0])
        cases.append((huge, "header"))
        cases.append((good.prefix(good.count - 4), "out of range"))
        let badJSON = Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{{{{{{{{".utf8)
        cases.append((badJSON, "JSON"))
        func withHeader(_ json: String, body: Int) -> Data {
            var j = Data(json.utf8)
            while j.count % 8 != 0 { j.append(0x20) }
            var n = UInt64(j.count).littleEndian
            return Data(bytes: &n, count: 8) + j + Data(count: body)
        }
        cases.append((withHeader(#"{"w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}"#, body: 2), "dtype"))
        cases.append((withHeader(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, body: 8), "needs 12"))
        cases.append((withHeader(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, body: 8), "shape"))
        for (data, expected) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(data, file: "m.safetensors")) { e in
                let msg = (e as? InputError)?.description ?? "not an InputError: \(e)"
                XCTAssertTrue(msg.hasPrefix("m.safetensors: "), msg)
                XCTAssertTrue(msg.contains(expected), "\(msg) should mention \(expected)")
            }
        }
    }

    func testModelFileRoundTripAndShapeCheck() throws {
        let spec = ModelSpec(L: 4, d: 3, nLayers: 2, hiddenSizes: [4], kernelSize: 3, convAxes: 2, seed: 3)
        let arch = FlowArchitecture(spec: spec)
        let p: [Float] = arch.initialParameters()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        try ModelFile.save(arch, parameters: p, buffers: [], to: url)
        XCTAssertEqual(try ModelFile.load(arch, from: url.path).parameters, p)
        // The file holds PyTorch's (cout, cin, K, K) layout.
        let (tensors, meta) = try SafeTensors.load(path: url.path)
        XCTAssertEqual(tensors["layers.0.net.0.conv.0.weight"]?.shape, [4, 1, 3, 3])
        XCTAssertNotNil(meta["model_spec"])
        // With batch norms, the running statistics travel too.
        let bnArch = FlowArchitecture(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, useBN: true))
        let bnBuffers = (0..<bnArch.bufferCount).map { Float($0) * 0.25 }
        try ModelFile.save(bnArch, parameters: bnArch.initialParameters(), buffers: bnBuffers, to: url)
        XCTAssertEqual(try ModelFile.load(bnArch, from: url.path).buffers, bnBuffers)
        XCTAssertEqual(try SafeTensors.load(path: url.path).tensors["layers.1.net.0.bn.running_var"]?.shape, [4])
        let other = FlowArchitecture(spec: ModelSpec(L: 4, d: 3, nLayers: 2, hiddenSizes: [5], kernelSize: 3, convAxes: 2))
        XCTAssertThrowsError(try ModelFile.load(other, from: url.path)) { e in
            XCTAssertTrue("\(e)".contains("does not match"), "\(e)")
        }
    }

    func testAtomicWriteReplacesWholeFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("f.txt")
        try AtomicFile.write("first", to: url)
        try AtomicFile.write("second", to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "second")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["f.txt"])
    }
}

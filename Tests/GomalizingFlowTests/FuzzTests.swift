import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Thousands of mutated configs, model files, checkpoints, .npy chains and
/// histories fed to the loaders. Each must either load or throw a one-line
/// `InputError` naming the file; a trap fails the whole test run. Mutations are
/// seeded, so a failure reproduces.
final class FuzzTests: XCTestCase {
    /// GOMALIZING_FUZZ_SCALE multiplies the rounds and GOMALIZING_FUZZ_SEED changes
    /// the mutations, for a longer hunt than CI's.
    static let environment = ProcessInfo.processInfo.environment
    let scale = Int(environment["GOMALIZING_FUZZ_SCALE"] ?? "") ?? 1
    var rng = Xoshiro256(seed: UInt64(environment["GOMALIZING_FUZZ_SEED"] ?? "") ?? 20261122)
    var dir: URL!

    override func setUp() { dir = temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    struct Tally { var loaded = 0, refused = 0 }

    /// Runs `load` on `bytes` written to `name`; counts the outcome and fails on
    /// anything but success or a clean InputError.
    func feed(_ bytes: [UInt8], name: String, _ tally: inout Tally, what: String,
              _ load: (String) throws -> Void) {
        let path = dir.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        do {
            try load(path)
            tally.loaded += 1
        } catch let e as InputError {
            tally.refused += 1
            XCTAssertEqual(e.file, path, "\(what): error names another file: \(e)")
            XCTAssertFalse(e.description.contains("\n"), "\(what): not one line: \(e)")
        } catch {
            XCTFail("\(what): not an InputError: \(error)")
        }
    }

    func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }
    func chance(_ p: Double) -> Bool { rng.uniform() < p }

    // MARK: configs

    static let nastyValues = [
        "0", "-1", "-0", "1", "3", "7", "2.5", "1e400", "nan", "inf", "-inf", "\"\"", "\"abc\"", "[]", "[0]",
        "[-3, 2]", "[1, 2.5]", "true", "{}", "{a = 1}", "9223372036854775807", "-9223372036854775808",
        "4611686018427387904", "65537", "1e-300", "\"5\"", "\"2C1\"", "\"4C3\"", "\"2C0\"", "\"full\"",
        "[[1]]", "2021-01-01", "12:00:00", "\"Normal\"", "[100000, 100000]", "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        "\"/nonexistent/x.safetensors\"", "\"Step(0.001f0, 0.1f0, [200])\"", "1_000_000_000", "0x7fffffff",
    ]
    static let tokens = ["[", "]", "=", "\"", "\n", "{", "}", "#", "[[model]]", "\\", "\u{0}", "[model]", "x = 1\n", ",", "'"]

    func mutateConfig(_ text: String) -> [UInt8] {
        var lines = text.components(separatedBy: "\n")
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            switch Int.random(in: 0..<9, using: &rng) {
            case 0...3:  // a value replaced by a nasty one
                let keyed = lines.indices.filter { lines[$0].contains("=") }
                guard let i = keyed.isEmpty ? nil : pick(keyed) else { continue }
                let key = lines[i].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
                lines[i] = "\(key)= \(pick(Self.nastyValues))"
            case 4: if !lines.isEmpty { lines.remove(at: Int.random(in: 0..<lines.count, using: &rng)) }
            case 5: if !lines.isEmpty { let i = Int.random(in: 0..<lines.count, using: &rng); lines.insert(lines[i], at: i) }
            case 6:  // a misspelt key
                let keyed = lines.indices.filter { lines[$0].contains("=") }
                if let i = keyed.isEmpty ? nil : pick(keyed) { lines[i] = "x" + lines[i] }
            default:
                let joined = lines.joined(separator: "\n")
                var chars = Array(joined)
                let at = Int.random(in: 0...chars.count, using: &rng)
                chars.insert(contentsOf: pick(Self.tokens), at: at)
                lines = String(chars).components(separatedBy: "\n")
            }
        }
        bytes = Array(lines.joined(separator: "\n").utf8)
        // Byte-level damage: invalid UTF-8, truncation.
        if chance(0.15), !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        if chance(0.1) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
        return bytes
    }

    func testMutatedConfigsLoadOrFailInOneLine() throws {
        let cfgDir = repositoryRoot.appendingPathComponent("cfgs")
        var bases = try FileManager.default.contentsOfDirectory(atPath: cfgDir.path).filter { $0.hasSuffix(".toml") }.sorted()
            .map { try String(contentsOf: cfgDir.appendingPathComponent($0), encoding: .utf8) }
        bases.append(ConfigTests.valid)
        var tally = Tally(), flowsRun = 0
        for n in 0..<(2000 * scale) {
            let bytes = mutateConfig(pick(bases))
            feed(bytes, name: "fuzz.toml", &tally, what: "config \(n): \(String(decoding: bytes, as: UTF8.self))") { path in
                let c = try Config.load(path: path)
                // Small survivors go through a forward pass: values the parser
                // let through must not trap deeper in.
                let fp = ModelFootprint(spec: c.model)
                guard flowsRun < 150 * scale, fp.sites <= 4096, fp.parameters <= 200_000 else { return }
                flowsRun += 1
                var small = c
                small.training.batchSize = 2
                small.training.result = self.dir.appendingPathComponent("result").path
                let loss = try Trainer(config: small, threads: 1).step()
                XCTAssertFalse(loss.isNaN, "config \(n)")
            }
        }
        XCTAssertGreaterThan(tally.refused, 500, "the mutations should break most configs")
        XCTAssertGreaterThan(tally.loaded, 100, "some mutations are harmless")
        XCTAssertGreaterThan(flowsRun, 20)
    }

    // MARK: safetensors

    static let spec = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3)

    func validModelAndCheckpoint() throws -> (model: [UInt8], checkpoint: [UInt8]) {
        let arch = FlowArchitecture(spec: Self.spec)
        let flow = Flow<Float>(architecture: arch)
        let model = SafeTensors.encode(ModelFile.tensors(of: arch, parameters: flow.parameters, buffers: flow.buffers),
                                       metadata: ModelFile.metadata(of: arch))
        let record = EpochRecord(csvLine: "1,-1,0.5,10,0.1,10,0.001,1,1,2")!
        let url = dir.appendingPathComponent("valid_checkpoint.safetensors")
        try Checkpoint(epoch: 1, stepsDone: 10, parameters: flow.parameters, buffers: flow.buffers,
                       optimiser: Optimiser(parameterCount: arch.parameterCount, lr: 0.001), bestAcceptance: 10, history: [record])
            .save(arch, to: url)
        return (Array(model), Array(try Data(contentsOf: url)))
    }

    static let nastyJSON: [Any] = [
        "F16", "BF16", "I32", "U8", "F64", "", 5, -1, 1e20, 2.5, "a", [Any](), [-1], [1e20], ["a"], [2.5], [0],
        [4, 4, 4], [0, 1_000_000_000], [8, 0], [-8, 0], [0], NSNull(), ["x": 1], "-1", "abc", "1e999", "99999999999999999999",
    ]

    /// Rewrites the JSON header: a random tensor or metadata entry gets a nasty
    /// field; the header length is fixed up so the damage is in the content.
    func mutateHeader(_ bytes: [UInt8]) -> [UInt8] {
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        guard var header = (try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)]))) as? [String: Any] else { return bytes }
        let name = pick(header.keys.sorted())
        if name == "__metadata__", var meta = header[name] as? [String: Any] {
            let key = pick(meta.keys.sorted())
            if chance(0.2) { meta[key] = nil } else if chance(0.2) { meta[key] = 3 } else {
                meta[key] = pick(["-1", "abc", "1e999", "", "0", "2", "99999999999999999999", "nan", "1\n2", "1,2,3"])
            }
            header[name] = meta
        } else if chance(0.15) {
            header[name] = nil
        } else if var info = header[name] as? [String: Any] {
            let field = pick(["dtype", "shape", "data_offsets"])
            if chance(0.2) { info[field] = nil } else { info[field] = pick(Self.nastyJSON) }
            header[name] = info
        }
        guard let json = try? JSONSerialization.data(withJSONObject: header) else { return bytes }
        var count = UInt64(json.count).littleEndian
        return withUnsafeBytes(of: &count) { Array($0) } + Array(json) + Array(bytes[(8 + n)...])
    }

    func mutateSafeTensors(_ original: [UInt8]) -> [UInt8] {
        var bytes = original
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        switch Int.random(in: 0..<6, using: &rng) {
        case 0, 1: bytes = mutateHeader(bytes)
        case 2:  // bytes flipped, mostly in the header
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = chance(0.7) ? Int.random(in: 0..<(8 + n), using: &rng) : Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 3: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 4:  // the header length itself
            var v = UInt64(pick([0, 1, 2, 7, n - 1, n + 1, n + 8, bytes.count, Int(Int32.max)])).littleEndian
            if chance(0.2) { v = UInt64.max }
            withUnsafeBytes(of: &v) { for i in 0..<8 { bytes[i] = $0[i] } }
        default:  // a NaN or Inf among the values
            let i = 8 + n + 4 * Int.random(in: 0..<((bytes.count - 8 - n) / 4), using: &rng)
            var bits = (chance(0.5) ? Float.nan : Float.infinity).bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for k in 0..<4 { bytes[i + k] = $0[k] } }
        }
        return bytes
    }

    func testMutatedModelFilesAndCheckpointsLoadOrFailInOneLine() throws {
        let arch = FlowArchitecture(spec: Self.spec)
        let (model, checkpoint) = try validModelAndCheckpoint()
        var models = Tally(), checkpoints = Tally()
        for n in 0..<(1000 * scale) {
            feed(mutateSafeTensors(model), name: "model.safetensors", &models, what: "model \(n)") { path in
                _ = try ModelFile.load(arch, from: path)
            }
            feed(mutateSafeTensors(checkpoint), name: "checkpoint.safetensors", &checkpoints, what: "checkpoint \(n)") { path in
                _ = try Checkpoint.load(arch, from: path)
            }
        }
        for t in [models, checkpoints] {
            XCTAssertGreaterThan(t.refused, 500)
            XCTAssertGreaterThan(t.loaded, 20, "some mutations (a changed metadata value, a flipped mantissa bit) load")
        }
    }

    // MARK: npy and history

    func testMutatedNpyChainsAnalyseOrFailInOneLine() throws {
        let lattice = Lattice(L: 4, d: 2)
        let url = dir.appendingPathComponent("valid.npy")
        let writer = try NpyWriter(url: url, shape: [8, 4, 4])
        let values = randomNormal(8 * 16, seed: 3).map(Float.init)
        for r in 0..<8 { try values.withUnsafeBufferPointer { try writer.append($0.baseAddress! + 16 * r) } }
        try writer.finish()
        let original = Array(try Data(contentsOf: url))
        let headerEnd = 10 + Int(original[8]) | Int(original[9]) << 8
        let headers = ["'descr':'<f2'", "'descr':'>f4'", "'descr':'|u1'", "'fortran_order':True", "'shape':(8,4)",
                       "'shape':(-1,4,4)", "'shape':(99999999999,4,4)", "'shape':(9223372036854775807,2,2)", "'shape':()",
                       "'shape':(0,4,4)", "'shape':(3,4,4)", "'shape':(8,4,4,1)", "'shape':(8,4,x)", ""]
        var tally = Tally()
        for n in 0..<(1000 * scale) {
            var bytes = original
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2:  // a header field replaced, the header length kept right
                var text = String(decoding: bytes[10..<headerEnd], as: UTF8.self).replacingOccurrences(of: " ", with: "")
                for key in ["'descr':'<f4'", "'fortran_order':False", "'shape':(8,4,4)"] where chance(0.4) {
                    text = text.replacingOccurrences(of: key, with: pick(headers))
                }
                let h = Array(text.utf8)
                bytes = Array(bytes.prefix(8)) + [UInt8(h.count & 255), UInt8(h.count >> 8)] + h + Array(bytes[headerEnd...])
            case 3:  // version byte and header length
                bytes[Int.random(in: 6...9, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            default:  // data: NaN, Inf or a huge value
                let i = headerEnd + 4 * Int.random(in: 0..<(8 * 16), using: &rng)
                var bits = pick([Float.nan, .infinity, 3e38, 0]).bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { for k in 0..<4 { bytes[i + k] = $0[k] } }
            }
            feed(bytes, name: "chain.npy", &tally, what: "npy \(n)") { path in
                let m = try Measurements.read(npy: try NpyFile(path: path), lattice: lattice)
                _ = Observables(m)
            }
        }
        XCTAssertGreaterThan(tally.refused, 400)
        XCTAssertGreaterThan(tally.loaded, 50)
    }

    func testMutatedHistoriesReadOrFailInOneLine() throws {
        let good = EpochRecord.header + "\n1,-1.5,0.2,10,0.1,10,0.001,1,1,2,0.1,0.8,0.05,0.5\n2,-1.7,0.2,12,0.12,12,0.001,1,1,4,0.12,0.7,0.04,0.48\n"
        var tally = Tally()
        for n in 0..<(500 * scale) {
            var chars = Array(good)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: chars[i] = pick(Array(",\n.e-x0"))
                case 1: chars.remove(at: i)
                default: chars.insert(pick(Array(",\nnan")), at: i)
                }
            }
            feed(Array(String(chars).utf8), name: "history.csv", &tally, what: "history \(n)") { path in
                _ = try History.read(path: path)
            }
        }
        XCTAssertGreaterThan(tally.refused, 100)
        XCTAssertGreaterThan(tally.loaded, 20)
    }

    /// The table `sample` writes beside its chain, as `analyze` reads it: a
    /// mutated one loads, or fails with one line naming it. The weights of
    /// whatever loads feed the diagnostics without a trap.
    func testMutatedSampleTablesReadOrFailInOneLine() throws {
        var good = "step,log_p,log_q,accepted,proposal_log_p,proposal_log_q\n"
        for i in 0..<150 { good += "\(i),-\(10 + i % 7).5,-\(11 + i % 5).25,\(i % 3 == 0 ? 1 : 0),-\(9 + i % 4).5,-\(12 + i % 6).75\n" }
        var tally = Tally()
        for n in 0..<(300 * scale) {
            var chars = Array(good)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: chars[i] = pick(Array(",\n.e-x0"))
                case 1: chars.remove(at: i)
                default: chars.insert(pick(Array(",\nnaninf")), at: i)
                }
            }
            feed(Array(String(chars).utf8), name: "samples.csv", &tally, what: "table \(n)") { path in
                if let (p, q) = try SampleTable.readProposals(path: path, skip: Int.random(in: 0...3, using: &rng)) {
                    _ = ProposalDiagnostics(logP: p, logQ: q)
                }
            }
        }
        XCTAssertGreaterThan(tally.refused, 50)
        XCTAssertGreaterThan(tally.loaded, 50)
    }

    /// A mutated sweep file expands to its runs, or fails with one line naming
    /// it (a run's bad value: "FILE (run NAME)"), never a trap.
    func testMutatedSweepFilesExpandOrFailInOneLine() throws {
        try tinyConfigText().write(to: dir.appendingPathComponent("tiny.toml"), atomically: true, encoding: .utf8)
        let good = """
        seeds = 2
        result = "\(dir.appendingPathComponent("out").path)"
        [set.training]
        stop_at_acceptance = 50
        [[grid]]
        configs = ["tiny.toml"]
        [grid.vary.model]
        conv = ["full", "cross"]
        hidden_sizes = [[4], [8]]
        [[grid]]
        configs = ["tiny.toml"]
        seeds = [5]
        [grid.set.physical]
        L = 6
        """
        var loaded = 0, refused = 0
        for n in 0..<(600 * scale) {
            let bytes = mutateConfig(good)
            let path = dir.appendingPathComponent("sweep.toml").path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let what = "sweep \(n): \(String(decoding: bytes, as: UTF8.self))"
            do {
                let spec = try SweepSpec.load(path: path)
                loaded += 1
                XCTAssertFalse(spec.runs.isEmpty, what)
            } catch let e as InputError {
                refused += 1
                XCTAssertTrue(e.file.hasPrefix(path), "\(what): error names another file: \(e)")
                XCTAssertFalse(e.description.contains("\n"), "\(what): not one line: \(e)")
            } catch {
                XCTFail("\(what): not an InputError: \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 100 * scale)
        XCTAssertGreaterThan(loaded, 10 * scale)
    }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

final class ConfigTests: XCTestCase {
    static let valid = """
    [device]
    device_id = -1
    [training]
    seed = 1
    batchsize = 16
    epochs = 2
    iterations = 10
    base_lr = 0.001
    [physical]
    L = 8
    Nd = 2
    M2 = -4
    lam = 8.0
    [model]
    n_layers = 4
    hidden_sizes = [8, 8]
    kernel_size = 3
    use_final_tanh = true
    """

    func parse(_ text: String) throws -> Config { try Config.parse(text, file: "cfg.toml", name: "cfg") }

    func testValidConfigParses() throws {
        let c = try parse(Self.valid)
        XCTAssertEqual(c.physical.L, 8)
        XCTAssertEqual(c.physical.M2, -4)
        XCTAssertEqual(c.model.hiddenSizes, [8, 8])
        XCTAssertEqual(c.model.convAxes, 2)
        XCTAssertEqual(c.training.batchSize, 16)
        XCTAssertEqual(c.resultDirectory.lastPathComponent, "cfg")
    }

    /// Replaces the line that starts with `key =` (or appends `replacement` if absent).
    func mutate(_ key: String, _ replacement: String?) -> String {
        var lines = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let i = lines.firstIndex(where: { $0.hasPrefix(key + " =") }) {
            if let replacement { lines[i] = replacement } else { lines.remove(at: i) }
        } else if let replacement {
            lines.append(replacement)
        }
        return lines.joined(separator: "\n")
    }

    func assertError(_ text: String, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try parse(text)
            XCTFail("expected an error mentioning \(parts)", file: file, line: line)
        } catch let e as InputError {
            let msg = e.description
            XCTAssertTrue(msg.hasPrefix("cfg.toml: "), msg, file: file, line: line)
            XCTAssertFalse(msg.contains("\n"), "one line: \(msg)", file: file, line: line)
            for p in parts { XCTAssertTrue(msg.contains(p), "'\(msg)' should mention '\(p)'", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testErrorsNameTheKeyAndTheExpectation() {
        assertError(mutate("L", "L = 7"), mentions: ["[physical] L", "even", "7"])
        assertError(mutate("L", "L = 0"), mentions: ["[physical] L"])
        assertError(mutate("L", nil), mentions: ["[physical] L", "missing"])
        assertError(mutate("L", "L = \"eight\""), mentions: ["[physical] L", "string"])
        assertError(mutate("Nd", "Nd = 0"), mentions: ["[physical] Nd", "1...4"])
        assertError(mutate("lam", "lam = -1.0"), mentions: ["[physical] lam"])
        assertError(mutate("M2", "M2 = true"), mentions: ["[physical] M2"])
        assertError(mutate("hidden_sizes", "hidden_sizes = [8, -2]"), mentions: ["[model] hidden_sizes", "positive"])
        assertError(mutate("hidden_sizes", "hidden_sizes = 8"), mentions: ["[model] hidden_sizes"])
        assertError(mutate("kernel_size", "kernel_size = 4"), mentions: ["[model] kernel_size", "odd"])
        assertError(mutate("n_layers", "n_layers = -3"), mentions: ["[model] n_layers"])
        assertError(mutate("batchsize", "batchsize = 0"), mentions: ["[training] batchsize"])
        assertError(mutate("base_lr", "base_lr = 0"), mentions: ["[training] base_lr"])
        assertError(mutate("epochs", nil), mentions: ["[training] epochs", "missing"])
        assertError(mutate("use_final_tanh", "use_final_tanh = 1"), mentions: ["[model] use_final_tanh", "true or false"])
        assertError(mutate("device_id", "device_id = 0"), mentions: ["[device] device_id", "CPU"])
        assertError(mutate("kernel_size", "kernel_size = 3\nconv = \"3C2\""), mentions: ["[model] conv", "2Ck"])
        assertError(mutate("seed", "sead = 1"), mentions: ["[training] sead", "unknown key"])
        assertError(Self.valid.replacingOccurrences(of: "[physical]", with: "[physics]"), mentions: ["[physics]", "did you mean [physical]?"])
        assertError(Self.valid.replacingOccurrences(of: "[physical]", with: "[lattice]"), mentions: ["[physical]", "missing section"])
        assertError("[training\nseed = 1", mentions: ["line 1", "invalid TOML"])
    }

    func testConvChoices() throws {
        var text = mutate("Nd", "Nd = 4")
        text = text.replacingOccurrences(of: "kernel_size = 3", with: "kernel_size = 3\nconv = \"4C2\"")
        let c = try parse(text)
        XCTAssertEqual(c.model.convAxes, 2)
        XCTAssertEqual(FlowArchitecture(spec: c.model).couplings[0].net[0].conv.branchCount, 6)
    }

    func testGomalizingFlowJuliaFormsAreAccepted() throws {
        // The older top-level device_id and the Julia prior string.
        let text = "device_id = -1\n" + Self.valid.replacingOccurrences(of: "[device]\ndevice_id = -1\n", with: "")
            .replacingOccurrences(of: "base_lr = 0.001", with: "base_lr = 0.001\nopt = \"ADAM\"\nprior = \"Normal{Float32}(0.f0, 1.f0)\"\npretrained = \"\"")
        let c = try parse(text)
        XCTAssertEqual(c.deviceID, -1)
    }

    /// A misspelt section or key is named as the likely typo, not only as the
    /// missing correct one; an empty file and a folder say so.
    func testTyposEmptyFilesAndFoldersAreNamed() throws {
        assertError(Self.valid.replacingOccurrences(of: "[training]", with: "[trainig]"),
                    mentions: ["[trainig]", "unknown section", "did you mean [training]?"])
        assertError(Self.valid.replacingOccurrences(of: "batchsize", with: "batchsze"),
                    mentions: ["[training] batchsze", "unknown key", "did you mean batchsize?"])
        assertError(Self.valid.replacingOccurrences(of: "kernel_size", with: "Kernel_Size"), mentions: ["[model] Kernel_Size", "kernel_size"])
        assertError(Self.valid.replacingOccurrences(of: "use_final_tanh", with: "use_final_tahn"),
                    mentions: ["[model] use_final_tahn", "did you mean use_final_tanh?"])
        assertError("# nothing here\n", mentions: ["empty config"])
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.toml")
        try "\n  \n".write(to: empty, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Config.load(path: empty.path)) { e in
            XCTAssertTrue("\(e)".contains("empty file"), "\(e)")
        }
        XCTAssertThrowsError(try Config.load(path: dir.path)) { e in
            XCTAssertEqual((e as? InputError)?.description, "\(dir.path): is a folder; expected a TOML config file")
        }
    }

    func testMissingFileIsAnInputError() {
        XCTAssertThrowsError(try Config.load(path: "/nonexistent/x.toml")) { e in
            XCTAssertEqual((e as? InputError)?.description, "/nonexistent/x.toml: no such file")
        }
    }

    /// Every shipped config loads, builds its model, and has the physics its name promises.
    func testShippedConfigsLoad() throws {
        let dir = repositoryRoot.appendingPathComponent("cfgs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }.sorted()
        var configs: [String: Config] = [:]
        for f in files {
            let c = try Config.load(path: dir.appendingPathComponent(f).path)
            XCTAssertEqual(FlowArchitecture(spec: c.model).spec, c.model)
            XCTAssertEqual(c.deviceID, -1)
            configs[c.name] = c
        }
        // name: (L, Nd, M2, lam)
        var expected: [String: (Int, Int, Double, Double)] = [
            "example2d": (8, 2, -4, 8), "example3d": (8, 3, -4, 5.113), "example4d": (4, 4, -4, 5.113),
            "example3d_broken": (8, 3, -4, 8), "example3d_symmetric": (8, 3, 1, 8),
            "example2d_prior_potential": (8, 2, -4, 8), "example3d_broken_prior_potential": (8, 3, -4, 8),
        ]
        let table1: [(Int, Double)] = [(6, 6.975), (8, 6.008), (10, 5.550), (12, 5.276), (14, 5.113)]
        for (i, (L, lam)) in table1.enumerated() {
            expected["example2d_E\(i + 1)"] = (L, 2, -4, lam)
            expected["example3d_E\(i + 1)"] = (L, 3, -4, i == 4 ? 5.276 : lam)  // GomalizingFlow.jl's 3D E5 value
        }
        for d in 2...4 { for L in [4, 8] { expected["example\(d)d_critical_L\(L)"] = (L, d, -4, 5.113) } }
        expected["example3d_critical_L6"] = (6, 3, -4, 5.113)
        // The fast recipe's configs: the same theories.
        for base in ["example2d", "example3d", "example3d_critical_L4", "example3d_critical_L6"] + (1...5).map({ "example2d_E\($0)" }) { expected[base + "_fast"] = expected[base] }
        expected["example2d_E3_cheap"] = expected["example2d_E3"]  // the cheaper flow of issue 31
        expected["example2d_E1_odd"] = expected["example2d_E1"]  // the first stage of the large-lattice chain (issue 32)
        // The line of constant physics of Albergo et al. and Gerdes et al. (issues 17 and 32): with site maps, even sites integrated out.
        for (L, lam) in [(12, 5.276), (20, 4.807), (32, 4.572), (64, 4.398)] { expected["example2d_lcp_L\(L)"] = (L, 2, -4, lam) }
        XCTAssertEqual(Set(configs.keys), Set(expected.keys))
        for (name, (L, Nd, M2, lam)) in expected {
            let p = try XCTUnwrap(configs[name], name).physical
            XCTAssertEqual([Double(p.L), Double(p.Nd), p.M2, p.lam], [Double(L), Double(Nd), M2, lam], name)
        }
        for L in [12, 20, 32, 64] {
            XCTAssertEqual(configs["example2d_lcp_L\(L)"]?.model.siteMapFeatures, 4)
            XCTAssertEqual(configs["example2d_lcp_L\(L)"]?.model.integrateEvenSites, true)
        }
        // The chain's first stage models what the next stage does (a whole-lattice model cannot start it).
        XCTAssertEqual(configs["example2d_E1_odd"]?.model.integrateEvenSites, true)
        XCTAssertEqual(configs["example2d_lcp_L12"]?.training.pretrained, "result/example2d_E1_odd/model_best.safetensors")
        XCTAssertEqual(configs["example4d"]?.model.convAxes, 2)
        XCTAssertEqual(configs["example4d"]?.model.nLayers, 16)
        let potential = PriorSpec.potential(m2: -4, lam: 8, xmin: -2, xmax: 2)
        XCTAssertEqual(configs["example2d_prior_potential"]?.training.prior, potential)
        XCTAssertEqual(configs["example3d_broken_prior_potential"]?.training.prior, potential)
        for i in 1...5 { XCTAssertEqual(configs["example3d_E\(i)"]?.training.lrSchedule, .step(decay: 0.1, epochs: [200])) }
    }

    /// Inputs on which TOMLKit's toml++ would assert and abort are refused first;
    /// the same characters inside strings and comments are left alone.
    func testInputsThatWouldAbortTheTOMLParserAreErrors() throws {
        let cases: [(String, String)] = [
            (Self.valid.replacingOccurrences(of: "[training]", with: "[%raining]"), "line 3, column 2"),
            (Self.valid.replacingOccurrences(of: "[training]", with: "[\u{0C}training]"), "table header"),
            (Self.valid.replacingOccurrences(of: "[training]", with: "[[\n"), "table header"),
            (Self.valid.replacingOccurrences(of: "[8, 8]", with: "[}8, 8]"), "expected a value before '}'"),
            (Self.valid.replacingOccurrences(of: "[8, 8]", with: "[8,\n # c\n }"), "expected a value before '}'"),
            (Self.valid.replacingOccurrences(of: "[8, 8]", with: "[8, \u{2028}8]"), "U+2028"),
        ]
        for (text, part) in cases { assertError(text, mentions: ["invalid TOML", part]) }
        let harmless = Self.valid.replacingOccurrences(of: "[device]", with: "# [%x] [} \u{2028}\n[device]")
            .replacingOccurrences(of: "seed = 1\n", with: "seed = 1\nresult = \"\"\"\n[%x]\n[}\"\"\"\n")
        XCTAssertEqual(try parse(harmless).training.result, "[%x]\n[}")
    }

    /// Sizes are checked from the spec before anything is allocated.
    func testImpossibleSizesAreRefusedBeforeAllocation() {
        assertError(mutate("hidden_sizes", "hidden_sizes = [100000, 100000, 100000]"), mentions: ["[model] hidden_sizes", "parameters"])
        assertError(mutate("kernel_size", "kernel_size = 999999999"), mentions: ["[model] hidden_sizes", "parameters"])
        // The cross kernel's tap count 2d(K/2) + 1 overflows Int for such a K (a trap
        // once the library built with overflow checks): refused in one line too.
        assertError(mutate("kernel_size", "kernel_size = 9223372036854775807\nconv = \"cross\""),
                    mentions: ["[model] hidden_sizes", "parameters"])
        assertError(mutate("batchsize", "batchsize = 4000000000"), mentions: ["[training] batchsize", "GiB"])
        assertError(mutate("L", "L = 100000"), mentions: ["[physical] L", "2^28"])
        assertError(mutate("base_lr", "base_lr = 0.001\neval_samples = 1000000000"), mentions: ["[training] eval_samples"])
    }

    /// The footprint estimate agrees with the sizes the architecture and tapes really have.
    func testFootprintMatchesTheArchitecture() {
        for spec in [ModelSpec(L: 6, d: 2, nLayers: 3, hiddenSizes: [5, 7], kernelSize: 3),
                     ModelSpec(L: 4, d: 4, nLayers: 2, hiddenSizes: [4], kernelSize: 3, convAxes: 2, useBN: true),
                     ModelSpec(L: 4, d: 3, nLayers: 1, hiddenSizes: [], kernelSize: 5, convAxes: 1, useFinalTanh: false),
                     ModelSpec(L: 6, d: 3, nLayers: 2, hiddenSizes: [4, 6], kernelSize: 3, convAxes: 2, z2Equivariant: true),
                     ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [8], kernelSize: 3, crossKernel: true),
                     ModelSpec(L: 7, d: 3, nLayers: 2, hiddenSizes: [4], kernelSize: 3, fourierScaling: true),
                     ModelSpec(L: 10, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, crossKernel: true, fourierScaling: true),
                     ModelSpec(L: 6, d: 2, nLayers: 3, hiddenSizes: [4], kernelSize: 3, crossKernel: true, fourierScaling: true,
                               coupling: .spline(.init(bins: 5, bound: 3)))] {
            let fp = ModelFootprint(spec: spec)
            let arch = FlowArchitecture(spec: spec)
            XCTAssertEqual(fp.parameters, Double(arch.parameterCount), "\(spec)")
            XCTAssertEqual(fp.tapeValuesPerConfiguration, Double(FlowTape<Float>.valueCount(architecture: arch, capacity: 1)), "\(spec)")
            XCTAssertEqual(fp.sites, Double(arch.lattice.volume))
        }
    }
}

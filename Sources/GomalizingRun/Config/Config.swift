import Foundation
import GomalizingFlow
import TOMLKit

/// A training configuration in GomalizingFlow.jl's TOML layout:
/// [config], [device], [training], [physical], [model].
public struct Config: Equatable, Sendable {
    /// The `[training]` section: the core's settings of a training run.
    public typealias Training = TrainingSettings

    /// The `[physical]` section: lattice and couplings.
    public struct Physical: Equatable, Sendable {
        /// `L`: lattice side, even (for the checkerboard).
        public var L: Int
        /// `Nd`: lattice dimension, 1 to 4.
        public var Nd: Int
        /// `M2`: coefficient m2 of phi^2 in the action.
        public var M2: Double
        /// `lam`: coefficient of phi^4, >= 0.
        public var lam: Double
    }

    /// The run's name (the config file's base name when loaded); names the result folder.
    public var name: String
    /// The config file's path, for error messages.
    public var sourcePath: String
    /// `[config] version`: 0.x.y or 1.x.y.
    public var version = "0.1.0"
    /// `[device] device_id`: always -1 (the CPU) in this build.
    public var deviceID = -1
    /// Worker threads; nil means one per online core.
    public var threads: Int?
    /// The `[training]` settings.
    public var training = Training()
    /// The `[physical]` settings.
    public var physical: Physical
    /// The flow's shape from `[model]`, with L and d from `[physical]`.
    public var model: ModelSpec

    /// The L^Nd lattice of `[physical]`.
    public var lattice: Lattice { Lattice(L: physical.L, d: physical.Nd) }
    /// The phi^4 action with `[physical]`'s M2 and lam.
    public var action: Phi4Action { Phi4Action(lattice: lattice, m2: physical.M2, lam: physical.lam) }
    /// What the flow is trained against and sampled for: the action, or with
    /// `[model] integrate_even_sites` the odd sites' exact marginal.
    public var target: FlowTarget {
        model.integrateEvenSites ? .oddSites(OddSiteMarginal(lattice: lattice, m2: physical.M2, lam: physical.lam)) : .full(action)
    }
    /// `[training] result`/`name`: where the run's files go.
    public var resultDirectory: URL {
        URL(fileURLWithPath: training.result).appendingPathComponent(name)
    }

    /// Reads and validates a config file. Every problem is an `InputError`
    /// naming the file and key.
    public static func load(path: String) throws -> Config {
        let text = try readText(path)
        if text.allSatisfy({ $0.isWhitespace }) {
            throw InputError(file: path, "empty file; expected a TOML config with [training], [physical] and [model] sections")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(text, file: path, name: name)
    }

    /// The text of a config file; a missing file, a folder or unreadable bytes
    /// are one-line errors saying which.
    public static func readText(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, "no such file")
        }
        if isDirectory.boolValue { throw InputError(file: path, "is a folder; expected a TOML config file") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw InputError(file: path, "cannot be read (permission denied)") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError(file: path, "cannot be read as UTF-8 text")
        }
        return text
    }

    /// Parses TOML text; a syntax error is one line naming the file, line and column.
    static func parseTOML(_ text: String, file: String) throws -> TOMLTable {
        if let (line, column, problem) = TOMLAssertGuard.firstProblem(in: text) {
            throw InputError(file: file, "line \(line), column \(column): invalid TOML: \(problem)")
        }
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw InputError(file: file, "line \(e.source.begin.line), column \(e.source.begin.column): invalid TOML: \(e.description)")
        } catch {
            throw InputError(file: file, "invalid TOML")
        }
    }

    /// Parses and validates config text; `file` names it in errors, `name` is the run's name.
    /// - Throws: `InputError` naming the file and key of any invalid, missing or unknown setting.
    public static func parse(_ text: String, file: String, name: String) throws -> Config {
        let root = try parseTOML(text, file: file)
        func section(_ key: String, required: Bool) throws -> TOMLSection {
            guard let v = root[key] else {
                if required { throw InputError(file: file, field: "[\(key)]", "missing section") }
                return TOMLSection(file: file, name: key, table: nil)
            }
            guard let t = v.table else { throw InputError(file: file, field: key, "expected a [\(key)] table, got a \(v.type)") }
            return TOMLSection(file: file, name: key, table: t)
        }

        // Top level: sections, plus GomalizingFlow.jl's older top-level device_id.
        var top = TOMLSection(file: file, name: nil, table: root)
        let topDevice = try top.raw("device_id") == nil ? nil : top.int("device_id", "an integer (-1 for the CPU)")
        let sections = ["config", "device", "training", "physical", "model"]
        if root.keys.isEmpty {
            throw InputError(file: file, "empty config; expected [training], [physical] and [model] sections")
        }
        for required in ["training", "physical", "model"] where root[required] == nil {
            // A misspelt header is the likely cause: name it.
            let unknown = root.keys.filter { !sections.contains($0) && $0 != "device_id" }.sorted()
            if let typo = unknown.first(where: { Spelling.suggestion(for: $0, among: [required]) != nil }) {
                throw InputError(file: file, field: "[\(typo)]", "unknown section; did you mean [\(required)]?")
            }
            throw InputError(file: file, field: "[\(required)]", "missing section")
        }
        try top.finish(allowed: Set(sections))

        var cfgSec = try section("config", required: false)
        let version = try cfgSec.string("version", default: "0.1.0", "a version string such as \"0.1.0\"")
        let numbers = version.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil && $0! >= 0 }), numbers[0]! <= 1 else {
            throw cfgSec.fail("version", "expected a config version 0.x.y or 1.x.y such as \"0.1.0\", got \"\(version)\"")
        }
        try cfgSec.finish()

        var dev = try section("device", required: false)
        let deviceID = try dev.int("device_id", default: topDevice ?? -1, "an integer (-1 for the CPU)") { $0 >= -1 }
        if deviceID >= 0 {
            throw dev.fail("device_id", "GPU \(deviceID) requested, but this build runs on the CPU only; use -1")
        }
        let threadsRaw = try dev.int("threads", default: 0, "a number of threads in 1...\(Config.maxThreads) (0: one per core)") {
            (0...Config.maxThreads).contains($0)
        }
        try dev.finish()

        var phys = try section("physical", required: true)
        let L = try phys.int("L", "an even integer >= 2 (the checkerboard needs even L)") { $0 >= 2 && $0 % 2 == 0 }
        let Nd = try phys.int("Nd", "an integer in 1...4") { (1...4).contains($0) }
        let M2 = try phys.double("M2", "a finite number")
        let lam = try phys.double("lam", "a finite number >= 0 (lam < 0 has no ground state)") { $0.isFinite && $0 >= 0 }
        try phys.finish()
        if Foundation.pow(Double(L), Double(Nd)) > Config.maxSites {
            throw phys.fail("L", "L^Nd = \(L)^\(Nd) sites is too large; at most 2^28 sites are supported")
        }

        var tr = try section("training", required: true)
        var training = Training()
        training.seed = UInt64(try tr.int("seed", default: 12345, "a non-negative integer") { $0 >= 0 })
        training.batchSize = try tr.int("batchsize", "a positive integer") { $0 >= 1 }
        training.epochs = try tr.int("epochs", "a positive integer") { $0 >= 1 }
        training.iterations = try tr.int("iterations", "a positive integer") { $0 >= 1 }
        training.baseLR = try tr.double("base_lr", "a positive finite number") { $0.isFinite && $0 > 0 }
        training.evalSamples = try tr.int("eval_samples", default: 4096, "an integer in 2...\(Config.maxEvalSamples)") {
            (2...Config.maxEvalSamples).contains($0)
        }
        let optimisers = OptimiserKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        let opt = try tr.string("opt", default: "Adam", "one of \(optimisers)")
        guard let kind = OptimiserKind.parse(opt) else {
            throw tr.fail("opt", "expected one of \(optimisers) (Flux's optimiser of that name at base_lr), got \"\(opt)\"")
        }
        training.optimiser = kind
        training.clipNorm = try tr.raw("clip_norm") == nil ? nil
            : tr.double("clip_norm", "a positive gradient norm, e.g. 1.0") { $0.isFinite && $0 > 0 }
        let estimator = try tr.string("gradient", default: "standard", "\"standard\" or \"path\"").lowercased()
        guard ["standard", "path"].contains(estimator) else {
            throw tr.fail("gradient", "expected \"standard\" (the reparametrisation gradient) or \"path\" (the path gradient), got \"\(estimator)\"")
        }
        training.pathGradient = estimator == "path"
        training.prior = try parsePrior(&tr)
        if training.pathGradient, case .potential = training.prior {
            // The dropped score term vanishes only when q's support does not move with
            // the parameters; the image of the potential prior's box does.
            throw tr.fail("gradient", "\"path\" needs a prior without bounds (\"Normal\"): with the potential prior the support moves with the flow and the path gradient is biased; use \"standard\"")
        }
        training.lrSchedule = try parseSchedule(&tr, baseLR: training.baseLR)
        training.pretrained = try tr.string("pretrained", default: "", "a path to a .safetensors file, or \"\"")
        training.growPretrained = try tr.bool("grow_pretrained", default: false)
        training.shearLR = try tr.raw("shear_lr") == nil ? nil
            : tr.double("shear_lr", "a positive learning rate for the shears' weights, e.g. 1e-6") { $0.isFinite && $0 > 0 }
        if training.growPretrained && training.pretrained.isEmpty {
            throw tr.fail("grow_pretrained", "expected false without [training] pretrained (it lets a smaller model file start a larger flow)")
        }
        training.stopAtAcceptance = try tr.raw("stop_at_acceptance") == nil ? nil
            : tr.double("stop_at_acceptance", "a percentage in (0, 100], e.g. 50") { $0 > 0 && $0 <= 100 }
        training.stopAfterSeconds = try tr.raw("stop_after_seconds") == nil ? nil
            : tr.double("stop_after_seconds", "a positive number of wall seconds, e.g. 1800") { $0.isFinite && $0 > 0 }
        training.result = try tr.string("result", default: "result", "a folder name")
        if training.result.isEmpty { throw tr.fail("result", "expected a non-empty folder name") }
        try tr.finish()

        var mod = try section("model", required: true)
        let mseed = try mod.int("seed", default: 2021, "a non-negative integer") { $0 >= 0 }
        let nLayers = try mod.int("n_layers", "a positive integer") { $0 >= 1 }
        let hidden = try mod.intArray("hidden_sizes", "an array of positive integers such as [8, 8]") { $0 >= 1 }
        let K = try mod.int("kernel_size", "an odd integer >= 1") { $0 >= 1 && $0 % 2 == 1 }
        _ = try mod.int("inC", default: 1, "1 (one field component)") { $0 == 1 }
        let coupling = try ConfigCoupling.parse(&mod)
        let outputs = coupling.map.parametersPerSite
        _ = try mod.int("outC", default: outputs, ConfigCoupling.outputsExpected(coupling)) { $0 == outputs }
        let tanh = try mod.bool("use_final_tanh", default: coupling.map.lastActivation(useFinalTanh: true) == .tanh)
        let bn = try mod.bool("use_bn", default: false)
        // A model option that batch norms cannot go with: one message shape for all of them.
        func refuseWithBN(_ key: String, if set: Bool, because why: String?, fix: String = "set one of them false") throws {
            guard set && bn else { return }
            throw mod.fail(key, "cannot be combined with use_bn = true\(why.map { " (\($0))" } ?? ""); \(fix)")
        }
        let z2 = try mod.bool("z2_equivariant", default: false)
        try refuseWithBN("z2_equivariant", if: z2, because: "batch statistics would mix x and -x")
        let fourier = try mod.bool("fourier_scaling", default: false)
        try refuseWithBN("fourier_scaling", if: fourier, because: "the batch-norm training pass has no Fourier layer")
        let siteMaps = try mod.int("site_map_features", default: 0, "an integer in 0...64 (0: no site maps)") { (0...64).contains($0) }
        try refuseWithBN("site_map_features", if: siteMaps > 0, because: "the batch-norm training pass has no site maps",
                         fix: "set use_bn = false or site_map_features = 0")
        let shears = try mod.int("shear_features", default: 0, "an integer in 0...16 (0: no shears)") { (0...16).contains($0) }
        if shears == 0 && training.shearLR != nil {
            throw InputError(file: file, field: "[training] shear_lr", "expected no shear_lr without shears ([model] shear_features > 0)")
        }
        try refuseWithBN("shear_features", if: shears > 0, because: "the batch-norm training pass has no shears",
                         fix: "set use_bn = false or shear_features = 0")
        let integrateEven = try mod.bool("integrate_even_sites", default: false)
        if integrateEven && (Nd != 2 || L % 2 != 0) {
            throw mod.fail("integrate_even_sites", "needs a 2-D lattice of even L ([physical] Nd = \(Nd), L = \(L)); set it false")
        }
        try refuseWithBN("integrate_even_sites", if: integrateEven, because: nil)
        if integrateEven && !(lam > 0 || (lam == 0 && M2 + 4 > 0)) {
            throw mod.fail("integrate_even_sites", "needs [physical] lam > 0 (or lam = 0 and M2 > -4) for the even sites' integral to exist")
        }
        let identityInit = try mod.bool("identity_init", default: false)
        try refuseWithBN("identity_init", if: identityInit,
                         because: "the batch norm after the zero layer would scale its first updates up to unit variance")
        let convExpected = "\"full\", \"cross\" or \"\(Nd)Ck\" with 1 <= k <= \(Nd), e.g. \"\(Nd)C\(max(1, Nd - 1))\""
        let conv = try mod.string("conv", default: "full", convExpected)
        let cross = conv.lowercased() == "cross"
        let k = cross ? Nd : try parseConv(conv, Nd: Nd) ?? { throw mod.fail("conv", "expected \(convExpected), got \"\(conv)\"") }()
        try mod.finish()

        if training.pathGradient && bn {
            throw tr.fail("gradient", "\"path\" cannot be combined with [model] use_bn = true (the density of a batch-normalised training pass depends on the whole batch); use \"standard\"")
        }
        let model = ModelSpec(L: L, d: Nd, nLayers: nLayers, hiddenSizes: hidden, kernelSize: K,
                              convAxes: k, crossKernel: cross, useFinalTanh: tanh, useBN: bn, seed: UInt64(mseed),
                              z2Equivariant: z2, fourierScaling: fourier, coupling: coupling, siteMapFeatures: siteMaps, shearFeatures: shears,
                              integrateEvenSites: integrateEven, identityInit: identityInit)
        var c = Config(name: name, sourcePath: file, physical: Physical(L: L, Nd: Nd, M2: M2, lam: lam), model: model)
        c.version = version
        c.deviceID = deviceID
        c.threads = threadsRaw == 0 ? nil : threadsRaw
        c.training = training
        try c.checkFootprint(threads: c.threads ?? defaultThreadCount())
        return c
    }

    static func isStandardNormal(_ s: String) -> Bool {
        let compact = s.replacingOccurrences(of: " ", with: "")
        return ["normal", "normal{float32}(0.f0,1.f0)", "normal{float64}(0.0,1.0)", "normal(0,1)", "normal(0.0,1.0)"]
            .contains(compact.lowercased())
    }

    /// "full" -> Nd; "dCk" -> k (d must equal Nd); anything else -> nil.
    static func parseConv(_ s: String, Nd: Int) -> Int? {
        if s == "full" { return Nd }
        let parts = s.uppercased().split(separator: "C", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = Int(parts[0]), let k = Int(parts[1]), d == Nd, (1...Nd).contains(k) else { return nil }
        return k
    }
}

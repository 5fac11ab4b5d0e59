import Foundation
import GomalizingFlow
import TOMLKit

/// A grid of training runs read from a sweep file:
///
///     seeds = 3                      # or [1, 2, 5]: each sets [training] seed and [model] seed
///                                    # (a grid's own seeds = ... replaces it for that grid)
///     result = "result/sweeps"       # parent of the sweep's folder (default "result")
///     [set.training]                 # applied to every run
///     stop_at_acceptance = 50
///     [[grid]]
///     configs = ["cfgs/example3d_critical_L8.toml"]   # relative to the sweep file
///     [grid.vary.model]
///     conv = ["full", "3C1", "3C2", "cross"]
///     [grid.set.training]            # applied to this grid's runs only
///     epochs = 300
///
/// Each grid is the product of its configs, the values of each varied key and
/// the seeds. Every run is a complete config file, validated as `train` would
/// validate it before anything runs.
public struct SweepSpec: Sendable {
    /// One training run of the sweep.
    public struct Run: Sendable, Equatable {
        /// Also the config name, hence the run's result folder under `folder`.
        public var name: String
        /// Path of the config the run was made from, resolved against the sweep file's folder.
        public var baseConfig: String
        /// The varied keys and their values here, e.g. ("[model] conv", "3C1"), sorted by key.
        public var varied: [(key: String, value: String)]
        /// The seed, set as both [training] seed and [model] seed.
        public var seed: Int
        /// The setting the run belongs to: its name without the seed.
        public var group: String
        /// The run's config file text, every override applied.
        public var configText: String
        /// `configText` parsed and validated, its result folder inside the sweep's folder.
        public var config: Config

        /// Runs are equal when their names and config texts are.
        public static func == (a: Run, b: Run) -> Bool { a.name == b.name && a.configText == b.configText }
    }

    /// The sweep file's name without extension; also its folder's name.
    public var name: String
    /// The sweep file's path as given.
    public var file: String
    /// The sweep's folder: `result/<sweep name>`.
    public var folder: URL
    /// Every run of every grid, in the order the sweep trains them.
    public var runs: [Run]
    /// Every varied key over all grids, in order of first appearance.
    public var variedKeys: [String]
    /// Acceptance thresholds (percent) whose first epochs the tables report:
    /// the file's `thresholds`, by default 25, 50 and 70.
    public var thresholds: [Double] = RunSummary.thresholds

    /// Reads and validates the sweep file at `path`; its name is the file name without extension.
    /// - Throws: `InputError` naming the file and key of anything that is wrong.
    public static func load(path: String) throws -> SweepSpec {
        let text = try Config.readText(path)
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(text, file: path, name: name)
    }

    /// Parses sweep-file text; `file` is named in errors and resolves relative config paths.
    /// - Throws: `InputError` naming the file and key of anything that is wrong.
    public static func parse(_ text: String, file: String, name: String) throws -> SweepSpec {
        let root = try Config.parseTOML(text, file: file)
        var top = TOMLSection(file: file, name: nil, table: root)
        let seeds = try seedList(&top)
        let result = try top.string("result", default: "result", "a folder name")
        if result.isEmpty { throw top.fail("result", "expected a non-empty folder name") }
        let globalSet = try overrides(top.raw("set"), file: file, field: "set")
        let thresholds = try thresholdList(top.raw("thresholds"), file: file)
        guard let gridValue = top.raw("grid") else {
            throw top.fail("grid", "missing; expected one or more [[grid]] tables, each with configs = [\"cfgs/....toml\"]")
        }
        guard let grids = gridValue.array, grids.count > 0 else {
            throw top.fail("grid", "expected [[grid]] tables (an array of tables), got a \(gridValue.type)")
        }
        try top.finish()
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        let folder = URL(fileURLWithPath: result).appendingPathComponent(name)
        // First every grid's keys, so that run names shorten keys alike in all grids.
        var parsed: [(field: String, configs: [String], seeds: [Int]?, vary: [(key: String, values: [TOMLValueConvertible])],
                      set: [(String, TOMLValueConvertible)])] = []
        var keys: [String] = []
        for (g, item) in grids.enumerated() {
            let field = "grid[\(g + 1)]"
            guard let table = item.table else { throw InputError(file: file, field: field, "expected a table, got a \(item.type)") }
            var sec = TOMLSection(file: file, name: field, table: table)
            guard let cfgs = sec.raw("configs")?.array, cfgs.count > 0, cfgs.allSatisfy({ $0.string?.isEmpty == false }) else {
                throw sec.fail("configs", "expected a non-empty array of config paths such as [\"cfgs/example2d.toml\"]")
            }
            let gridSeeds = try seedList(&sec) ?? seeds
            let vary = try variations(sec.raw("vary"), file: file, field: "\(field).vary")
            let set = try overrides(sec.raw("set"), file: file, field: "\(field).set")
            try sec.finish()
            for (key, _) in vary + set.map({ (key: $0.0, values: [$0.1]) }) + globalSet.map({ (key: $0.0, values: [$0.1]) }) {
                if let why = reserved(key, seeds: gridSeeds != nil) {
                    throw InputError(file: file, field: field, "sets \(key), which \(why)")
                }
            }
            for (key, _) in vary where !keys.contains(key) { keys.append(key) }
            parsed.append((field, cfgs.compactMap(\.string), gridSeeds, vary, set))
        }
        var runs: [Run] = []
        for grid in parsed {
            for path in grid.configs {
                let resolved = path.hasPrefix("/") ? path : SweepSpec.join(base.path, path)
                let configText: String
                do {
                    configText = try Config.readText(resolved)
                } catch let e as InputError {
                    throw InputError(file: file, field: "\(grid.field).configs", "\(path): \(e.message)")
                }
                let configName = URL(fileURLWithPath: resolved).deletingPathExtension().lastPathComponent
                for combination in product(grid.vary) {
                    let group = ([configName] + combination.map { "\(shortKey($0.key, among: keys))-\(slug($0.value))" })
                        .joined(separator: "_")
                    let seedChoices: [Int?] = grid.seeds.map { $0.map(Optional.some) } ?? [nil]
                    for seed in seedChoices {
                        var values: [(String, TOMLValueConvertible)] = globalSet + grid.set + combination.map { ($0.key, $0.value) }
                        if let seed { values += [("[training] seed", seed), ("[model] seed", seed)] }
                        let runName = group + (seed.map { "_s\($0)" } ?? "")
                        let runText = try apply(values, to: configText, configFile: resolved, sweepFile: file,
                                                result: result + "/" + name, header: "# run \(runName) of sweep \(file), from \(resolved)")
                        let config = try Config.parse(runText, file: "\(file) (run \(runName) from \(path))", name: runName)
                        runs.append(Run(name: runName, baseConfig: resolved,
                                        varied: combination.map { ($0.key, display($0.value)) },
                                        seed: seed ?? Int(config.training.seed), group: group,
                                        configText: runText, config: config))
                    }
                }
            }
        }
        var seen = Set<String>()
        for r in runs where !seen.insert(r.name).inserted {
            throw InputError(file: file, "two runs would share the name \(r.name) (a config listed twice, or values that read alike)")
        }
        for r in runs where ["configs", "logs"].contains(r.name) {
            throw InputError(file: file, "a run may not be named \(r.name): the sweep's folder keeps its own \(r.name)/ there; rename the config")
        }
        // The seeds of a setting must differ in their seeds only, or the
        // tables would take medians over different settings.
        var definitions: [String: (run: String, definition: [String: String])] = [:]
        for r in runs {
            var d = r.config.runDefinition
            d["[training] seed"] = nil
            d["[model] seed"] = nil
            d["[training] stop_at_acceptance"] = r.config.training.stopAtAcceptance.map { "\($0)" }
            d["[training] stop_after_seconds"] = r.config.training.stopAfterSeconds.map { "\($0)" }
            d["[training] epochs"] = "\(r.config.training.epochs)"
            if let other = definitions[r.group] {
                let diff = Config.definitionDifferences(run: other.definition, now: d)
                if !diff.isEmpty {
                    throw InputError(file: file, "runs \(other.run) and \(r.name) are seeds of one setting \(r.group) but differ in "
                        + diff.joined(separator: "; ") + "; vary the key (one value per grid) to make them separate settings")
                }
            } else {
                definitions[r.group] = (r.name, d)
            }
        }
        return SweepSpec(name: name, file: file, folder: folder, runs: runs, variedKeys: keys, thresholds: thresholds)
    }

    /// The summary of one of this sweep's runs, read for the sweep's thresholds.
    /// - Throws: `InputError` for a history or checkpoint that cannot be read.
    public func summary(of run: Run) throws -> RunSummary {
        try RunSummary(run: run, folder: folder, thresholds: thresholds)
    }

    /// The other runs of this sweep whose result folder holds `run`'s warm
    /// start (`[training] pretrained`, relative to the working directory as
    /// `train` reads it): `run` must not start before they have ended, or it
    /// would load a missing or half-trained model.
    public func warmStartSources(of run: Run) -> [Run] {
        let pretrained = run.config.training.pretrained
        guard !pretrained.isEmpty else { return [] }
        let cwd = FileManager.default.currentDirectoryPath
        let file = pretrained.hasPrefix("/") ? SweepSpec.join("/", pretrained) : SweepSpec.join(cwd, pretrained)
        let root = folder.path.hasPrefix("/") ? SweepSpec.join("/", folder.path) : SweepSpec.join(cwd, folder.path)
        return runs.filter { $0.name != run.name && file.hasPrefix(root + "/" + $0.name + "/") }
    }

    /// `thresholds = [25, 40, 50, 70]`: increasing percentages in (0, 100], at most 8.
    static func thresholdList(_ value: TOMLValueConvertible?, file: String) throws -> [Double] {
        guard let value else { return RunSummary.thresholds }
        let expected = "expected an increasing array of 1 to 8 acceptance percentages in (0, 100], e.g. [25, 40, 50, 70]"
        guard let items = value.array, (1...8).contains(items.count) else { throw InputError(file: file, field: "thresholds", expected) }
        let t = items.compactMap { $0.double ?? $0.int.map(Double.init) }
        guard t.count == items.count, t.allSatisfy({ $0 > 0 && $0 <= 100 }), zip(t, t.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw InputError(file: file, field: "thresholds", expected)
        }
        return t
    }

    /// `dir/relative` with "." and ".." resolved (Foundation's `standardized`
    /// drops leading components on Linux).
    static func join(_ dir: String, _ relative: String) -> String {
        var parts: [Substring] = []
        for c in (dir + "/" + relative).split(separator: "/") {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Why a sweep may not set or vary a key, if it may not.
    static func reserved(_ key: String, seeds: Bool) -> String? {
        switch key {
        case "[training] result": return "the sweep sets (each run trains into the sweep's folder; set the sweep's result instead)"
        case "[device] threads": return "the sweep sets (use --threads or --parallel)"
        case "[training] seed" where seeds, "[model] seed" where seeds:
            return "the sweep's seeds set; use seeds or the key, not both"
        default: return nil
        }
    }

    /// `seeds = N` means 1...N; `seeds = [a, b]` those; absent: the configs' own seeds.
    static func seedList(_ top: inout TOMLSection) throws -> [Int]? {
        guard let raw = top.raw("seeds") else { return nil }
        if let n = raw.int {
            guard (1...1000).contains(n) else { throw top.fail("seeds", "expected a count in 1...1000 or an array of seeds, got \(n)") }
            return Array(1...n)
        }
        let list = try top.intArray("seeds", "a count such as 3 or an array of non-negative integers such as [1, 2, 3]") { $0 >= 0 }
        guard !list.isEmpty, Set(list).count == list.count else {
            throw top.fail("seeds", "expected a non-empty array of distinct seeds")
        }
        return list
    }

    /// `[set.SECTION] key = value` tables as ("[SECTION] key", value).
    static func overrides(_ raw: TOMLValueConvertible?, file: String, field: String) throws -> [(String, TOMLValueConvertible)] {
        guard let raw else { return [] }
        guard let t = raw.table else { throw InputError(file: file, field: field, "expected tables such as [\(field).training], got a \(raw.type)") }
        var out: [(String, TOMLValueConvertible)] = []
        for section in t.keys.sorted() {
            guard let inner = t[section]?.table, !inner.keys.isEmpty else {
                throw InputError(file: file, field: "\(field).\(section)", "expected a table of config keys, such as [\(field).training] epochs = 100")
            }
            try checkSection(section, file: file, field: field)
            for key in inner.keys.sorted() { out.append(("[\(section)] \(key)", inner[key]!)) }
        }
        return out
    }

    /// `[vary.SECTION] key = [v1, v2]` tables as ("[SECTION] key", [v1, v2]).
    static func variations(_ raw: TOMLValueConvertible?, file: String, field: String) throws -> [(key: String, values: [TOMLValueConvertible])] {
        guard let raw else { return [] }
        guard let t = raw.table else { throw InputError(file: file, field: field, "expected tables such as [\(field).model], got a \(raw.type)") }
        var out: [(key: String, values: [TOMLValueConvertible])] = []
        for section in t.keys.sorted() {
            guard let inner = t[section]?.table, !inner.keys.isEmpty else {
                throw InputError(file: file, field: "\(field).\(section)", "expected a table of config keys, such as [\(field).model] conv = [\"full\", \"2C1\"]")
            }
            try checkSection(section, file: file, field: field)
            for key in inner.keys.sorted() {
                guard let values = inner[key]?.array, values.count > 0 else {
                    throw InputError(file: file, field: "\(field).\(section).\(key)", "expected a non-empty array of the values to try")
                }
                out.append((key: "[\(section)] \(key)", values: Array(values)))
            }
        }
        return out
    }

    static func checkSection(_ s: String, file: String, field: String) throws {
        let known = ["config", "device", "training", "physical", "model"]
        guard known.contains(s) else {
            let guess = Spelling.suggestion(for: s, among: known).map { "did you mean \($0)? " } ?? ""
            throw InputError(file: file, field: "\(field).\(s)", "unknown config section; \(guess)sections are \(known.joined(separator: ", "))")
        }
    }

    /// Every combination of one value per varied key (one empty combination when nothing varies).
    static func product(_ vary: [(key: String, values: [TOMLValueConvertible])]) -> [[(key: String, value: TOMLValueConvertible)]] {
        var out: [[(key: String, value: TOMLValueConvertible)]] = [[]]
        for (key, values) in vary {
            out = out.flatMap { prefix in values.map { prefix + [(key: key, value: $0)] } }
        }
        return out
    }

    /// The config text with the values set (sections created as needed) and
    /// [training] result pointing into the sweep's folder.
    static func apply(_ values: [(String, TOMLValueConvertible)], to text: String, configFile: String, sweepFile: String,
                      result: String, header: String) throws -> String {
        let root = try Config.parseTOML(text, file: configFile)
        for (key, value) in values + [("[training] result", result)] {
            let parts = key.dropFirst().split(separator: "]", maxSplits: 1)
            let section = String(parts[0]), name = parts[1].trimmingCharacters(in: .whitespaces)
            if root[section] == nil { root[section] = TOMLTable() }
            guard let t = root[section]?.table else {
                throw InputError(file: configFile, field: section, "is not a table, so \(sweepFile) cannot set \(key)")
            }
            t[name] = value
        }
        return header + "\n" + root.convert(to: .toml) + "\n"
    }

    /// "[model] conv" -> "conv"; the section too where two varied keys share a name.
    static func shortKey(_ key: String, among keys: [String]) -> String {
        let name = String(key.split(separator: "]", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces))
        let clash = keys.filter { $0 != key && $0.hasSuffix("] " + name) }
        return clash.isEmpty ? name : key.dropFirst().replacingOccurrences(of: "] ", with: ".")
    }

    /// A value as the table shows it: strings bare, arrays in brackets.
    static func display(_ v: TOMLValueConvertible) -> String {
        if let s = v.string { return s }
        if let a = v.array { return "[" + a.map(display).joined(separator: ", ") + "]" }
        if let d = v.double { return "\(d)" }
        if let i = v.int { return "\(i)" }
        if let b = v.bool { return "\(b)" }
        if let t = v.table { return "{" + t.keys.sorted().map { "\($0)=\(display(t[$0]!))" }.joined(separator: ", ") + "}" }
        return "\(v)"
    }

    /// A value as a folder-name fragment: letters, digits, '.', '-' (a sign
    /// stays: M2 = -4 gives "M2--4.0") and '+'; arrays as "8x8".
    static func slug(_ v: TOMLValueConvertible) -> String {
        let s = display(v).replacingOccurrences(of: ", ", with: "x").filter { !"[]{}\"' ".contains($0) }
        return String(s.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" ? $0 : "-" })
    }
}

import Foundation
import GomalizingFlow

/// The sweep's tables: sweep.csv, one row per run, and the settings' summary
/// (median and range over seeds) that sweep.md and sweep.html show.
public enum SweepTable {
    /// The per-run table's file name in the sweep's folder.
    public static let csvName = "sweep.csv"
    /// The settings' summary's file name in the sweep's folder.
    public static let markdownName = "sweep.md"

    /// One row per run. Times are wall seconds on the machine named in the
    /// row; an empty cell is a threshold never reached.
    public static func csv(_ spec: SweepSpec, _ runs: [RunSummary], machine: MachineDescription) -> String {
        rows(spec, runs, machine: machine).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// The header and one row of cells per run.
    public static func rows(_ spec: SweepSpec, _ runs: [RunSummary], machine: MachineDescription) -> [[String]] {
        var head = ["run", "group", "config"] + spec.variedKeys.map(columnName) + ["seed", "L", "Nd", "conv", "parameters",
            "status", "epochs_done", "epochs", "ms_per_step"]
        for t in spec.thresholds { head += ["epochs_to_\(RunSummary.label(t))", "seconds_to_\(RunSummary.label(t))"] }
        head += ["best_acceptance", "best_acceptance_epoch", "best_ess", "best_ess_epoch", "final_acceptance", "final_ess",
                 "acceptance_last10", "ess_last10", "total_seconds", "threads", "cpu", "cores"]
        var lines = [head]
        for s in runs {
            let r = s.run, c = r.config
            var row = [r.name, r.group, URL(fileURLWithPath: r.baseConfig).deletingPathExtension().lastPathComponent]
            row += spec.variedKeys.map { k in r.varied.first { $0.key == k }?.value ?? "" }
            row += ["\(r.seed)", "\(c.physical.L)", "\(c.physical.Nd)", c.model.convName, "\(s.parameters)",
                    s.status.rawValue, "\(s.epochsDone)", "\(c.training.epochs)", number(s.msPerStep)]
            for t in spec.thresholds {
                row += [s.reached[t].map { "\($0.epoch)" } ?? "", s.reached[t].map { number($0.seconds) } ?? ""]
            }
            row += [s.bestAcceptance.map { number($0.value) } ?? "", s.bestAcceptance.map { "\($0.epoch)" } ?? "",
                    s.bestESS.map { number($0.value) } ?? "", s.bestESS.map { "\($0.epoch)" } ?? "",
                    s.records.last.map { number($0.acceptanceRate) } ?? "", s.records.last.map { number($0.ess) } ?? "",
                    s.finalAcceptance().map(number) ?? "", s.finalESS().map(number) ?? "", number(s.totalSeconds), s.threads.map { "\($0)" } ?? "", machine.cpu, "\(machine.cores)"]
            lines.append(row)
        }
        return lines
    }

    /// A setting (a group of seeds) summarised.
    public struct Group {
        /// The setting's name: the run name without the seed.
        public var name: String
        /// Its runs, one per seed, in sweep order.
        public var runs: [RunSummary]
        /// Runs with nothing left to train.
        public var finished: Int { runs.filter(\.isFinished).count }
        /// Values over the runs that reached the threshold, and how many did.
        public func reach(_ threshold: Double) -> (epochs: [Double], minutes: [Double]) {
            let r = runs.compactMap { $0.reached[threshold] }
            return (r.map { Double($0.epoch) }, r.map { $0.seconds / 60 })
        }
    }

    /// Runs grouped by setting, in order of first appearance.
    public static func groups(_ runs: [RunSummary]) -> [Group] {
        var order: [String] = [], byName: [String: [RunSummary]] = [:]
        for r in runs {
            if byName[r.run.group] == nil { order.append(r.run.group) }
            byName[r.run.group, default: []].append(r)
        }
        return order.map { Group(name: $0, runs: byName[$0]!) }
    }

    /// "12 (9–15)": the median and range, or the one value, or "–".
    public static func medianRange(_ values: [Double], digits: Int = 0) -> String {
        let v = values.filter(\.isFinite).sorted()
        guard !v.isEmpty else { return "–" }
        func f(_ x: Double) -> String { String(format: "%.\(digits)f", x) }
        let n = v.count
        let median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
        return n == 1 ? f(median) : "\(f(median)) (\(f(v[0]))–\(f(v[n - 1])))"
    }

    /// For each base config, the last epoch that every started run made from
    /// it reached: there its settings are compared per epoch (runs of other
    /// configs, another lattice say, have their own).
    public static func commonEpochs(_ runs: [RunSummary]) -> [String: Int] {
        var out: [String: Int] = [:]
        for r in runs where !r.records.isEmpty {
            out[r.run.baseConfig] = min(out[r.run.baseConfig] ?? .max, r.epochsDone)
        }
        return out
    }

    /// The settings' summary, as sweep.md and sweep.html show it: a header and
    /// a row per setting, each cell the median (range) over its seeds; the
    /// thresholds are those the runs were read for.
    public static func summary(_ runs: [RunSummary]) -> [[String]] {
        let thresholds = runs.first?.thresholds ?? RunSummary.thresholds
        let common = commonEpochs(runs)
        var head = ["setting", "params", "ms/step", "runs done"]
        for t in thresholds { head += ["\(RunSummary.label(t))%: reached", "epochs", "minutes"] }
        head += ["acceptance % at a common epoch", "acceptance % at the end", "ESS at the end",
                 "best acceptance %", "best ESS", "epochs run"]
        var rows = [head]
        for g in groups(runs) {
            let n = g.runs.count
            var cells = [g.name, "\(g.runs[0].parameters)", medianRange(g.runs.map(\.msPerStep), digits: 1), "\(g.finished)/\(n)"]
            for t in thresholds {
                let r = g.reach(t)
                cells += ["\(r.epochs.count)/\(n)", medianRange(r.epochs), medianRange(r.minutes, digits: 1)]
            }
            cells += [common[g.runs[0].run.baseConfig].map { e in
                          "\(e): " + medianRange(g.runs.compactMap { $0.meanAcceptance(upTo: e) }, digits: 1) } ?? "–",
                      medianRange(g.runs.compactMap { $0.finalAcceptance() }, digits: 1),
                      medianRange(g.runs.compactMap { $0.finalESS() }, digits: 3),
                      medianRange(g.runs.compactMap { $0.bestAcceptance?.value }, digits: 1),
                      medianRange(g.runs.compactMap { $0.bestESS?.value }, digits: 3),
                      medianRange(g.runs.filter { $0.status != .notStarted }.map { Double($0.epochsDone) })]
            rows.append(cells)
        }
        return rows
    }

    /// The settings' summary as a Markdown table.
    public static func markdown(_ spec: SweepSpec, _ runs: [RunSummary], machine: MachineDescription, date: Date = Date()) -> String {
        var out = "# Sweep \(spec.name)\n\n"
        out += "Machine: \(machine.description); tabulated \(ISO8601DateFormatter().string(from: date)).\n"
        out += "Median (range) over the seeds that reached the threshold; \"k/n\" counts them. "
        out += "\"At a common epoch\" (E: value): the mean over the 10 epochs up to the last epoch E that every run "
        out += "of the same base config reached. \"At the end\": the mean over the last "
        out += "10 epochs of the runs that used their whole budget (not those stopped at an acceptance); \"ESS at the end\" likewise.\n\n"
        let rows = summary(runs)
        out += "| " + rows[0].joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---:|", count: rows[0].count - 1) + "\n"
        for row in rows.dropFirst() { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }

    static func columnName(_ key: String) -> String {
        key.dropFirst().replacingOccurrences(of: "] ", with: ".")
    }

    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "" }

    static func quote(_ s: String) -> String {
        s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

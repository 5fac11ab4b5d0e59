import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Live terminal plot of a training run's history.csv; redraws when it changes (Ctrl-C stops).")

    @Argument(help: "The run's TOML config, its result folder, or a history.csv.")
    var target: String

    @Option(help: "The history column to plot: acceptance_rate, ess, loss, loss_std, best_acceptance_rate, lr, ...")
    var item = "acceptance_rate"

    @Option(help: "Override [training] result (the parent of the result folder) when RUN is a config.")
    var result: String?

    @Option(parsing: .unconditional, help: "Seconds between checks for a new epoch.")
    var interval = 2.0

    @Option(parsing: .unconditional, help: "Plot only the last N epochs.")
    var last: Int?

    @Option(parsing: .unconditional, help: "Fixed y range as LO,HI (values outside are drawn on the frame).")
    var ylim: String?

    @Option(parsing: .unconditional, help: "Chart width in characters (default: the terminal's, else 80).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Plot rows (default: fits the terminal, else 15).")
    var height: Int?

    @Flag(help: "Draw once and exit (no refresh).")
    var once = false

    func validate() throws {
        if !(interval >= 0.01 && interval <= 86400) { throw ValidationError("--interval must be in 0.01...86400 seconds, got \(interval)") }
        if let last { try OptionChecks.count(last, "--last") }
        // The chart is drawn in memory: sizes beyond any terminal are typing mistakes.
        if let width { try OptionChecks.count(width, "--width", max: Watch.maxWidth, min: 20) }
        if let height { try OptionChecks.count(height, "--height", max: Watch.maxHeight, min: 2) }
    }

    static let maxWidth = 4096, maxHeight = 1024

    func run() throws {
        try reportingErrors {
            let (name, history) = try locate()
            let range = try ylim.map(parseRange)
            StopSignal.install()
            let tty = isatty(STDOUT_FILENO) == 1
            var lastStamp = ""
            var waiting = false
            while !StopSignal.requested {
                let attributes = try? FileManager.default.attributesOfItem(atPath: history)
                let (columns, rows) = terminalSize()
                let size = (min(columns, Watch.maxWidth), min(rows, Watch.maxHeight))
                if let attributes {
                    let stamp = "\(attributes[.modificationDate] ?? "")/\(attributes[.size] ?? "")/\(size.0)x\(size.1)"
                    if stamp != lastStamp {
                        lastStamp = stamp
                        let lines = try frame(name: name, history: history, range: range, columns: size.0, rows: size.1)
                        // On a terminal redraw in place; in a pipe or log, frames follow each other.
                        print((tty ? "\u{1B}[H\u{1B}[2J" : "\n") + lines.joined(separator: "\n"))
                        fflush(stdout)
                    }
                } else if once {
                    throw InputError(file: history, "no history yet (has training started?)")
                } else if !waiting {
                    print("waiting for \(history) (Ctrl-C stops)")
                    fflush(stdout)
                    waiting = true
                }
                if once { break }
                usleep(UInt32(min(interval, 3600) * 1_000_000))
            }
        }
    }

    /// The run's name and its history.csv path.
    func locate() throws -> (String, String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else {
            throw InputError(file: target, "no such file or folder (expected a config, a result folder or a history.csv)")
        }
        let url = URL(fileURLWithPath: target)
        if isDirectory.boolValue {
            return (url.lastPathComponent, url.appendingPathComponent("history.csv").path)
        }
        if url.pathExtension == "csv" { return (url.deletingLastPathComponent().lastPathComponent, target) }
        var cfg = try Config.load(path: target)
        if let result { cfg.training.result = result }
        return (cfg.name, cfg.resultDirectory.appendingPathComponent("history.csv").path)
    }

    func parseRange(_ s: String) throws -> ClosedRange<Double> {
        let parts = s.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo.isFinite, hi.isFinite, lo < hi else {
            throw InputError(file: "command line", field: "--ylim \(s)", "expected LO,HI with LO < HI, e.g. 0,100")
        }
        return lo...hi
    }

    func frame(name: String, history: String, range: ClosedRange<Double>?, columns: Int, rows: Int) throws -> [String] {
        let table = try History.read(path: history)
        guard let ys = table[item], item != "epoch" else {
            let known = table.keys.filter { $0 != "epoch" }.sorted().joined(separator: ", ")
            throw InputError(file: "command line", field: "--item \(item)", "not a column of \(history); expected one of \(known)")
        }
        guard let xs = table["epoch"] else { throw InputError(file: history, field: "header", "has no epoch column") }
        let keep = min(xs.count, last ?? xs.count)
        let x = Array(xs.suffix(keep)), y = Array(ys.suffix(keep))
        var summary = "no epochs yet"
        if let e = x.last, let v = y.last {
            let lowerIsBetter = item.hasPrefix("loss")
            let finite = zip(x, y).filter { $0.1.isFinite }
            let best = lowerIsBetter ? finite.min { $0.1 < $1.1 } : finite.max { $0.1 < $1.1 }
            summary = "epoch \(Int(e)): \(TerminalChart.label(v))"
            if let best { summary += ", \(lowerIsBetter ? "lowest" : "best") \(TerminalChart.label(best.1)) at epoch \(Int(best.0))" }
        }
        let time = DateFormatter.localizedString(from: Date(), dateStyle: .none, timeStyle: .medium)
        let chart = TerminalChart(title: "\(name) \(item) | \(summary) | \(time)", xLabel: "epoch", x: x, y: y, yRange: range)
        return chart.render(width: width ?? columns, height: height ?? max(6, min(30, rows - 6)))
    }

    /// The terminal's columns and rows, or 80 x 21 when stdout is not a terminal.
    func terminalSize() -> (Int, Int) {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 {
            return (Int(size.ws_col), Int(size.ws_row))
        }
        return (80, 21)
    }
}

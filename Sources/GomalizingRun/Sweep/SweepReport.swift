import Foundation
import GomalizingFlow

/// sweep.html: the settings' summary, the per-run table, and acceptance and
/// ESS against epoch and against wall time, one colour per setting: each seed
/// a thin line, the median over seeds a thick one (drawn while every seed of
/// the setting still runs, so that seeds stopped early do not bias it).
public enum SweepReport {
    /// The page's file name in the sweep's folder.
    public static let fileName = "sweep.html"

    /// The whole page; `command` is printed as the way to reproduce it.
    public static func html(_ spec: SweepSpec, _ runs: [RunSummary], machine: MachineDescription, command: String,
                            date: Date = Date()) -> String {
        let groups = SweepTable.groups(runs)
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(spec.name)) — GomalizingFlow sweep</title>
        <style>body{font-family:sans-serif;max-width:1340px;margin:2em auto;padding:0 1em}
        .figs{display:flex;flex-wrap:wrap;gap:12px} table{border-collapse:collapse;font-size:13px}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} td:first-child,th:first-child{text-align:left}
        code{background:#f6f6f6;padding:2px 4px} .wide{overflow-x:auto;max-width:100%}</style>
        </head><body>
        <h1>Sweep \(SVGPlot.escape(spec.name))</h1>
        <p>Machine: \(SVGPlot.escape(machine.description)). Tabulated \(ISO8601DateFormatter().string(from: date)).
        Reproduce with <code>\(SVGPlot.escape(command))</code>. Times are wall seconds of training and per-epoch
        evaluation on that machine.</p>

        """
        page += "<h2>Settings: median (range) over seeds</h2>\n" + htmlTable(SweepTable.summary(runs))
        page += "<h2>Curves</h2>\n<div class=\"figs\">\n"
        for plot in figures(groups) { page += plot.render() }
        page += "</div>\n<h2>Runs</h2>\n" + runTable(spec, runs) + "</body></html>\n"
        return page
    }

    /// The figures as files for documents to link: sweep.acceptance-epoch.svg,
    /// sweep.acceptance-time.svg, sweep.ess-epoch.svg, sweep.ess-time.svg.
    public static func figureFiles(_ groups: [SweepTable.Group]) -> [(name: String, svg: String)] {
        zip(["acceptance-epoch", "acceptance-time", "ess-epoch", "ess-time"], figures(groups)).map {
            ("sweep.\($0.0).svg", $0.1.render())
        }
    }

    /// Acceptance and ESS, each against epoch and against wall time, one colour per setting.
    public static func figures(_ groups: [SweepTable.Group]) -> [SVGPlot] {
        func curves(_ y: KeyPath<EpochRecord, Double>, time: Bool) -> [SVGPlot.Series] {
            var out: [SVGPlot.Series] = []
            for (k, g) in groups.enumerated() {
                let color = SVGPlot.colors[k % SVGPlot.colors.count]
                // Past the palette, colours repeat with another dash pattern.
                let dash = [nil, "7 3", "2 2", "9 3 2 3"][(k / SVGPlot.colors.count) % 4]
                let started = g.runs.filter { !$0.records.isEmpty }
                let m = started.count > 1 ? median(started.map(\.records), y, time: time) : nil
                for (n, r) in started.enumerated() {
                    var s = SVGPlot.Series(name: started.count > 1 ? "\(g.name) (\(started.count) seeds)" : g.name,
                                           x: r.records.map { time ? $0.totalSeconds / 60 : Double($0.epoch) },
                                           y: r.records.map { $0[keyPath: y] })
                    s.color = color
                    s.dash = dash
                    s.lineWidth = 1
                    s.opacity = started.count > 1 ? 0.35 : 1
                    s.markers = false
                    // One legend entry per setting: its median, or its first seed.
                    s.inLegend = m == nil && n == 0
                    out.append(s)
                }
                guard let m else { continue }
                var s = SVGPlot.Series(name: "\(g.name) (median of \(started.count))", x: m.x, y: m.y)
                s.color = color
                s.dash = dash
                s.lineWidth = 2.5
                s.markers = false
                out.append(s)
            }
            return out
        }
        var plots: [SVGPlot] = []
        for (y, label) in [(\EpochRecord.acceptanceRate, "acceptance (%)"), (\EpochRecord.ess, "ESS")] {
            for time in [false, true] {
                var p = SVGPlot(title: "\(label.split(separator: " ")[0]) against \(time ? "wall time" : "epoch")",
                                xLabel: time ? "wall time (minutes)" : "epoch", yLabel: label, series: curves(y, time: time))
                p.legendAtBottom = true
                plots.append(p)
            }
        }
        return plots
    }

    /// The median over runs at each epoch (or on a grid of wall times, each
    /// run's value being that of its latest finished epoch), up to where the
    /// shortest run ends.
    static func median(_ runs: [[EpochRecord]], _ y: KeyPath<EpochRecord, Double>, time: Bool) -> (x: [Double], y: [Double])? {
        guard runs.allSatisfy({ !$0.isEmpty }) else { return nil }
        func mid(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        if !time {
            let n = runs.map(\.count).min()!
            let xs = (0..<n).map { Double(runs[0][$0].epoch) }
            return (xs, (0..<n).map { i in mid(runs.map { $0[i][keyPath: y] }) })
        }
        let start = runs.map { $0[0].totalSeconds }.max()!, end = runs.map { $0.last!.totalSeconds }.min()!
        guard end > start else { return nil }
        let points = 200
        var xs: [Double] = [], ys: [Double] = []
        for i in 0...points {
            let t = start + (end - start) * Double(i) / Double(points)
            let values = runs.map { r in r.last { $0.totalSeconds <= t }?[keyPath: y] ?? r[0][keyPath: y] }
            xs.append(t / 60)
            ys.append(mid(values))
        }
        return (xs, ys)
    }

    static func runTable(_ spec: SweepSpec, _ runs: [RunSummary]) -> String {
        // The per-run table without the machine columns, which the page states once.
        htmlTable(SweepTable.rows(spec, runs, machine: MachineDescription(cpu: "", cores: 0)).map { Array($0.dropLast(2)) })
    }

    /// A header row and data rows as an HTML table.
    public static func htmlTable(_ rows: [[String]]) -> String {
        // Scrolls sideways inside the page when it has more columns than fit.
        var t = "<div class=\"wide\"><table>"
        for (i, row) in rows.enumerated() {
            let tag = i == 0 ? "th" : "td"
            t += "<tr>" + row.map { "<\(tag)>\(SVGPlot.escape($0))</\(tag)>" }.joined() + "</tr>\n"
        }
        return t + "</table></div>\n"
    }
}

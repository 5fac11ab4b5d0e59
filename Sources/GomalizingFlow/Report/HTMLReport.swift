import Foundation

/// One self-contained HTML page for a result folder: the config, the training
/// curves, and for every `*.analysis.json` in the folder a table of observables
/// with errors and its figures. Inline SVG only, so a browser opens it from disk.
public enum HTMLReport {
    public static func build(resultDirectory dir: URL) throws -> String {
        let name = dir.lastPathComponent
        let historyPath = dir.appendingPathComponent("history.csv").path
        let history = try History.read(path: historyPath)
        let config = (try? String(contentsOf: dir.appendingPathComponent("config.toml"), encoding: .utf8)) ?? "(no config.toml)"
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(name)) — GomalizingFlow report</title>
        <style>body{font-family:sans-serif;max-width:1340px;margin:2em auto;padding:0 1em}
        .figs{display:flex;flex-wrap:wrap;gap:12px} table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
        </head><body>
        <h1>\(SVGPlot.escape(name))</h1>

        """
        if let acc = history["acceptance_rate"], let best = acc.max(), let last = acc.last {
            html += "<p>\(acc.count) epochs; acceptance: last \(String(format: "%.2f", last))%, best \(String(format: "%.2f", best))%.</p>\n"
        }
        html += "<h2>Training</h2>\n<div class=\"figs\">\n"
        for p in Figures.training(history) { html += p.render() }
        html += "</div>\n"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for file in files.filter({ $0.hasSuffix(".analysis.json") }).sorted() {
            let obs = try Observables.load(path: dir.appendingPathComponent(file).path)
            html += "<h2>Analysis: \(SVGPlot.escape(file))</h2>\n"
            html += "<p>\(obs.configurations) configurations, jackknife blocks of \(obs.blockSize).</p>\n"
            html += "<table><tr><th>observable</th><th>value</th><th>error</th><th>τ_int</th></tr>\n"
            for (label, e) in [("χ₂", obs.susceptibility), ("E (Ising)", obs.isingEnergy), ("⟨|M|⟩", obs.absMagnetization), ("pole mass", obs.poleMass)] {
                html += String(format: "<tr><td>%@</td><td>%.6g</td><td>%.3g</td><td>%.2f ± %.2f</td></tr>\n",
                               label as NSString, e.value, e.error, e.tauInt, e.tauIntError)
            }
            html += "</table>\n<div class=\"figs\">\n"
            for p in [Figures.correlator(obs), Figures.effectiveMass(obs), Figures.autocorrelation(obs)] { html += p.render() }
            html += "</div>\n"
        }
        html += "<h2>Config</h2>\n<pre>\(SVGPlot.escape(config))</pre>\n</body></html>\n"
        return html
    }
}

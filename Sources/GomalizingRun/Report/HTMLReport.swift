import Foundation
import GomalizingFlow

/// One self-contained HTML page for a result folder: the training curves with
/// the weight-tail verdict, for every `*.analysis.json` in the folder a table
/// of observables with errors, the chain's and the proposals' diagnostics and
/// their figures, and the settings the run used. Inline SVG only, so a browser
/// opens it from disk.
public enum HTMLReport {
    /// The page for the result folder `dir`, from its history.csv, `*.analysis.json`,
    /// settings.txt and config.toml.
    /// - Throws: `InputError` if history.csv or an analysis is missing or malformed.
    public static func build(resultDirectory dir: URL) throws -> String {
        let name = dir.lastPathComponent
        let historyPath = dir.appendingPathComponent("history.csv").path
        let history = try History.read(path: historyPath)
        func text(_ file: String) -> String? { try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8) }
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(name)) — GomalizingFlow report</title>
        <style>body{font-family:sans-serif;max-width:1340px;margin:2em auto;padding:0 1em}
        .figs{display:flex;flex-wrap:wrap;gap:12px} table{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} td:first-child{text-align:left}
        pre{background:#f6f6f6;padding:1em;overflow:auto}
        .warn{background:#fff4e0;border-left:4px solid #e69500;padding:.5em 1em;margin:.5em 0}
        .verdict{font-weight:bold}</style>
        </head><body>
        <h1>\(SVGPlot.escape(name))</h1>

        """
        if let acc = history["acceptance_rate"], let best = acc.max(), let last = acc.last {
            var line = "\(acc.count) epochs; acceptance: last \(String(format: "%.2f", last))%, best \(String(format: "%.2f", best))%"
            if let ess = history["ess"], let bestESS = ess.filter(\.isFinite).max(), let lastESS = ess.last {
                line += String(format: "; ESS: last %.4f, best %.4f", lastESS, bestESS)
            }
            html += "<p>\(line).</p>\n"
            if let k = history["pareto_k"]?.last, k.isFinite {
                html += "<p>Weights of the last epoch's evaluation proposals: Pareto k = \(String(format: "%.2f", k)), "
                    + "<span class=\"verdict\">\(SVGPlot.escape(WeightDiagnostics.verdict(paretoK: k)))</span>.</p>\n"
            }
        }
        html += "<h2>Training</h2>\n<div class=\"figs\">\n"
        for p in Figures.training(history) { html += p.render() }
        html += "</div>\n"
        for (file, obs, stale) in try analyses(in: dir) {
            if let why = stale {
                // Never the numbers of a chain that is no longer there.
                html += "<h2>Analysis: \(SVGPlot.escape(file))</h2>\n<div class=\"warn\">Stale, not shown: "
                    + SVGPlot.escape(why) + ". Analyse the chain again, or remove this file.</div>\n"
                continue
            }
            html += analysis(obs, file: file)
        }
        if let settings = text(Config.settingsFileName) {
            html += "<h2>Settings the run used</h2>\n<p>After command-line overrides (\(Config.settingsFileName)).</p>\n"
                + "<pre>\(SVGPlot.escape(settings))</pre>\n"
        }
        do {
            let record = try RunProvenance.load(in: dir)
            if !record.sessions.isEmpty { html += provenance(record) }
        } catch {
            html += "<h2>Provenance</h2>\n<p>Unreadable: \(SVGPlot.escape("\(error)"))</p>\n"
        }
        html += "<h2>Config file</h2>\n<pre>\(SVGPlot.escape(text("config.toml") ?? "(no config.toml)"))</pre>\n</body></html>\n"
        return html
    }

    /// Every `*.analysis.json` in `dir`, by name, with why its chain is no
    /// longer the one analysed (nil while it is, or when it records none).
    /// - Throws: `InputError` for a file that is not an analysis.
    static func analyses(in dir: URL) throws -> [(file: String, obs: Observables, stale: String?)] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return try files.filter { $0.hasSuffix(".analysis.json") }.sorted().map { file in
            let url = dir.appendingPathComponent(file)
            let obs = try Observables.load(path: url.path)
            return (file, obs, obs.analysedChain?.staleness(analysis: url))
        }
    }

    /// The analyses in `dir` whose chain has been replaced or removed since, with why.
    public static func staleAnalyses(in dir: URL) -> [(file: String, why: String)] {
        ((try? analyses(in: dir)) ?? []).compactMap { a in a.stale.map { (a.file, $0) } }
    }

    /// The sessions of provenance.json, one line each.
    static func provenance(_ record: RunProvenance) -> String {
        var html = "<h2>Provenance</h2>\n<p>The sessions that trained the run (\(RunProvenance.fileName)).</p>\n<ul>\n"
        for s in record.sessions {
            let p = s.provenance
            let epochs = s.firstEpoch.map { "epochs \($0)–\(s.lastEpoch ?? $0)" } ?? "no epoch finished"
            let end = p.ended ?? s.lastEpochEnded.map { "\($0) (its last epoch so far; no end recorded: still running, or killed)" } ?? "?"
            html += "<li>" + SVGPlot.escape("\(p.started) to \(end): \(epochs); \(p.program) \(p.version), \(p.source), "
                + "\(p.build) build; \(p.cpu), \(p.cores) cores, \(p.threads) threads x \(p.ranks) ranks") + "</li>\n"
        }
        return html + "</ul>\n"
    }

    /// The table of `analyze --compare`: both estimates and their difference in sigmas.
    static func comparison(_ c: ObservableComparison.Record, withTraining: Bool = false) -> String {
        var html = "<h3>Compared with \(SVGPlot.escape(c.file))</h3>\n<p>"
            + SVGPlot.escape(c.theory.map { "Both of \($0.description). " } ?? "")
            + String(format: "Difference in units of √(error² + error_other²): largest |difference| %.2f σ over %d observables, "
                     + "mean of (difference/σ)² %.2f (C(t) at different t are correlated).</p>\n",
                     c.largestSigmas, c.finiteRows, c.meanSquaredSigmas)
        html += "<table><tr><th>observable</th><th>this chain</th><th>error</th><th>the other</th><th>error</th><th>difference/σ</th>"
            + "<th>cost ratio (this / other)</th><th>break-even samples with training</th></tr>\n"
        func number(_ x: Double?, _ none: String) -> NSString { (x.map { String(format: "%.3g", $0) } ?? none) as NSString }
        for r in c.rows {
            html += String(format: "<tr><td>%@</td><td>%.6g</td><td>%.3g</td><td>%.6g</td><td>%.3g</td><td>%@</td><td>%@</td><td>%@</td></tr>\n",
                           SVGPlot.escape(r.name) as NSString, r.value.value, r.value.error, r.other.value, r.other.error,
                           (r.sigmas.map { String(format: "%.2f", $0) } ?? "–") as NSString, number(r.costRatio, "–"),
                           number(r.breakEvenSamples, r.costRatio == nil || !withTraining ? "–" : "never"))
        }
        return html + "</table>\n"
    }

    /// The section of one analysis: its observables, diagnostics, comparison and figures.
    public static func analysis(_ obs: Observables, file: String) -> String {
        var html = "<h2>Analysis: \(SVGPlot.escape(file))</h2>\n"
        let sizes = (obs.blockSizes ?? [obs.blockSize]).map(String.init).joined(separator: ", ")
        html += "<p>\(obs.configurations) configurations; jackknife errors, the largest over blocks of \(sizes).</p>\n"
        if let c = obs.chain {
            html += String(format: "<p>Chain: acceptance %.2f%%, longest run of rejections %d steps, accept-series τ_int %.2f.</p>\n",
                           c.acceptanceRate, c.longestRejectionRun, c.acceptTauInt)
        }
        if let w = obs.proposals?.weights {
            html += String(format: "<p>Proposals (%d): ESS %.4f, largest normalised weight %.3g, Pareto k %.2f: ", w.count, w.ess,
                           w.maxWeight, w.paretoK)
                + "<span class=\"verdict\">\(SVGPlot.escape(w.verdict))</span>.</p>\n"
        }
        if let c = obs.cost {
            html += String(format: "<p>Cost: %.4g core-seconds (%.4g s wall × %d threads × %d ranks) for %d configurations; "
                           + "an independent sample of an observable costs %.3g core-s × 2 τ_int (the last column).</p>\n",
                           c.coreSeconds, c.wallSeconds, c.threads, c.ranks, c.configurations, c.perConfiguration)
        }
        if let t = obs.training {
            html += "<p>" + SVGPlot.escape(String(format: "Training: %.4g core-seconds in %d sessions of ", t.coreSeconds, t.sessions)
                + t.sources.joined(separator: ", ")) + ".</p>\n"
        }
        if let f = obs.freeEnergy {
            html += "<p>" + SVGPlot.escape(String(format: "Free energy: log Z = %.8g ± %.3g, f = −log Z / V = %.8g ± %.3g from %d proposals; ",
                                                  f.logZ, f.logZError, f.density, f.densityError, f.proposals) + f.verdict) + ".</p>\n"
        }
        for warning in obs.warnings ?? [] { html += "<div class=\"warn\">\(SVGPlot.escape(warning))</div>\n" }
        html += "<table><tr><th>observable</th><th>value</th><th>error</th><th>τ_int</th><th>error from blocks of</th>"
            + "<th>core-s per independent sample</th></tr>\n"
        let symmetric: [(String, Estimate)] = [("⟨M⟩", obs.magnetization), ("χ₂ with ⟨M⟩ = 0 imposed", obs.symmetricSusceptibility),
                                               ("χ = V(⟨M²⟩ − ⟨|M|⟩²)", obs.absSusceptibility),
                                               ("E with ⟨M⟩ = 0 imposed", obs.symmetricIsingEnergy),
                                               ("pole mass with ⟨M⟩ = 0 imposed", obs.symmetricPoleMass)].compactMap { l, e in e.map { (l, $0) } }
        for (label, e) in [("χ₂", obs.susceptibility), ("E (Ising)", obs.isingEnergy), ("⟨|M|⟩", obs.absMagnetization),
                           ("pole mass", obs.poleMass)] + symmetric {
            let cost = obs.cost.map { String(format: "%.3g", $0.perIndependentSample(tauInt: e.tauInt)) } ?? "–"
            html += String(format: "<tr><td>%@</td><td>%.6g</td><td>%.3g</td><td>%.2f ± %.2f</td><td>%d</td><td>%@</td></tr>\n",
                           label as NSString, e.value, e.error, e.tauInt, e.tauIntError, e.errorBlockSize ?? obs.blockSize,
                           cost as NSString)
        }
        html += "</table>\n"
        if let v = obs.vacua {
            html += String(format: "<p>Vacua: M &gt; 0 in %.1f%% of the configurations, %d sign changes, ⟨M⟩ %.1f errors from 0%@.</p>\n",
                           100 * v.positiveFraction, v.signChanges, v.magnetizationSigmas, v.oneSided ? " (one-sided: see the warning)" : "")
        }
        if obs.analysedChain == nil {
            html += "<p>This analysis records no chain (written by an earlier version): it cannot be checked against the chain now on disk.</p>\n"
        }
        if let c = obs.comparison { html += comparison(c, withTraining: obs.training != nil) }
        html += "<div class=\"figs\">\n"
        var plots = [Figures.correlator(obs), Figures.effectiveMass(obs), Figures.autocorrelation(obs)]
        plots += [Figures.binning(obs), obs.chain.flatMap(Figures.rejectionRuns)].compactMap { $0 }
        if let p = obs.proposals { plots += [Figures.logWeights(p), Figures.actionScatter(p)].compactMap { $0 } }
        for p in plots { html += p.render() }
        return html + "</div>\n"
    }
}

import Foundation
import GomalizingFlow

/// The standard figures of an analysis and of a training history.
public enum Figures {
    /// C(t) with error bars, on a log y axis.
    public static func correlator(_ obs: Observables) -> SVGPlot {
        let t = obs.C.indices.map(Double.init)
        return SVGPlot(title: "Zero-momentum correlator C(t)", xLabel: "t", yLabel: "C(t)",
                       series: [.init(name: "C(t)", x: t, y: obs.C.map(\.value), yError: obs.C.map(\.error))], logY: true)
    }

    /// m_eff(t) with error bars, and the pole mass as a horizontal line where it is finite.
    public static func effectiveMass(_ obs: Observables) -> SVGPlot {
        let t = obs.effectiveMass.indices.map { Double($0 + 1) }
        var series: [SVGPlot.Series] = [.init(name: "m_eff(t)", x: t, y: obs.effectiveMass.map(\.value),
                                              yError: obs.effectiveMass.map(\.error))]
        if obs.poleMass.value.isFinite, let first = t.first, let last = t.last {
            series.append(.init(name: String(format: "pole mass %.4f", obs.poleMass.value), x: [first, last],
                                y: [obs.poleMass.value, obs.poleMass.value]))
        }
        return SVGPlot(title: "Effective mass", xLabel: "t", yLabel: "m_eff", series: series)
    }

    /// Normalised autocorrelation ρ(t) of χ₂, E and |M|.
    public static func autocorrelation(_ obs: Observables) -> SVGPlot {
        let names = [("chi2", "χ₂"), ("E", "E"), ("absM", "|M|")]
        let series = names.compactMap { key, label -> SVGPlot.Series? in
            guard let rho = obs.autocorrelation[key] else { return nil }
            return .init(name: label, x: rho.indices.map(Double.init), y: rho)
        }
        return SVGPlot(title: "Normalised autocorrelation ρ(t)", xLabel: "Monte Carlo time t", yLabel: "ρ(t)", series: series)
    }

    /// Binned jackknife error against block size: a plateau means the blocks
    /// are longer than the chain's memory; a curve still rising means the
    /// error bars are too small.
    public static func binning(_ obs: Observables) -> SVGPlot? {
        guard let sizes = obs.blockSizes, let curves = obs.binning, sizes.count >= 2 else { return nil }
        let names = [("chi2", "χ₂", obs.susceptibility), ("E", "E", obs.isingEnergy), ("absM", "|M|", obs.absMagnetization)]
        let series = names.compactMap { key, label, e -> SVGPlot.Series? in
            guard let c = curves[key], c.count == sizes.count, e.error > 0 else { return nil }
            // Relative to the first block size's error, so the three share an axis.
            return .init(name: label, x: sizes.map(Double.init), y: c.map { $0 / c[0] })
        }
        var plot = SVGPlot(title: "Binned error against block size", xLabel: "block size",
                           yLabel: "error / error at the first block", series: series)
        plot.logX = true
        plot.legendAtBottom = true
        return plot
    }

    /// Runs of consecutive rejections by length (bins 1, 2-3, 4-7, ...), counts on a log axis.
    public static func rejectionRuns(_ chain: ChainDiagnostics) -> SVGPlot? {
        guard !chain.rejectionRunHistogram.isEmpty else { return nil }
        let x = chain.rejectionRunHistogram.indices.map { Foundation.pow(2, Double($0) + 0.5) }
        let y = chain.rejectionRunHistogram.map { $0 > 0 ? Double($0) : .nan }
        var plot = SVGPlot(title: "Runs of consecutive rejections", xLabel: "run length (bins 1, 2-3, 4-7, ...)",
                           yLabel: "number of runs", series: [.init(name: "runs", x: x, y: y, style: .bars)], logY: true)
        plot.logX = true
        plot.note = String(format: "longest run %d of %d steps; accept-series τ_int %.2f", chain.longestRejectionRun,
                           chain.transitions, chain.acceptTauInt)
        return plot
    }

    /// Histogram of the proposals' log weights: one spike for a perfect flow.
    public static func logWeights(_ p: ProposalDiagnostics) -> SVGPlot? {
        guard p.logWeightEdges.count == p.logWeightCounts.count + 1, !p.logWeightCounts.isEmpty else { return nil }
        let x = p.logWeightCounts.indices.map { (p.logWeightEdges[$0] + p.logWeightEdges[$0 + 1]) / 2 }
        let y = p.logWeightCounts.map { $0 > 0 ? Double($0) : .nan }
        var plot = SVGPlot(title: "Log importance weights of the proposals", xLabel: "log w = log p - log q",
                           yLabel: "proposals", series: [.init(name: "log w", x: x, y: y, style: .bars)], logY: true)
        plot.note = String(format: "Pareto k %.2f, ESS %.3g, largest normalised weight %.3g", p.weights.paretoK, p.weights.ess,
                           p.weights.maxWeight)
        return plot
    }

    /// S_eff = -log q against S for a subsample of proposals, with the line
    /// S_eff = S + mean(log w) that a perfect flow lies on.
    public static func actionScatter(_ p: ProposalDiagnostics) -> SVGPlot? {
        let s = p.action.filter(\.isFinite)
        guard let lo = s.min(), let hi = s.max(), p.offset.isFinite else { return nil }
        var plot = SVGPlot(title: "Flow action S_eff = -log q against S", xLabel: "S (action)", yLabel: "S_eff",
                           series: [.init(name: "proposals", x: p.action, y: p.effectiveAction, style: .points),
                                    .init(name: "slope 1", x: [lo, hi], y: [lo + p.offset, hi + p.offset])])
        plot.note = String(format: "%d proposals; line S_eff = S %@ %.4g (mean log w)", p.action.count,
                           p.offset < 0 ? "-" : "+", abs(p.offset))
        return plot
    }

    /// Training curves from a history.csv table.
    public static func training(_ table: [String: [Double]]) -> [SVGPlot] {
        let epoch = table["epoch"] ?? []
        var plots: [SVGPlot] = []
        if let loss = table["loss"], !loss.isEmpty {
            var plot = SVGPlot(title: "Reverse-KL loss", xLabel: "epoch", yLabel: "loss",
                               series: [.init(name: "loss", x: epoch, y: loss)])
            // The first epochs' loss can be orders of magnitude above the rest:
            // frame the plot on the range of the later 90% (the rest are drawn
            // as triangles on the edge, with a note).
            let sorted = loss.filter(\.isFinite).sorted()
            if let lo = sorted.first, sorted.count >= 10 {
                let hi = sorted[Int(0.9 * Double(sorted.count - 1))]
                if hi > lo { plot.yRange = lo...(hi + 0.1 * (hi - lo)) }
            }
            plots.append(plot)
        }
        if let acc = table["acceptance_rate"] {
            plots.append(SVGPlot(title: "Metropolis-Hastings acceptance", xLabel: "epoch", yLabel: "acceptance %",
                                 series: [.init(name: "acceptance", x: epoch, y: acc)]))
        }
        if let ess = table["ess"] {
            var series: [SVGPlot.Series] = [.init(name: "ESS", x: epoch, y: ess)]
            if let best = table["best_ess"] { series.append(.init(name: "best so far", x: epoch, y: best)) }
            var plot = SVGPlot(title: "Effective sample size per sample", xLabel: "epoch", yLabel: "ESS", series: series)
            // The best-so-far line runs along the top: the legend goes to the empty corner below it.
            plot.legendAtBottom = true
            plots.append(plot)
        }
        if let k = table["pareto_k"], k.contains(where: \.isFinite), let first = epoch.first, let last = epoch.last {
            var plot = SVGPlot(title: "Pareto k of the evaluation weights", xLabel: "epoch", yLabel: "k",
                               series: [.init(name: "k", x: epoch, y: k),
                                        .init(name: "0.7", x: [first, last], y: [0.7, 0.7]),
                                        .init(name: "0.5", x: [first, last], y: [0.5, 0.5])])
            plot.note = "below 0.5: finite variance; above 0.7: error bars unreliable"
            plots.append(plot)
        }
        return plots
    }
}

extension Observables {
    static let jsonDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// The encoder of `*.analysis.json`: pretty-printed, sorted keys, non-finite numbers as "inf", "-inf", "nan".
    public static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    /// Reads an analysis written by `gomalizing analyze`.
    /// - Throws: `InputError` if the file cannot be read or is not such an analysis.
    public static func load(path: String) throws -> Observables {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot be read") }
        do {
            return try jsonDecoder.decode(Observables.self, from: data)
        } catch {
            throw InputError(file: path, "is not an analysis written by `gomalizing analyze`")
        }
    }
}

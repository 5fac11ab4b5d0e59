import Foundation

/// The standard figures of an analysis and of a training history.
public enum Figures {
    public static func correlator(_ obs: Observables) -> SVGPlot {
        let t = obs.C.indices.map(Double.init)
        return SVGPlot(title: "Zero-momentum correlator C(t)", xLabel: "t", yLabel: "C(t)",
                       series: [.init(name: "C(t)", x: t, y: obs.C.map(\.value), yError: obs.C.map(\.error))], logY: true)
    }

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

    public static func autocorrelation(_ obs: Observables) -> SVGPlot {
        let names = [("chi2", "χ₂"), ("E", "E"), ("absM", "|M|")]
        let series = names.compactMap { key, label -> SVGPlot.Series? in
            guard let rho = obs.autocorrelation[key] else { return nil }
            return .init(name: label, x: rho.indices.map(Double.init), y: rho)
        }
        return SVGPlot(title: "Normalised autocorrelation ρ(t)", xLabel: "Monte Carlo time t", yLabel: "ρ(t)", series: series)
    }

    /// Training curves from a history.csv table.
    public static func training(_ table: [String: [Double]]) -> [SVGPlot] {
        let epoch = table["epoch"] ?? []
        var plots: [SVGPlot] = []
        if let loss = table["loss"], !loss.isEmpty {
            var plot = SVGPlot(title: "Reverse-KL loss", xLabel: "epoch", yLabel: "loss",
                               series: [.init(name: "loss", x: epoch, y: loss)])
            // The first epochs' loss can be orders of magnitude above the rest:
            // frame the plot on the range of the later 90%.
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
            plots.append(SVGPlot(title: "Effective sample size per sample", xLabel: "epoch", yLabel: "ESS",
                                 series: [.init(name: "ESS", x: epoch, y: ess)]))
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

    public static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    public static func load(path: String) throws -> Observables {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot be read") }
        do {
            return try jsonDecoder.decode(Observables.self, from: data)
        } catch {
            throw InputError(file: path, "is not an analysis written by `gomalizing analyze`")
        }
    }
}

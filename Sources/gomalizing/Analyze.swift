import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Observables with errors and autocorrelation times from a .npy chain of configurations.")

    @Argument(help: "Configurations, shape (N, L, ..., L), as written by `sample` or `hmc`.")
    var file: String

    @Option(help: "The TOML config the configurations belong to.")
    var config: String

    @Option(parsing: .unconditional, help: "Configurations to skip at the start (thermalisation).", transform: Counts.parse)
    var skip: Int = 0

    @Option(help: "Output JSON (default: FILE with .analysis.json); the .csv and .svg files go beside it.")
    var json: String?

    @Option(help: "An analysis JSON of another chain of the same theory (e.g. HMC's) to compare with, observable by observable.")
    var compare: String?

    @Option(help: ArgumentHelp("A result folder whose training made the flow of this chain (its provenance.json); repeat it "
        + "for the stages a warm start came from. Its core-seconds are amortised over --amortise independent samples.",
        valueName: "result-folder"))
    var training: [String] = []

    @Option(parsing: .unconditional, help: "Independent samples to amortise the training over (with --training; default 1e5).",
            transform: Counts.parse)
    var amortise: Int?
    /// What --amortise says, or its default.
    var amortisedOver: Int { amortise ?? 100_000 }

    @OptionGroup var replace: OverwriteOption
    var overwrite: Bool { replace.overwrite }

    func validate() throws {
        try OptionChecks.count(skip, "--skip", min: 0)
        if let amortise {
            try OptionChecks.count(amortise, "--amortise")
            if training.isEmpty { throw ValidationError("--amortise needs --training (the result folder whose training it amortises)") }
        }
        if let json { try OptionChecks.outputFile(json, option: "--json", extension: "json") }
    }

    func run() throws {
        try reportingErrors {
            let provenance = Provenance.current(command: "analyze", threads: 1)
            let cfg = try Config.load(path: config)
            let theory = Theory(cfg.action)
            let other = try compare.map { try Observables.load(path: $0) }  // read first: a bad file fails fast
            let trainingCost = training.isEmpty ? nil : try TrainingCost(resultFolders: training)
            if let other, let compare {
                guard let otherTheory = other.theory else {
                    throw InputError(file: compare, "records no theory (an analysis written before they did), so it cannot be "
                        + "checked against \(config); analyse its chain again with this version")
                }
                try otherTheory.requireSame(as: theory, file: compare, otherName: "in \(config)")
            }
            let chainURL = URL(fileURLWithPath: file)
            let npy = try NpyFile(path: file)
            let sidecar = Provenance.sidecar(of: chainURL)
            let samplesProvenance = try Provenance.loadIfPresent(sidecar)
            if let rows = samplesProvenance?.details?["rows"], rows != "\(npy.rowCount)" {
                throw InputError(file: sidecar.path, "records a chain of \(rows) rows, \(file) holds \(npy.rowCount): "
                    + "not that chain's record (move it away)")
            }
            try Analyze.checkConfig(theory, config: config, against: samplesProvenance, chain: file)
            if !training.isEmpty, samplesProvenance?.command != "sample" {
                throw InputError(file: "command line", field: "--training",
                                 "\(file) is not a flow chain (its record \(samplesProvenance == nil ? "is missing" : "says `\(samplesProvenance!.command)`")): "
                                     + "a training is charged only to the chain `sample` drew from its model")
            }
            let url = json.map { URL(fileURLWithPath: $0) }
                ?? chainURL.deletingPathExtension().appendingPathExtension("analysis.json")
            let csvURL = url.deletingPathExtension().appendingPathExtension("csv")
            let base = url.deletingPathExtension()  // FILE.analysis
            let figures = ["C", "meff", "autocorr"].map { base.appendingPathExtension($0).appendingPathExtension("svg") }
            // A flow chain's proposals, from the table `sample` writes beside the .npy.
            let tableURL = chainURL.deletingPathExtension().appendingPathExtension("csv")
            var inputs: [(URL, String)] = [(chainURL, "the input file"), (sidecar, "the chain's provenance record"),
                                           (URL(fileURLWithPath: config), "the config")]
            if FileManager.default.fileExists(atPath: tableURL.path) { inputs.append((tableURL, "the chain's proposal table")) }
            if let compare { inputs.append((URL(fileURLWithPath: compare), "the analysis compared with")) }
            let kinds: [OutputFiles.Kind] = [.analysisJSON, .analysisTable] + figures.map { _ in .figure }
            for (output, kind) in zip([url, csvURL] + figures, kinds) {
                try OutputFiles.check(output, kind: kind, option: "--json", inputs: inputs, overwrite: overwrite)
            }
            // An analysis of another chain under this name is replaced only on request.
            if !overwrite, let earlier = try? Observables.load(path: url.path), let was = earlier.analysedChain,
               was.url(analysis: url).standardizedFileURL.path != chainURL.standardizedFileURL.path {
                throw InputError(file: "command line", field: "--json",
                                 "\(url.path) is the analysis of another chain (\(was.path)); replace it with --overwrite, or choose another name")
            }
            let lock = try OutputFiles.claim(url, option: "--json", for: "analysing \(file)")
            defer { lock.release() }
            // Each configuration's correlation function in Float64, twice over for the
            // jackknife, and the site coordinates.
            let V = Double(cfg.lattice.volume), rows = Double(max(0, npy.rowCount - skip))
            // and the V^2 table of site shifts Measurements keeps up to V = 4096.
            let shiftTable = cfg.lattice.volume <= 4096 ? 4 * V * V : 0
            try ResourceBudget.requireMemory(2 * rows * V * 8 + V * Double(8 * cfg.lattice.d + 48) + shiftTable, file: file, field: "shape",
                                             for: "analysing \(Int(rows)) configurations of \(cfg.lattice.volume) sites")
            let m = try Measurements.read(npy: npy, lattice: cfg.lattice, skip: skip)
            var obs = Observables(m)
            if FileManager.default.fileExists(atPath: tableURL.path),
               let (logP, logQ) = try SampleTable.readProposals(path: tableURL.path, skip: skip) {
                guard logP.count == m.count else {
                    throw InputError(file: tableURL.path, "holds \(logP.count + skip) steps, \(file) holds \(npy.rowCount): not the same chain")
                }
                obs.attach(proposals: ProposalDiagnostics(logP: logP, logQ: logQ))
                obs.freeEnergy = FreeEnergy(logP: logP, logQ: logQ, volume: cfg.lattice.volume,
                                            paretoK: obs.proposals?.weights.paretoK ?? .nan)
                obs.freeEnergy?.oneVacuum = obs.vacua?.oneSided
            }
            obs.theory = theory
            if let record = samplesProvenance, let cost = ChainCost(record: record) { obs.attach(cost: cost) }
            if let t = trainingCost { obs.attach(training: t, amortisedOver: amortisedOver) }
            obs.analysedChain = AnalysedChain(npy: chainURL, rows: npy.rowCount, record: samplesProvenance, analysis: url)
            // Padded in Swift: "%-22@" is ignored by Foundation on Linux.
            func row(_ name: String, _ e: Estimate) -> String {
                name.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(format: " %14.6g ± %-12.4g tau_int %7.2f ± %-6.2f blocks %-6d", e.value, e.error, e.tauInt,
                             e.tauIntError, e.errorBlockSize ?? obs.blockSize)
                    + (obs.cost.map { String(format: " cost %.3g core-s", $0.perIndependentSample(tauInt: e.tauInt)) } ?? "")
            }
            let sizes = obs.blockSizes ?? [obs.blockSize]
            print("\(obs.configurations) configurations; jackknife errors: the largest over blocks of "
                + sizes.map(String.init).joined(separator: ", ") + " (the first from 4 tau_int)")
            if let c = obs.chain {
                print(String(format: "chain: acceptance %.2f%%, longest rejection run %d, accept-series tau_int %.2f",
                             c.acceptanceRate, c.longestRejectionRun, c.acceptTauInt))
            }
            if let c = obs.cost {
                print(String(format: "cost: %.4g core-seconds (%.4g s wall%@ x %d threads x %d ranks) for %d configurations, "
                             + "%.3g each; an independent sample of an observable costs that x 2 tau_int (\"cost\" below)",
                             c.coreSeconds, c.wallSeconds, c.clock == "measured" ? "" : ", from whole-second timestamps",
                             c.threads, c.ranks, c.configurations, c.perConfiguration))
            } else {
                print("cost: unknown (\(sidecar.lastPathComponent) is missing or records no time)")
            }
            if let t = trainingCost {
                print(String(format: "training: %.4g core-seconds in %d sessions of %@; amortised over %d independent samples, "
                             + "%.3g core-s more per sample", t.coreSeconds, t.sessions, t.sources.joined(separator: ", "),
                             amortisedOver, t.coreSeconds / Double(amortisedOver)))
            }
            if let w = obs.proposals?.weights {
                print(String(format: "proposals: ESS %.4f, largest normalised weight %.3g, Pareto k %.2f (%@)", w.ess,
                             w.maxWeight, w.paretoK, w.verdict))
            }
            if obs.proposals != nil, obs.freeEnergy == nil {
                print("free energy: not computed (a log weight in \(tableURL.lastPathComponent) is NaN or +inf: a proposal the flow cannot have drawn)")
            }
            if let f = obs.freeEnergy {
                print(String(format: "free energy: log Z = %.8g ± %.3g, f = -log Z / V = %.8g ± %.3g from %d proposals; %@", f.logZ,
                             f.logZError, f.density, f.densityError, f.proposals, f.verdict))
                if cfg.physical.lam == 0, cfg.physical.M2 > 0 {
                    let exact = FreeField.logZ(lattice: cfg.lattice, m2: cfg.physical.M2)
                    print(String(format: "free field: exact log Z = %.8g; the estimate is %@", exact,
                                 f.logZError > 0 ? String(format: "%.2f errors from it", (f.logZ - exact) / f.logZError)
                                     : String(format: "%.3g from it (its error is 0)", f.logZ - exact)))
                }
            }
            if let c = obs.chain, !c.rejectionRunHistogram.isEmpty {
                let bins = c.rejectionRunHistogram.enumerated().map { k, n in
                    k == 0 ? "1: \(n)" : "\(1 << k)-\((1 << (k + 1)) - 1): \(n)"
                }
                print("rejection runs by length: " + bins.joined(separator: ", "))
            }
            print(row("chi_2", obs.susceptibility))
            print(row("E (Ising energy)", obs.isingEnergy))
            print(row("<|M|>", obs.absMagnetization))
            if let m = obs.magnetization { print(row("<M>", m)) }
            if let e = obs.symmetricSusceptibility { print(row("chi2_symmetric", e)) }
            if let e = obs.absSusceptibility { print(row("chi2_abs", e)) }
            if let e = obs.symmetricIsingEnergy { print(row("E_symmetric", e)) }
            if let e = obs.symmetricPoleMass { print(row("pole_mass_symmetric", e)) }
            print(row("pole mass", obs.poleMass))
            if let v = obs.vacua {
                print(String(format: "vacua: M > 0 in %.1f%% of the configurations, %d sign changes, <M> %.1f errors from 0%@",
                             100 * v.positiveFraction, v.signChanges, v.magnetizationSigmas, v.oneSided ? " (one-sided)" : ""))
            }
            for (t, e) in obs.C.enumerated() { print(row("C(\(t))", e)) }
            for (k, e) in obs.effectiveMass.enumerated() { print(row("m_eff(\(k + 1))", e)) }
            for w in obs.warnings ?? [] { print("warning: \(w)") }
            if let other, let compare {
                let cmp = try ObservableComparison(obs, other, file: compare)
                print("compared with \(compare) (\(theory.description)): difference in units of sqrt(error^2 + error_other^2)")
                // Wide enough for the longest name, pole_mass_symmetric.
                let width = max(18, cmp.rows.map(\.name.count).max() ?? 0)
                // An analysis written before costs were kept still has its chain's record.
                let otherCost = other.cost ?? other.samplesProvenance.flatMap { ChainCost(record: $0) }
                let costs = obs.cost.flatMap { a in otherCost.map { (a, $0) } }
                let record = cmp.record(file: compare, theory: other.theory, costs: costs, training: trainingCost)
                print("observable".padding(toLength: width, withPad: " ", startingAt: 0)
                    + " " + "this chain".padding(toLength: 25, withPad: " ", startingAt: 0)
                    + " " + "the other".padding(toLength: 25, withPad: " ", startingAt: 0) + " difference/sigma"
                    + (costs == nil ? "" : "  cost ratio") + (costs == nil || trainingCost == nil ? "" : "  break-even samples"))
                for (r, stored) in zip(cmp.rows, record.rows) {
                    var line = r.name.padding(toLength: width, withPad: " ", startingAt: 0)
                        + String(format: " %12.6g ± %-10.3g %12.6g ± %-10.3g %6.2f", r.a.value, r.a.error, r.b.value, r.b.error, r.sigmas)
                    if costs != nil {
                        line += stored.costRatio.map { String(format: "  %10.3g", $0) } ?? "           –"
                        if trainingCost != nil {
                            line += stored.breakEvenSamples.map { String(format: "  %10.3g", $0) } ?? (stored.costRatio == nil ? "           –" : "  never")
                        }
                    }
                    print(line)
                }
                if costs == nil {
                    print("cost ratio: unknown (\(obs.cost == nil ? "this chain" : compare) records no cost)")
                } else {
                    print("cost ratio: this chain's core-seconds per independent sample over the other's (below 1: this chain is cheaper)"
                        + (trainingCost == nil ? "" : "; break-even: the independent samples at which this chain plus its "
                           + "training costs the other's (never: this chain is not cheaper per sample)"))
                }
                print(String(format: "largest |difference| %.2f sigma over %d observables; mean of (difference/sigma)^2 %.2f",
                             cmp.largestSigmas, cmp.finite.count, cmp.meanSquaredSigmas))
                obs.comparison = record
            }
            StaleTemporaries.clean(in: url.deletingLastPathComponent())
            obs.provenance = provenance.ended()
            obs.samplesProvenance = samplesProvenance
            try AtomicFile.write(try Observables.jsonEncoder.encode(obs), to: url)
            var lines = ["observable,index,value,error,tau_int,tau_int_error,error_block_size,core_seconds_per_independent_sample"]
            func add(_ name: String, _ i: Int, _ e: Estimate) {
                let cost = obs.cost.map { "\($0.perIndependentSample(tauInt: e.tauInt))" } ?? ""
                lines.append("\(name),\(i),\(e.value),\(e.error),\(e.tauInt),\(e.tauIntError),\(e.errorBlockSize ?? obs.blockSize),\(cost)")
            }
            for (name, e) in obs.scalars { add(name, 0, e) }
            for (t, e) in obs.C.enumerated() { add("C", t, e) }
            for (k, e) in obs.effectiveMass.enumerated() { add("m_eff", k + 1, e) }
            for (x, e) in obs.G.enumerated() { add("G", x, e) }
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: csvURL)
            for (figure, plot) in zip(figures, [Figures.correlator(obs), Figures.effectiveMass(obs), Figures.autocorrelation(obs)]) {
                try AtomicFile.write(plot.render(), to: figure)
            }
            print("wrote \(url.path), \(csvURL.path) (G indexed by site, row-major) and \(base.lastPathComponent).{C,meff,autocorr}.svg")
        }
    }

    /// Refuses a --config whose theory is not the one the chain's record says
    /// it was sampled from (a flow's result folder config, or HMC's couplings).
    static func checkConfig(_ theory: Theory, config: String, against record: Provenance?, chain: String) throws {
        guard let details = record?.details else { return }
        var sampled: Theory? = nil, source = ""
        if let model = details["model"] {
            let folderConfig = URL(fileURLWithPath: model).deletingLastPathComponent().appendingPathComponent("config.toml")
            if let c = try? Config.load(path: folderConfig.path) {
                sampled = Theory(c.action)
                source = folderConfig.path
            }
        } else if let L = details["L"].flatMap(Int.init), let d = details["d"].flatMap(Int.init),
                  let m2 = details["M2"].flatMap(Double.init), let lam = details["lam"].flatMap(Double.init) {
            sampled = Theory(L: L, d: d, M2: m2, lam: lam)
            source = "its provenance record"
        }
        guard let sampled else { return }
        let d = sampled.differences(from: theory, here: "in the chain", there: "in \(config)")
        guard d.isEmpty else {
            throw InputError(file: config, "is not the theory \(chain) was sampled from (\(source)): \(d.joined(separator: "; "))")
        }
    }
}

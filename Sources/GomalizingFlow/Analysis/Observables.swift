import Foundation

/// An observable with its error and integrated autocorrelation time.
public struct Estimate: Codable, Equatable {
    /// f of the chain's means: the observable's estimate.
    public var value: Double
    /// The largest blocked-jackknife error over the block sizes of `Binning.ladder`.
    public var error: Double
    /// Integrated autocorrelation time of the observable's series (Gamma method).
    public var tauInt: Double
    /// Error of `tauInt` (Wolff's estimate).
    public var tauIntError: Double
    /// The block size that error comes from (nil in analyses written before binning).
    public var errorBlockSize: Int?

    /// An estimate from its parts; `errorBlockSize` is nil where no binning was done.
    public init(value: Double, error: Double, tauInt: Double, tauIntError: Double, errorBlockSize: Int? = nil) {
        self.value = value
        self.error = error
        self.tauInt = tauInt
        self.tauIntError = tauIntError
        self.errorBlockSize = errorBlockSize
    }
}

/// The standard observables of Albergo, Kanwar, Shanahan (2019) with errors:
/// the connected two-point function G(x), the zero-momentum time-slice
/// correlator C(t) (time = axis 0), the effective mass, the two-point
/// susceptibility chi_2 = sum_x G(x), the Ising energy E = (1/d) sum_mu G(mu),
/// and <|M|>. tau_int comes from the Gamma method on each observable's
/// per-configuration series. Errors are from a blocked jackknife: blocks at
/// least 4 tau_int long (the largest tau_int of the analysis, at least 20
/// blocks), then doubled while 32 blocks remain, and the largest of those
/// errors is reported (see `Binning`: the window misses long, low tails).
public struct Observables: Codable {
    /// Number of configurations analysed.
    public var configurations: Int
    /// The first block size, from the Gamma method's tau_int.
    public var blockSize: Int
    /// All block sizes the errors were computed at, and the binned errors of
    /// chi2, E and absM at each (nil in analyses written before binning).
    public var blockSizes: [Int]?
    /// Binned errors of "chi2", "E" and "absM", one per entry of `blockSizes`.
    public var binning: [String: [Double]]?
    /// Acceptance and rejection runs of the chain.
    public var chain: ChainDiagnostics?
    /// Plain-words reasons to distrust the error bars; empty when there are none.
    public var warnings: [String]?
    /// The flow's proposals behind the chain (nil for HMC chains and for
    /// samples written without proposal columns).
    public var proposals: ProposalDiagnostics?
    /// Two-point susceptibility chi_2 = sum_x G(x) = V (<M^2> - <M>^2).
    public var susceptibility: Estimate
    /// Ising energy E = (1/d) sum_mu G(mu), G at the unit separations.
    public var isingEnergy: Estimate
    /// <|M|>, M the per-configuration mean of phi.
    public var absMagnetization: Estimate
    /// <M>, zero by the Z2 symmetry of the action (nil in analyses written before it was recorded).
    public var magnetization: Estimate?
    /// V <M^2>: the susceptibility with <M> = 0 imposed by the symmetry, right
    /// whether or not the chain samples both vacua (nil in older analyses).
    public var symmetricSusceptibility: Estimate?
    /// V (<M^2> - <|M|>^2): the finite-volume susceptibility of the broken phase (nil in older analyses).
    public var absSusceptibility: Estimate?
    /// The Ising energy with <M> = 0 imposed, (1/d) sum_mu <c(mu)> (nil in older analyses).
    public var symmetricIsingEnergy: Estimate?
    /// The pole mass of C(t) with <M> = 0 imposed (nil in older analyses).
    public var symmetricPoleMass: Estimate?
    /// Whether the chain samples both signs of M (nil in older analyses).
    public var vacua: VacuumDiagnostics?
    /// Weighted mean of m_eff(t) over t = 1 ... L/2 - 1 (1/sigma^2 weights).
    public var poleMass: Estimate
    /// Connected two-point function G(x) = <c(x)> - <M>^2 for every separation x,
    /// indexed as a lattice site.
    public var G: [Estimate]
    /// C(t): G(x) summed over the time slice x_0 = t, t = 0 ... L-1.
    public var C: [Estimate]
    /// m_eff(t) = arccosh[(C(t-1) + C(t+1)) / (2 C(t))], t = 1 ... L-1 (NaN where undefined).
    public var effectiveMass: [Estimate]
    /// Normalised autocorrelation functions of the scalar observables.
    public var autocorrelation: [String: [Double]]
    /// What made this analysis; nil in analyses written before provenance was kept.
    public var provenance: Provenance?
    /// What made the configurations: the .npy's `<name>.provenance.json`, if it has one.
    public var samplesProvenance: Provenance?
    /// The theory of the config the chain was analysed with; nil in analyses written before it was recorded.
    public var theory: Theory?
    /// The chain analysed, to tell whether it is still on disk (`AnalysedChain.staleness`);
    /// nil in analyses written before it was recorded.
    public var analysedChain: AnalysedChain?
    /// The comparison with another chain's analysis (`analyze --compare`), if one was asked for.
    public var comparison: ObservableComparison.Record?
    /// What the chain cost, from its provenance record (nil where there is none, or it records no time).
    public var cost: ChainCost?
    /// Core-seconds per independent sample of each scalar observable (named as in `scalars`); nil without `cost`.
    public var costPerIndependentSample: [String: Double]?
    /// The flow's training behind the chain, where `analyze --training` named it.
    public var training: TrainingCost?
    /// `costPerIndependentSample` with the training amortised over `training.amortisedOver` samples.
    public var costPerIndependentSampleWithTraining: [String: Double]?
    /// log Z and the free energy density from the proposals (nil for chains without a proposal table).
    public var freeEnergy: FreeEnergy?

    /// Every observable, its tau_int, binned errors, chain diagnostics and warnings
    /// from one chain's measurements (at least 2); `proposals` stays nil (see `attach`).
    public init(_ m: Measurements) {
        let lat = m.lattice
        let V = lat.volume, L = lat.L, d = lat.d
        let N = m.count
        let M = m.magnetization
        let chiSeries = M.map { Double(V) * $0 * $0 }
        let unit = (0..<d).map { mu -> Int in var o = [Int](repeating: 0, count: d); o[mu] = 1; return lat.index(o) }
        let eSeries = (0..<N).map { i in unit.reduce(0.0) { $0 + m.correlation[$1][i] } / Double(d) }
        let absM = M.map(abs)
        // Zero-momentum correlator series: sum of c(x) over the slice x_0 = t.
        var slice = [[Double]](repeating: [Double](repeating: 0, count: N), count: L)
        for x in 0..<V {
            let t = x / lat.strides[0]
            for i in 0..<N { slice[t][i] += m.correlation[x][i] }
        }
        let gammaChi = GammaMethod(chiSeries), gammaE = GammaMethod(eSeries), gammaAbs = GammaMethod(absM)
        let gammaC = slice.map { GammaMethod($0) }
        let gammaG = m.correlation.map { GammaMethod($0) }
        let tauMax = ([gammaChi, gammaE, gammaAbs] + gammaC).map(\.tauInt).max() ?? 0.5
        // Overflowing data (|phi| ~ 1e20 squares to inf) gives a NaN tau: unit blocks.
        let b = Binning.firstBlock(tauInt: tauMax, count: N)
        blockSize = b
        configurations = N
        let sizes = Binning.ladder(start: b, count: N)
        blockSizes = sizes
        var curves: [String: [Double]] = [:]
        func est(_ g: GammaMethod, _ series: [[Double]], curve: String? = nil, _ f: ([Double]) -> Double) -> Estimate {
            let r = Binning.estimate(series, firstBlock: b, f)
            if let curve { curves[curve] = r.errors }
            return Estimate(value: r.value, error: r.error, tauInt: g.tauInt, tauIntError: g.tauIntError,
                            errorBlockSize: r.errorBlockSize)
        }
        let Vd = Double(V)
        susceptibility = est(gammaChi, [chiSeries, M], curve: "chi2") { $0[0] - Vd * $0[1] * $0[1] }
        isingEnergy = est(gammaE, [eSeries, M], curve: "E") { $0[0] - $0[1] * $0[1] }
        absMagnetization = est(gammaAbs, [absM], curve: "absM") { $0[0] }
        let mean = est(GammaMethod(M), [M]) { $0[0] }
        magnetization = mean
        symmetricSusceptibility = est(gammaChi, [chiSeries]) { $0[0] }
        absSusceptibility = est(gammaChi, [chiSeries, absM]) { $0[0] - Vd * $0[1] * $0[1] }
        symmetricIsingEnergy = est(gammaE, [eSeries]) { $0[0] }
        let vacua = VacuumDiagnostics(magnetization: M, mean: mean)
        self.vacua = vacua
        G = (0..<V).map { x in est(gammaG[x], [m.correlation[x], M]) { $0[0] - $0[1] * $0[1] } }
        let perSlice = Double(V / L)
        C = (0..<L).map { t in est(gammaC[t], [slice[t], M]) { $0[0] - perSlice * $0[1] * $0[1] } }
        func meff(_ a: Double, _ c: Double, _ b: Double) -> Double {
            let r = (a + b) / (2 * c)
            return r >= 1 ? Foundation.acosh(r) : .nan
        }
        let meffs: [Estimate] = (1..<L).map { t in
            let tm = t - 1, tp = (t + 1) % L
            return est(gammaC[t], [slice[tm], slice[t], slice[tp], M]) {
                let s = perSlice * $0[3] * $0[3]
                return meff($0[0] - s, $0[1] - s, $0[2] - s)
            }
        }
        effectiveMass = meffs
        // Pole mass: a weighted mean of m_eff(t) over the first half of the lattice. The chain's
        // connected one weights by its m_eff's inverse variances (as it always has); the one with
        // <M> = 0 imposed weights its t alike, so that it is one function of the <C(t)> in every
        // chain and two chains can be compared on it even where m_eff(t) has no plateau (the
        // unsubtracted C(t) of the broken phase: own weights differed by chain and so did the means).
        let ts = Array(1..<max(2, L / 2))
        // With <M> = 0 imposed: every t up to the first whose m_eff of the full chain's means is
        // undefined (a noisy tail), a range fixed once so that every jackknife block uses it.
        let sliceMeans = slice.map { $0.reduce(0, +) / Double(N) }
        let definedTs = ts.prefix { meff(sliceMeans[$0 - 1], sliceMeans[$0], sliceMeans[($0 + 1) % L]).isFinite }.count
        func pole(subtract: Bool) -> Estimate {
            let weights = ts.enumerated().map { k, t -> Double in
                guard subtract else { return k < definedTs ? 1 : 0 }
                let e = meffs[t - 1]
                return e.value.isFinite && e.error.isFinite && e.error > 0 ? 1 / (e.error * e.error) : 0
            }
            let wsum = weights.reduce(0, +)
            guard wsum > 0 else { return Estimate(value: .nan, error: .nan, tauInt: .nan, tauIntError: .nan) }
            return est(gammaC[min(1, L - 1)], slice + [M]) { means in
                let s = subtract ? perSlice * means[L] * means[L] : 0
                var acc = 0.0
                for (k, t) in ts.enumerated() where weights[k] > 0 {
                    acc += weights[k] * meff(means[t - 1] - s, means[t] - s, means[(t + 1) % L] - s)
                }
                return acc / wsum
            }
        }
        poleMass = pole(subtract: true)
        symmetricPoleMass = pole(subtract: false)
        autocorrelation = ["chi2": gammaChi.rho, "E": gammaE.rho, "absM": gammaAbs.rho]
        binning = curves
        let chain = ChainDiagnostics(repeated: m.repeated)
        self.chain = chain
        warnings = Observables.warnings(curves: curves, sizes: sizes, count: N, chain: chain) + (vacua.warning.map { [$0] } ?? [])
    }

    /// The scalar observables, named as in the analysis .csv: chi_2, E, abs_M,
    /// pole_mass, then the symmetric forms where the analysis has them.
    public var scalars: [(name: String, estimate: Estimate)] {
        let optional: [(String, Estimate?)] = [("M", magnetization), ("chi2_symmetric", symmetricSusceptibility),
                                               ("chi2_abs", absSusceptibility), ("E_symmetric", symmetricIsingEnergy),
                                               ("pole_mass_symmetric", symmetricPoleMass)]
        return [("chi_2", susceptibility), ("E", isingEnergy), ("abs_M", absMagnetization), ("pole_mass", poleMass)]
            + optional.compactMap { n, e in e.map { (n, $0) } }
    }

    /// Records the chain's cost and each scalar observable's cost per independent sample.
    public mutating func attach(cost c: ChainCost) {
        cost = c
        costPerIndependentSample = Dictionary(uniqueKeysWithValues: scalars.map { ($0.name, c.perIndependentSample(tauInt: $0.estimate.tauInt)) })
    }

    /// Records the flow's training, amortised over `samples` independent samples, and each
    /// scalar observable's cost per independent sample with it (after `attach(cost:)`).
    public mutating func attach(training t: TrainingCost, amortisedOver samples: Int) {
        training = t
        training?.amortisedOver = samples
        costPerIndependentSampleWithTraining = costPerIndependentSample?.mapValues { t.amortised($0, over: Double(samples)) }
    }

    /// Records the proposals behind a flow chain, with a warning when their
    /// weights' tail is too heavy for trusted error bars.
    public mutating func attach(proposals p: ProposalDiagnostics) {
        proposals = p
        let k = p.weights.paretoK
        if k > 0.7 {
            warnings = (warnings ?? []) + [String(format: "error bars may be underestimated: the proposals' importance weights "
                + "have Pareto k = %.2f > 0.7 (largest normalised weight %.3g, ESS %.3g): a finite chain can be biased "
                + "toward the flow and its errors cannot be trusted; train further", k, p.weights.maxWeight, p.weights.ess)]
        }
    }

    /// "error bars may be underestimated: ..." when the binned errors still grow
    /// at the largest blocks, or the chain held one configuration for a sizeable
    /// part of the chain or longer than the largest block.
    public static func warnings(curves: [String: [Double]], sizes: [Int], count N: Int, chain: ChainDiagnostics) -> [String] {
        var out: [String] = []
        let names = [("chi2", "chi_2"), ("E", "E"), ("absM", "<|M|>")]
        for (key, name) in names {
            guard let e = curves[key], Binning.stillGrowing(e, sizes: sizes, count: N) else { continue }
            out.append(String(format: "error bars may be underestimated: the binned error of %@ still grows at the largest blocks "
                + "(%.3g at blocks of %d, %.3g at %d); a longer chain is needed", name, e[e.count - 3], sizes[sizes.count - 3],
                e.last!, sizes.last!))
        }
        let run = chain.longestRejectionRun, largest = sizes.last ?? 1
        if run > largest || Double(run) >= 0.01 * Double(N) {
            out.append(String(format: "error bars may be underestimated: the chain stayed on one configuration for %d steps "
                + "(%.1f%% of the chain; the largest block is %d): heavy-tailed weights (docs/manual/analysis.md, Weights)", run,
                100 * Double(run) / Double(max(N, 1)), largest))
        }
        return out
    }
}

import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

/// The options every Markov-chain command (`hmc`, `cluster`) shares: how many
/// configurations, burn-in, thinning, seed and where they go.
struct ChainOptions: ParsableArguments {
    @Option(name: .customLong("n"), parsing: .unconditional, help: "Number of configurations written, e.g. 100000 or 1e5.",
            transform: Counts.parse)
    var n: Int

    @Option(parsing: .unconditional, help: "Updates discarded before the first configuration is written.", transform: Counts.parse)
    var burnIn: Int = 1000

    @Option(parsing: .unconditional, help: "Updates between written configurations.", transform: Counts.parse)
    var every: Int = 1

    @Option(parsing: .unconditional, help: "Random seed (a non-negative integer).")
    var seed: UInt64 = 1

    @Option(help: "Output .npy file (default: <result>/<config name>/hmc.npy, cluster.npy, hmc_fourier.npy or cluster_fourier.npy).")
    var out: String?

    @OptionGroup var replace: OverwriteOption

    func validate() throws {
        try OptionChecks.count(n, "--n")
        try OptionChecks.count(every, "--every")
        try OptionChecks.count(burnIn, "--burn-in", min: 0)
        if let out { try OptionChecks.outputFile(out, option: "--out", extension: "npy") }
    }
}

/// The trajectory of HMC: leapfrog steps, their size and jitter, and the
/// mass matrix (`--fourier-mass2` makes it Fourier-accelerated HMC).
struct TrajectoryOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Leapfrog step size.")
    var stepSize: Double = 0.1

    @Option(parsing: .unconditional, help: "Leapfrog steps per trajectory.", transform: Counts.parse)
    var steps: Int = 10

    @Option(name: .customLong("fourier-mass2"), parsing: .unconditional,
            help: ArgumentHelp("Fourier acceleration: momenta with mass matrix 2 (p_hat^2 + MU2) in momentum space (> 0).",
                               discussion: "MU2 = m2 of a free theory moves every mode at the same speed; for an interacting theory about 1/xi^2. Absent: plain HMC (M = 1).",
                               valueName: "MU2"))
    var fourierMass2: Double?

    @Option(parsing: .unconditional, help: "Draw each trajectory's step size uniformly from step-size (1 ± this), in [0, 1).")
    var stepJitter: Double = 0

    func validate() throws {
        if !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be a finite number > 0, got \(stepSize)") }
        try OptionChecks.count(steps, "--steps")
        if let mu2 = fourierMass2, !(mu2 > 0 && mu2.isFinite) {
            throw ValidationError("--fourier-mass2 must be a finite number > 0, got \(mu2)")
        }
        if !(stepJitter >= 0 && stepJitter < 1) { throw ValidationError("--step-jitter must be in [0, 1), got \(stepJitter)") }
    }

    /// Float64 values per site the trajectory holds: field, momentum, force,
    /// trial field; with a mass matrix also its two symbols, the velocity, the
    /// DFT's scratch and its four temporary rows.
    var valuesPerSite: Double { fourierMass2 == nil ? 4 : 12 }

    /// The HMC of these options for `action`, cold-started with `seed`.
    func hmc(_ action: Phi4Action, seed: UInt64) -> HMC {
        var hmc = HMC(action: action, stepSize: stepSize, steps: steps, seed: seed,
                      mass: fourierMass2.map { FourierMass(lattice: action.lattice, mu2: $0) })
        hmc.stepJitter = stepJitter
        return hmc
    }

    /// The default chain name of `command` with these options: plain and
    /// Fourier-accelerated chains of one config do not collide.
    func defaultName(_ command: String) -> String { command + (fourierMass2 == nil ? "" : "_fourier") + ".npy" }

    /// What the chain's record says about the trajectory.
    var details: [String: String] {
        var d = ["step_size": "\(stepSize)", "steps": "\(steps)"]
        if let mu2 = fourierMass2 { d["fourier_mass2"] = "\(mu2)" }
        if stepJitter > 0 { d["step_jitter"] = "\(stepJitter)" }
        return d
    }

    /// "10 steps of 0.1" and the acceleration, for the summary line.
    var summary: String {
        var s = String(format: "%d steps of %.4g", steps, stepSize)
        if stepJitter > 0 { s += String(format: " ± %.0f%%", 100 * stepJitter) }
        if let mu2 = fourierMass2 { s += String(format: ", Fourier-accelerated with mu2 = %.4g", mu2) }
        return s
    }
}

/// Runs a Markov chain for a config and writes its configurations as .npy
/// with the provenance record beside it: the body of `hmc` and `cluster`.
enum ChainWriter {
    /// `bytesPerSite`: the sampler's memory per lattice site, checked before anything is allocated.
    /// `details` are the sampler's own record entries; `summary` its words for the printed line.
    static func run<S: MarkovChainSampler>(command: String, config: String, chain: ChainOptions, defaultName: String,
                                           bytesPerSite: Double,
                                           make: (Config) -> S, details: (S) -> [String: String],
                                           summary: (S) -> String) throws {
        let started = Date()  // the chain's cost: all of the command, set-up and burn-in included
        let provenance = Provenance.current(command: command, threads: 1)
        let cfg = try Config.load(path: config)
        let url = chain.out.map { URL(fileURLWithPath: $0) } ?? cfg.resultDirectory.appendingPathComponent(defaultName)
        let V = Double(cfg.lattice.volume)
        try ResourceBudget.requireMemory(V * (bytesPerSite + 4), file: config, field: "[physical] L",
                                         for: "\(command) on \(cfg.lattice.volume) sites")
        try ResourceBudget.requireDisk(Double(chain.n) * 4 * V + 4096, at: url, file: "command line", field: "--n \(chain.n)",
                                       for: "\(chain.n) configurations")
        try OutputFiles.check(url, kind: .chain, option: "--out", inputs: [(URL(fileURLWithPath: config), "the config")],
                              overwrite: chain.replace.overwrite)
        let lock = try OutputFiles.claim(url, option: "--out", for: command)
        defer { lock.release() }
        StopSignal.install()
        let stopped = StopSignal.Stopped(what: "nothing written (the same --seed gives the same chain)")
        var sampler = make(cfg)
        for _ in 0..<chain.burnIn {
            if StopSignal.requested { throw stopped }
            _ = sampler.update()
        }
        StaleTemporaries.clean(in: url.deletingLastPathComponent())
        let npy = try NpyWriter(url: url, shape: [chain.n] + cfg.lattice.shape)
        let burnAcc = sampler.acceptanceRate
        sampler.endBurnIn()
        var kept = HMC.Counter()
        for _ in 0..<chain.n {
            for _ in 0..<chain.every where !StopSignal.requested { kept.record(sampler.update()) }
            if StopSignal.requested { throw stopped }
            try sampler.phi.withUnsafeBufferPointer { try npy.append($0.baseAddress!) }
        }
        // What described an earlier chain under this name (its record, a flow chain's table, its
        // analysis) must not pass for this one's, even if a kill comes between these writes.
        let sidecar = Provenance.sidecar(of: url)
        OutputFiles.removeChainCompanions(of: url)
        try npy.finish()
        var record = provenance.ended()
        record.details = details(sampler).merging([
            "seed": "\(chain.seed)", "burn_in": "\(chain.burnIn)", "every": "\(chain.every)", "rows": "\(chain.n)",
            "L": "\(cfg.physical.L)", "d": "\(cfg.physical.Nd)", "M2": "\(cfg.physical.M2)", "lam": "\(cfg.physical.lam)",
            "acceptance": String(format: "%.4f", kept.rate), "burn_in_acceptance": String(format: "%.4f", burnAcc),
            "seconds": String(format: "%.3f", Date().timeIntervalSince(started)),
        ]) { _, common in common }
        try record.write(to: sidecar)
        print(String(format: "%d configurations (%d updates: %@), acceptance %.2f%% (burn-in %.2f%%); wrote %@",
                     chain.n, chain.n * chain.every, summary(sampler), kept.rate, burnAcc, url.path))
    }
}

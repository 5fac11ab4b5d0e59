import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct HMCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmc",
        abstract: "Hybrid Monte Carlo for the config's action; writes the configurations as .npy.")

    @Argument(help: "A TOML config (only [physical] is used).")
    var config: String

    @Option(name: .customLong("n"), parsing: .unconditional, help: "Number of configurations written, e.g. 100000 or 1e5.",
            transform: Counts.parse)
    var n: Int

    @Option(parsing: .unconditional, help: "Leapfrog step size.")
    var stepSize: Double = 0.1

    @Option(parsing: .unconditional, help: "Leapfrog steps per trajectory.", transform: Counts.parse)
    var steps: Int = 10

    @Option(parsing: .unconditional, help: "Trajectories discarded before the first configuration is written.", transform: Counts.parse)
    var burnIn: Int = 1000

    @Option(parsing: .unconditional, help: "Trajectories between written configurations.", transform: Counts.parse)
    var every: Int = 1

    @Option(parsing: .unconditional, help: "Random seed (a non-negative integer).")
    var seed: UInt64 = 1

    @Option(help: "Output .npy file (default: <result>/<config name>/hmc.npy).")
    var out: String?

    @OptionGroup var replace: OverwriteOption
    var overwrite: Bool { replace.overwrite }

    func validate() throws {
        try OptionChecks.count(n, "--n")
        if !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be a finite number > 0, got \(stepSize)") }
        try OptionChecks.count(steps, "--steps")
        try OptionChecks.count(every, "--every")
        try OptionChecks.count(burnIn, "--burn-in", min: 0)
        if let out { try OptionChecks.outputFile(out, option: "--out", extension: "npy") }
    }

    func run() throws {
        try reportingErrors {
            let started = Date()  // the chain's cost: all of the command, model load and pilot or burn-in included
            let provenance = Provenance.current(command: "hmc", threads: 1)
            let cfg = try Config.load(path: config)
            let url = out.map { URL(fileURLWithPath: $0) } ?? cfg.resultDirectory.appendingPathComponent("hmc.npy")
            let V = Double(cfg.lattice.volume)
            // The field, momentum, force and trial field in Float64, and a float32 row.
            try ResourceBudget.requireMemory(V * (4 * 8 + 4), file: config, field: "[physical] L",
                                             for: "HMC on \(cfg.lattice.volume) sites")
            try ResourceBudget.requireDisk(Double(n) * 4 * V + 4096, at: url, file: "command line", field: "--n \(n)",
                                           for: "\(n) configurations")
            try OutputFiles.check(url, kind: .chain, option: "--out", inputs: [(URL(fileURLWithPath: config), "the config")],
                                  overwrite: overwrite)
            let lock = try OutputFiles.claim(url, option: "--out", for: "HMC")
            defer { lock.release() }
            StopSignal.install()
            let stopped = StopSignal.Stopped(what: "nothing written (the same --seed gives the same chain)")
            var hmc = HMC(action: cfg.action, stepSize: stepSize, steps: steps, seed: seed)
            for _ in 0..<burnIn {
                if StopSignal.requested { throw stopped }
                hmc.trajectory()
            }
            StaleTemporaries.clean(in: url.deletingLastPathComponent())
            let npy = try NpyWriter(url: url, shape: [n] + cfg.lattice.shape)
            let burnAcc = hmc.acceptanceRate
            var kept = HMC.Counter()
            for _ in 0..<n {
                for _ in 0..<every where !StopSignal.requested { kept.record(hmc.trajectory()) }
                if StopSignal.requested { throw stopped }
                try hmc.phi.withUnsafeBufferPointer { try npy.append($0.baseAddress!) }
            }
            // What described an earlier chain under this name (its record, a flow chain's table, its
            // analysis) must not pass for this one's, even if a kill comes between these writes.
            let sidecar = Provenance.sidecar(of: url)
            OutputFiles.removeChainCompanions(of: url)
            try npy.finish()
            var record = provenance.ended()
            record.details = ["seed": "\(seed)", "step_size": "\(stepSize)", "steps": "\(steps)", "burn_in": "\(burnIn)",
                              "every": "\(every)", "rows": "\(n)", "L": "\(cfg.physical.L)", "d": "\(cfg.physical.Nd)",
                              "M2": "\(cfg.physical.M2)", "lam": "\(cfg.physical.lam)",
                              "seconds": String(format: "%.3f", Date().timeIntervalSince(started))]
            try record.write(to: sidecar)
            print(String(format: "%d configurations (%d trajectories of %d steps of %.4g), acceptance %.2f%% (burn-in %.2f%%); wrote %@",
                         n, n * every, steps, stepSize, kept.rate, burnAcc, url.path))
        }
    }
}

import ArgumentParser
import Foundation
import GomalizingFlow

struct HMCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmc",
        abstract: "Hybrid Monte Carlo for the config's action; writes the configurations as .npy.")

    @Argument(help: "A TOML config (only [physical] is used).")
    var config: String

    @Option(name: .customLong("n"), help: "Number of configurations written.")
    var n: Int

    @Option(help: "Leapfrog step size.")
    var stepSize: Double = 0.1

    @Option(help: "Leapfrog steps per trajectory.")
    var steps: Int = 10

    @Option(help: "Trajectories discarded before the first configuration is written.")
    var burnIn: Int = 1000

    @Option(help: "Trajectories between written configurations.")
    var every: Int = 1

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Output .npy file (default: <result>/<config name>/hmc.npy).")
    var out: String?

    func validate() throws {
        if n < 1 { throw ValidationError("--n must be >= 1") }
        if !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be > 0") }
        if steps < 1 || every < 1 || burnIn < 0 { throw ValidationError("--steps and --every must be >= 1, --burn-in >= 0") }
    }

    func run() throws {
        try reportingErrors {
            let cfg = try Config.load(path: config)
            var hmc = HMC(action: cfg.action, stepSize: stepSize, steps: steps, seed: seed)
            for _ in 0..<burnIn { hmc.trajectory() }
            let url = out.map { URL(fileURLWithPath: $0) } ?? cfg.resultDirectory.appendingPathComponent("hmc.npy")
            let npy = try NpyWriter(url: url, shape: [n] + cfg.lattice.shape)
            let burnAcc = hmc.acceptanceRate
            var kept = HMC.Counter()
            for _ in 0..<n {
                for _ in 0..<every { kept.record(hmc.trajectory()) }
                try hmc.phi.withUnsafeBufferPointer { try npy.append($0.baseAddress!) }
            }
            try npy.finish()
            print(String(format: "%d configurations (%d trajectories of %d steps of %.4g), acceptance %.2f%% (burn-in %.2f%%); wrote %@",
                         n, n * every, steps, stepSize, kept.rate, burnAcc, url.path))
        }
    }
}

import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct HMCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmc",
        abstract: "Hybrid Monte Carlo (plain or Fourier-accelerated) for the config's action; writes the configurations as .npy.")

    @Argument(help: "A TOML config (only [physical] is used).")
    var config: String

    @OptionGroup var chain: ChainOptions
    @OptionGroup var trajectory: TrajectoryOptions

    func run() throws {
        try reportingErrors {
            try ChainWriter.run(command: "hmc", config: config, chain: chain, defaultName: trajectory.defaultName("hmc"),
                                bytesPerSite: 8 * trajectory.valuesPerSite,
                                make: { trajectory.hmc($0.action, seed: chain.seed) },
                                details: { _ in trajectory.details },
                                summary: { _ in "trajectories of " + trajectory.summary })
        }
    }
}

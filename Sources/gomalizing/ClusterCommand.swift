import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "HMC with embedded-Ising Wolff cluster flips (Brower-Tamayo) for the config's action; writes the configurations as .npy.",
        discussion: "Each update is one HMC trajectory (plain or Fourier-accelerated), which moves the magnitudes, then --clusters Wolff clusters of the signs. The printed line gives the mean cluster size as a fraction of the volume.")

    @Argument(help: "A TOML config (only [physical] is used).")
    var config: String

    @OptionGroup var chain: ChainOptions
    @OptionGroup var trajectory: TrajectoryOptions

    @Option(parsing: .unconditional, help: "Wolff clusters flipped after every trajectory.", transform: Counts.parse)
    var clusters: Int = 1

    func validate() throws {
        try OptionChecks.count(clusters, "--clusters", max: 1_000_000)
    }

    func run() throws {
        try reportingErrors {
            // The cluster's membership flags and site list, and 2d <= 8 neighbour tables of Int32.
            try ChainWriter.run(command: "cluster", config: config, chain: chain, defaultName: trajectory.defaultName("cluster"),
                                bytesPerSite: 8 * trajectory.valuesPerSite + 5 + 32,
                                make: { ClusterHMC(hmc: trajectory.hmc($0.action, seed: chain.seed), clusters: clusters,
                                                   seed: ~chain.seed) },
                                details: { sampler in
                                    trajectory.details.merging([
                                        "clusters": "\(clusters)",
                                        "mean_cluster_fraction": String(format: "%.5f", sampler.meanClusterFraction),
                                    ]) { a, _ in a }
                                },
                                summary: { sampler in
                                    String(format: "trajectories of %@, then %d Wolff cluster%@ of mean size %.3g V",
                                           trajectory.summary, clusters, clusters == 1 ? "" : "s", sampler.meanClusterFraction)
                                })
        }
    }
}

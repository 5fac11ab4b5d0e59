/// Brower and Tamayo's combination for phi^4: an HMC trajectory (plain or
/// Fourier-accelerated) moves the magnitudes and the long-wavelength modes,
/// then `clusters` Wolff clusters of the embedded Ising model flip signs.
/// Each part leaves exp(-S) invariant, so their product does too; the cluster
/// flips are what carry the field between the vacua of a broken phase, and
/// near the critical point they move the large domains HMC moves slowly.
public struct ClusterHMC: MarkovChainSampler {
    /// The trajectory part, which holds the configuration.
    public private(set) var hmc: HMC
    /// Wolff clusters flipped after every trajectory.
    public let clusters: Int
    private var ising: EmbeddedIsing
    private var rng: Xoshiro256
    /// Sites flipped since the last `endBurnIn()`, summed over clusters.
    public private(set) var flippedSites = 0
    /// Clusters grown since the last `endBurnIn()`.
    public private(set) var clustersGrown = 0

    /// `clusters` Wolff clusters (>= 1) after each trajectory of `hmc`; the
    /// cluster sites and bonds are drawn from their own generator, seeded by
    /// `seed` (the `cluster` command passes the bitwise complement of its --seed).
    public init(hmc: HMC, clusters: Int, seed: UInt64) {
        precondition(clusters >= 1, "at least one cluster per update")
        self.hmc = hmc
        self.clusters = clusters
        ising = EmbeddedIsing(lattice: hmc.action.lattice)
        rng = Xoshiro256(seed: seed)
    }

    public var phi: [Double] { hmc.phi }
    public var acceptanceRate: Double { hmc.acceptanceRate }

    /// The mean cluster size as a fraction of the volume (0 before any cluster).
    public var meanClusterFraction: Double {
        clustersGrown == 0 ? 0 : Double(flippedSites) / Double(clustersGrown * hmc.action.lattice.volume)
    }

    /// The cluster statistics start again: a cold start's burn-in has small clusters.
    public mutating func endBurnIn() {
        flippedSites = 0
        clustersGrown = 0
    }

    /// One trajectory, then the cluster flips; returns the trajectory's acceptance.
    /// A trajectory cut by a `StopRequest` is followed by no flips.
    public mutating func update() -> Bool {
        let accepted = hmc.trajectory()
        if StopRequest.isRequested { return accepted }
        let V = hmc.action.lattice.volume
        for _ in 0..<clusters {
            let site = min(Int(rng.uniform() * Double(V)), V - 1)
            flippedSites += ising.flipCluster(&hmc.phi, from: site, rng: &rng)
            clustersGrown += 1
        }
        return accepted
    }
}

/// A Markov chain on field configurations that leaves exp(-S) invariant: HMC
/// (plain or Fourier-accelerated) and HMC with embedded-Ising cluster flips.
/// The chain commands (`hmc`, `cluster`) write `phi` after every `update()`.
public protocol MarkovChainSampler {
    /// The current configuration, V values in row-major site order.
    var phi: [Double] { get }
    /// One update; returns whether its Metropolis step accepted. A
    /// `StopRequest` may cut it short (an HMC trajectory keeps the configuration;
    /// `ClusterHMC` keeps its trajectory's move and skips the flips); the caller
    /// then checks `StopRequest.isRequested` and stops.
    mutating func update() -> Bool
    /// Acceptance of the Metropolis steps so far, in percent.
    var acceptanceRate: Double { get }
    /// Called once the burn-in is over: statistics kept for the record start again.
    mutating func endBurnIn()
}

extension MarkovChainSampler {
    /// Nothing to reset.
    public mutating func endBurnIn() {}
}

/// A Markov chain on field configurations that leaves exp(-S) invariant: HMC
/// (plain or Fourier-accelerated) and HMC with embedded-Ising cluster flips.
/// The chain commands (`hmc`, `cluster`) write `phi` after every `update()`.
public protocol MarkovChainSampler {
    /// The current configuration, V values in row-major site order.
    var phi: [Double] { get }
    /// One update; returns whether its Metropolis step accepted. A
    /// `StopRequest` may cut it, leaving the configuration as it was.
    mutating func update() -> Bool
    /// Acceptance of the Metropolis steps so far, in percent.
    var acceptanceRate: Double { get }
}

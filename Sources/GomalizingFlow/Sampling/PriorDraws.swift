/// Prior configurations addressed by (seed, purpose, step, index): configuration
/// `index` of draw `step` comes from a generator of its own, so a batch is the
/// same whichever threads or MPI ranks draw which part of it, and a run can be
/// resumed from its step counter alone.
public struct PriorDraws: Sendable {
    /// Separate streams for training batches, evaluation proposals, the
    /// sampler's proposals and the Metropolis-Hastings uniforms.
    public enum Purpose: UInt64, Sendable {
        /// The streams; the raw value is mixed into every generator's seed.
        case training = 1, evaluation = 2, sampling = 3, acceptance = 4
        /// The sign of each proposal of a Z2-symmetrised sampler (`Z2Mixture`), and its pilot draws.
        case signs = 5, pilot = 6
        /// The even sites drawn to complete a proposal of the odd sites (`FlowTarget.oddSites`).
        case completion = 7
    }

    /// Seed shared by all streams; `purpose` separates them.
    public let seed: UInt64
    /// The stream these draws belong to.
    public let purpose: Purpose
    /// The distribution each configuration is drawn from.
    public let prior: Prior

    /// Draws of `volume` sites from `prior` on the stream of (`seed`, `purpose`).
    public init(seed: UInt64, purpose: Purpose, volume: Int, prior: PriorSpec = .normal) {
        self.seed = seed
        self.purpose = purpose
        self.prior = Prior(prior, volume: volume)
    }

    /// The generator of one configuration (or, for `acceptance`, of one chain).
    public func generator(step: UInt64, index: UInt64) -> Xoshiro256 {
        // Each coordinate passes through the SplitMix64 finaliser before the
        // next is mixed in, so nearby (step, index) pairs give unrelated seeds.
        var key = PriorDraws.mix(seed ^ (purpose.rawValue &* 0xD1B5_4A32_D192_ED03))
        key = PriorDraws.mix(key ^ step)
        key = PriorDraws.mix(key ^ index)
        return Xoshiro256(seed: key)
    }

    /// Configurations first..<first+count of draw `step`, into z ([count][V]),
    /// in parallel over `threads` (the result does not depend on it).
    public func fill<T: BinaryFloatingPoint>(_ z: UnsafeMutablePointer<T>, step: Int, first: Int, count: Int,
                                             threads: Int = 1) {
        if T.self == Float.self { return SpecialisedEntryPoints.fill(self, .cast(z), step, first, count, threads) }
        fillBody(z, step: step, first: first, count: count, threads: threads)
    }

    /// `fill` for any T.
    func fillBody<T: BinaryFloatingPoint>(_ z: UnsafeMutablePointer<T>, step: Int, first: Int, count: Int, threads: Int) {
        let V = prior.volume
        let blocks = min(count, 8 * max(1, threads))
        parallelFor(blocks, threads: threads) { blk in
            for k in (blk * count / blocks)..<((blk + 1) * count / blocks) {
                var rng = generator(step: UInt64(step), index: UInt64(first + k))
                prior.sample(into: z + k * V, count: 1, rng: &rng)
            }
        }
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var r = x &+ 0x9E37_79B9_7F4A_7C15
        r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
        r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
        return r ^ (r >> 31)
    }
}

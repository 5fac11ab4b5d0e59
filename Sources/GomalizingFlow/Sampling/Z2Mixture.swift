import Foundation
import Numerics

/// The Z2-symmetrised proposal of a flow T: φ = ±T(z), the sign + or − with
/// probability ½ each, whose density is the mixture
///
///   q_s(φ) = ½ [q(φ) + q(−φ)],
///
/// with q the flow's own density. It is even, as exp(−S) is, so it proposes
/// both vacua of the broken phase however far the flow has collapsed onto one
/// (a flow that covers both gains nothing and pays for the second term). The
/// second term needs the inverse pass at −φ: log q(−φ) = log q0(T⁻¹(−φ)) −
/// log|det J| there. Both terms are the flow's exact density (to Float
/// rounding, as everywhere in the sampler), so a Metropolis–Hastings chain
/// over these proposals with weights exp(−S(φ))/q_s(φ) stays exact.
public final class Z2Mixture {
    /// The flow whose proposals are symmetrised.
    public let flow: Flow<Float>
    private let prior: Prior
    private let signs: PriorDraws
    private let tapes: [FlowTape<Float>]
    private let chunkSize: Int
    private let threads: Int
    /// Proposals whose log q(−φ) came out NaN or +inf (an inverse pass that
    /// overflowed): their weight is NaN and the chain rejects them, which
    /// truncates the proposal; a caller should report a non-zero count.
    public private(set) var nonFinite = 0

    /// A mixture for batches of up to `batchSize` proposals of `flow`, with its
    /// prior, signs from the seed's sign stream, passes over `threads` workers.
    public init(flow: Flow<Float>, prior: PriorSpec, batchSize: Int, seed: UInt64, threads: Int) {
        self.flow = flow
        self.prior = Prior(prior, volume: flow.lattice.volume)
        signs = PriorDraws(seed: seed, purpose: .signs, volume: 1)
        let size = BatchRunner<Float>.defaultChunkSize(batch: batchSize)
        chunkSize = size
        tapes = (0..<((batchSize + size - 1) / size)).map { _ in FlowTape<Float>(architecture: flow.architecture, capacity: size) }
        self.threads = threads
    }

    /// Whether proposal `index` of the stream is negated (a fair coin per proposal,
    /// the same whatever the batch size, threads or ranks).
    public func negates(_ index: Int) -> Bool {
        var g = signs.generator(step: 0, index: UInt64(index))
        return g.uniform() < 0.5
    }

    /// log q(−φ) for each of the `n` configurations in `phi` ([n][V]), by the
    /// inverse pass at −φ, into `out` (any n: in rounds of the batch size).
    public func logDensityOfNegated(_ phi: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Double>) {
        let capacity = tapes.count * chunkSize
        for start in Swift.stride(from: 0, to: n, by: capacity) {
            logDensityOfNegatedRound(phi + start * flow.lattice.volume, n: min(capacity, n - start), into: out + start)
        }
    }

    private func logDensityOfNegatedRound(_ phi: UnsafePointer<Float>, n: Int, into out: UnsafeMutablePointer<Double>) {
        let V = flow.lattice.volume
        let chunks = (n + chunkSize - 1) / chunkSize
        parallelFor(chunks, threads: threads) { c in
            let lo = c * self.chunkSize, hi = min(n, lo + self.chunkSize)
            let tape = self.tapes[c]
            for k in 0..<((hi - lo) * V) { tape.output[k] = -phi[lo * V + k] }
            self.flow.inverse(tape: tape, n: hi - lo)
            for b in 0..<(hi - lo) {
                out[lo + b] = self.prior.logDensity(tape.input + b * V) - Double(tape.logJ[b])
            }
        }
    }

    /// Turns a batch of the flow's proposals into the mixture's: `logQ` (the
    /// flow's log q(φ) on entry) becomes log q_s, the same for φ and −φ, and
    /// proposal `first + b` is negated in `phi` when its coin says so.
    public func symmetrise(phi: UnsafeMutablePointer<Float>, logQ: UnsafeMutablePointer<Double>, n: Int, first: Int) {
        let V = flow.lattice.volume
        var other = [Double](repeating: 0, count: n)
        other.withUnsafeMutableBufferPointer { logDensityOfNegated(UnsafePointer(phi), n: n, into: $0.baseAddress!) }
        for b in 0..<n {
            if other[b].isNaN || other[b] == .infinity { nonFinite += 1 }
            logQ[b] = Z2Mixture.logMeanExp(logQ[b], other[b])
            if negates(first + b) {
                for v in 0..<V { phi[b * V + v] = -phi[b * V + v] }
            }
        }
    }

    /// Fraction of `count` proposals of `flow` with M > 0, drawn from the pilot
    /// stream of `seed` (never the chain's own proposals, so choosing the
    /// proposal by it keeps the chain a fixed, exact kernel).
    public static func pilotPositiveFraction(flow: Flow<Float>, action: Phi4Action, prior: PriorSpec, seed: UInt64,
                                             count: Int = 1024, threads: Int) -> Double {
        let V = flow.lattice.volume, B = min(count, 256)
        let runner = BatchRunner(flow: flow, action: action, batchSize: B, threads: threads, prior: prior)
        let draws = PriorDraws(seed: seed, purpose: .pilot, volume: V, prior: prior)
        var z = [Float](repeating: 0, count: B * V)
        var positive = 0, done = 0
        while done < count {
            z.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: 0, first: done, count: B, threads: threads) }
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
            positive += runner.phi.withUnsafeBufferPointer {
                VacuumDiagnostics.positiveCount($0.baseAddress!, n: min(B, count - done), volume: V)
            }
            done += B
        }
        return Double(positive) / Double(count)
    }

    /// The default of `sample --z2 auto`: symmetrise when the pilot proposals
    /// are this lopsided (outside [0.2, 0.8] with M > 0), where the flow would
    /// leave one vacuum rarely or never proposed.
    public static func lopsided(positiveFraction f: Double) -> Bool { !(f >= 0.2 && f <= 0.8) }

    /// log(½ (e^a + e^b)), without overflow; -inf when both are.
    public static func logMeanExp(_ a: Double, _ b: Double) -> Double {
        let m = Swift.max(a, b)
        guard m.isFinite else { return m == -.infinity ? -.infinity : m }
        return m + Foundation.log(0.5 * (Foundation.exp(a - m) + Foundation.exp(b - m)))
    }
}

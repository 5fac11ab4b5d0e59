import Foundation
import Numerics

/// An exact Markov chain from a trained flow: proposals are drawn in batches
/// (in parallel), and an independence Metropolis-Hastings chain runs over them
/// in order. Every step reports the chain's current configuration, so the
/// output is a correct (autocorrelated) sample of exp(-S).
public final class FlowSampler {
    public let flow: Flow<Float>
    public let runner: BatchRunner<Float>
    public private(set) var chain = IndependenceMH()
    private var rng: Xoshiro256
    private var z: [Float]
    private var current: [Float]
    private var currentLogP = 0.0
    private var currentLogQ = 0.0

    public init(flow: Flow<Float>, action: Phi4Action, batchSize: Int, seed: UInt64, threads: Int = defaultThreadCount()) {
        self.flow = flow
        runner = BatchRunner(flow: flow, action: action, batchSize: batchSize, threads: threads)
        rng = Xoshiro256(seed: seed)
        z = [Float](repeating: 0, count: batchSize * flow.lattice.volume)
        current = [Float](repeating: 0, count: flow.lattice.volume)
    }

    /// Runs `count` chain steps, calling `body(phi, logP, logQ, accepted)` for each
    /// with the chain's configuration after the step and its log p and log q.
    public func run(steps count: Int, _ body: (UnsafePointer<Float>, Double, Double, Bool) throws -> Void) rethrows {
        let B = runner.batchSize, V = flow.lattice.volume
        var done = 0
        while done < count {
            z.withUnsafeMutableBufferPointer { runner.prior.sample(into: $0.baseAddress!, count: B, rng: &rng) }
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
            for b in 0..<min(B, count - done) {
                let lp = runner.logP[b], lq = runner.logQ[b]
                let accepted = chain.offer(logWeight: lp - lq, uniform: rng.uniform())
                if accepted {
                    runner.phi.withUnsafeBufferPointer { src in
                        current.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src.baseAddress! + b * V, count: V) }
                    }
                    currentLogP = lp
                    currentLogQ = lq
                }
                try current.withUnsafeBufferPointer { try body($0.baseAddress!, currentLogP, currentLogQ, accepted) }
                done += 1
            }
        }
    }
}

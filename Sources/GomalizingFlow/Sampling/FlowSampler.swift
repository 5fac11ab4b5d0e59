import Foundation
import Numerics

/// An exact Markov chain from a trained flow: proposals are drawn in batches
/// (in parallel), and an independence Metropolis-Hastings chain runs over them
/// in order. Every step reports the chain's current configuration, so the
/// output is a correct (autocorrelated) sample of exp(-S).
///
/// Proposal k is the flow applied to prior draw k of the seed's sampling
/// stream (with `symmetrised`, negated when the k-th coin of its sign stream
/// says so), whatever the batch size, thread count or number of MPI ranks. With
/// N ranks each round's N * batchSize proposals are shared out, gathered on
/// rank 0 in order, and the chain (with its own uniform stream) runs there:
/// the accept/reject sequence is that of one process over the same proposals.
public final class FlowSampler {
    /// The Float32 flow whose proposals the chain runs over.
    public let flow: Flow<Float>
    /// Pushes each batch of prior draws through the flow (no gradient, running batch-norm statistics).
    public let runner: BatchRunner<Float>
    /// The MPI ranks sharing the proposals; the chain runs on rank 0.
    public let communicator: Communicator
    /// The chain's state and acceptance counts (meaningful on rank 0 only).
    public private(set) var chain = IndependenceMH()
    private let draws: PriorDraws
    /// The streams of the even sites' draws (`FlowTarget.oddSites`), one per proposal.
    private let completion: PriorDraws
    private var uniforms: Xoshiro256
    private var z: [Float]
    private var current: [Float]
    private var currentLogP = 0.0
    private var currentLogQ = 0.0
    /// Rank 0's gathered round: fields, log p and log q of N * batchSize proposals.
    private var roundPhi: [Float] = []
    private var roundLogP: [Double] = []
    private var roundLogQ: [Double] = []
    private var proposalsDrawn = 0
    /// With `symmetrised`: the Z2 mixture ±T(z) the proposals come from, and this rank's batch of them.
    public let mixture: Z2Mixture?
    private var batchPhi: [Float] = []
    private var batchLogQ: [Double] = []
    /// Log p and log q of the proposal offered at the step `run` last reported
    /// (the chain's state only when it was accepted): the importance weights of
    /// all proposals, for `WeightDiagnostics`.
    public private(set) var lastProposal: (logP: Double, logQ: Double) = (0, 0)

    /// A sampler drawing `batchSize` proposals per rank and round from the sampling
    /// stream of `seed`; the Metropolis-Hastings uniforms come from its acceptance stream.
    /// `symmetrised`: propose from the Z2 mixture ½[q(φ) + q(−φ)] (`Z2Mixture`),
    /// which reaches both vacua of the broken phase; each proposal then costs an
    /// inverse pass more.
    public convenience init(flow: Flow<Float>, action: Phi4Action, batchSize: Int, seed: UInt64, threads: Int = defaultThreadCount(),
                            communicator: Communicator = SerialCommunicator(), prior: PriorSpec = .normal, symmetrised: Bool = false) {
        self.init(flow: flow, target: .full(action), batchSize: batchSize, seed: seed, threads: threads,
                  communicator: communicator, prior: prior, symmetrised: symmetrised)
    }

    /// A sampler for `target` (see the other initialiser). With `.oddSites` the
    /// chain runs over the odd sites' marginal and each accepted proposal is
    /// completed by exact draws of its even sites from the completion stream of
    /// `seed` (index: the proposal's number), so the chain is the independence
    /// MH chain of the proposal q_odd(phi_odd) p(phi_even | phi_odd), whose
    /// weight p/q is that of the odd sites alone. Not with `symmetrised`.
    public init(flow: Flow<Float>, target: FlowTarget, batchSize: Int, seed: UInt64, threads: Int = defaultThreadCount(),
                communicator: Communicator = SerialCommunicator(), prior: PriorSpec = .normal, symmetrised: Bool = false) {
        precondition(!(symmetrised && target.multiplicity != 1), "the Z2 mixture is not available for covering fields")
        self.flow = flow
        completion = PriorDraws(seed: seed, purpose: .completion, volume: 1)
        mixture = symmetrised ? Z2Mixture(flow: flow, prior: prior, batchSize: batchSize, seed: seed, threads: threads) : nil
        if symmetrised {
            batchPhi = [Float](repeating: 0, count: batchSize * flow.lattice.volume)
            batchLogQ = [Double](repeating: 0, count: batchSize)
        }
        self.communicator = communicator
        runner = BatchRunner(flow: flow, target: target, batchSize: batchSize, threads: threads, prior: prior)
        draws = PriorDraws(seed: seed, purpose: .sampling, volume: flow.lattice.volume, prior: prior)
        uniforms = PriorDraws(seed: seed, purpose: .acceptance, volume: 1).generator(step: 0, index: 0)
        z = [Float](repeating: 0, count: batchSize * flow.lattice.volume)
        current = [Float](repeating: 0, count: flow.lattice.volume)
        if communicator.isRoot {
            let G = communicator.size * batchSize
            roundPhi = [Float](repeating: 0, count: G * flow.lattice.volume)
            roundLogP = [Double](repeating: 0, count: G)
            roundLogQ = [Double](repeating: 0, count: G)
        }
    }

    /// Runs `count` chain steps, calling `body(phi, logP, logQ, accepted)` on
    /// rank 0 for each, with the chain's configuration after the step and its
    /// log p and log q. Every rank must call it with the same count.
    ///
    /// In one process a `StopRequest` ends it early, without reporting the
    /// steps of the batch it cut: the caller checks `StopRequest.isRequested`
    /// to tell a stopped chain from a finished one. (Ranks cannot agree on a
    /// stop mid-chain, so with several the request is not polled.)
    public func run(steps count: Int, _ body: (UnsafePointer<Float>, Double, Double, Bool) throws -> Void) rethrows {
        let B = runner.batchSize, V = flow.lattice.volume
        let N = communicator.size, G = N * B
        var done = 0
        while done < count {
            // This rank's proposals of the round: their prior draws, and their sign coins.
            let first = proposalsDrawn + communicator.rank * B
            z.withUnsafeMutableBufferPointer {
                runner.target.fill($0.baseAddress!, from: draws, step: 0, first: first, count: B, threads: runner.threads)
            }
            let roundStart = proposalsDrawn
            proposalsDrawn += G
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
            if let mixture {
                batchPhi.withUnsafeMutableBufferPointer { p in
                    runner.phi.withUnsafeBufferPointer { p.baseAddress!.update(from: $0.baseAddress!, count: B * V) }
                    batchLogQ.withUnsafeMutableBufferPointer { q in
                        runner.logQ.withUnsafeBufferPointer { q.baseAddress!.update(from: $0.baseAddress!, count: B) }
                        mixture.symmetrise(phi: p.baseAddress!, logQ: q.baseAddress!, n: B, first: first)
                    }
                }
            }
            if N == 1 && StopRequest.isRequested { return }
            gatherRound()
            let take = min(G, count - done)
            done += take
            guard communicator.isRoot else { continue }
            for b in 0..<take {
                let lp = roundLogP[b], lq = roundLogQ[b]
                lastProposal = (lp, lq)
                let accepted = chain.offer(logWeight: lp - lq, uniform: uniforms.uniform())
                if accepted {
                    if case .full = runner.target {
                        roundPhi.withUnsafeBufferPointer { src in
                            current.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src.baseAddress! + b * V, count: V) }
                        }
                    } else {
                        var rng = completion.generator(step: 0, index: UInt64(roundStart + b))
                        current = runner.target.configuration(Array(roundPhi[(b * V)..<((b + 1) * V)]), using: &rng)
                    }
                    currentLogP = lp
                    currentLogQ = lq
                }
                try current.withUnsafeBufferPointer { try body($0.baseAddress!, currentLogP, currentLogQ, accepted) }
            }
        }
    }

    /// This rank's batch into rank 0's round buffers, in rank order.
    private func gatherRound() {
        let B = runner.batchSize, V = flow.lattice.volume
        let root = communicator.isRoot
        (mixture == nil ? runner.phi : batchPhi).withUnsafeBufferPointer { src in
            roundPhi.withUnsafeMutableBufferPointer { dst in
                communicator.gather(src.baseAddress!, count: B * V, into: root ? dst.baseAddress! : nil, root: 0)
            }
        }
        runner.logP.withUnsafeBufferPointer { src in
            roundLogP.withUnsafeMutableBufferPointer { dst in
                communicator.gather(src.baseAddress!, count: B, into: root ? dst.baseAddress! : nil, root: 0)
            }
        }
        (mixture == nil ? runner.logQ : batchLogQ).withUnsafeBufferPointer { src in
            roundLogQ.withUnsafeMutableBufferPointer { dst in
                communicator.gather(src.baseAddress!, count: B, into: root ? dst.baseAddress! : nil, root: 0)
            }
        }
    }
}

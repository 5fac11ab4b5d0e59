import Numerics

/// Runs a flow over a batch split into fixed chunks, in parallel over threads.
///
/// The chunking depends only on the batch size, each chunk owns its tape and
/// gradient buffer, and partial results are summed in chunk order, so results
/// are bit-identical for any thread count.
public final class BatchRunner<T: Real & BinaryFloatingPoint & SIMDScalar> {
    /// The flow run; its current `parameters` are used at every `run`.
    public let flow: Flow<T>
    /// What the flow's field is trained against: log p = -target.action (unnormalised).
    public let target: FlowTarget
    /// Density of the base distribution q0 the batch z is drawn from.
    public let prior: Prior
    /// Configurations per `run` (B).
    public let batchSize: Int
    /// Configurations per chunk; the last chunk may be shorter.
    public let chunkSize: Int
    /// Worker threads; results do not depend on it.
    public var threads: Int
    /// The path-gradient estimator of the reverse KL (Vaitl et al. 2022)
    /// instead of the standard one; see `backward`.
    public var pathGradient = false
    let tapes: [FlowTape<T>]
    /// One gradient buffer per chunk, raw so workers can write them concurrently.
    let chunkGrads: [UnsafeMutablePointer<T>]
    let seedField: [UnsafeMutablePointer<T>]
    let seedLogJ: [UnsafeMutablePointer<T>]
    /// Batch-norm reductions: per-chunk partial sums, their total, and the batch
    /// statistics of the last training forward pass.
    let chunkMoments: [UnsafeMutablePointer<Double>]
    let momentTotal: UnsafeMutablePointer<Double>
    var batchStatistics: [[BatchNorm.Statistics?]]
    private var chunkLoss: [Double]
    /// Per-configuration results of the last pass.
    public private(set) var logQ: [Double]
    /// -S(phi) of each configuration of the last pass (unnormalised log p).
    public private(set) var logP: [Double]
    /// The batch of fields of the last pass, [B][V].
    public private(set) var phi: [T]
    /// dLoss/dparameters after a `run` with `withGradient`, summed over chunks in order.
    public private(set) var gradient: [T]

    /// ceil(batch / 8), at least 1: eight chunks to share out over threads.
    public static func defaultChunkSize(batch: Int) -> Int { max(1, (batch + 7) / 8) }

    /// A runner against the theory's action itself (`FlowTarget.full`).
    public convenience init(flow: Flow<T>, action: Phi4Action, batchSize: Int, threads: Int = defaultThreadCount(),
                            chunkSize: Int? = nil, prior: PriorSpec = .normal) {
        self.init(flow: flow, target: .full(action), batchSize: batchSize, threads: threads, chunkSize: chunkSize, prior: prior)
    }

    /// Allocates a tape and a gradient buffer per chunk; `chunkSize` nil takes
    /// `defaultChunkSize`, `prior` sets q0 (standard normal by default).
    public init(flow: Flow<T>, target: FlowTarget, batchSize: Int, threads: Int = defaultThreadCount(),
                chunkSize: Int? = nil, prior: PriorSpec = .normal) {
        self.flow = flow
        self.target = target
        self.prior = Prior(prior, volume: flow.lattice.volume)
        self.batchSize = batchSize
        self.chunkSize = chunkSize ?? BatchRunner.defaultChunkSize(batch: batchSize)
        self.threads = threads
        let nChunks = (batchSize + self.chunkSize - 1) / self.chunkSize
        let cs = self.chunkSize
        let P = flow.architecture.parameterCount
        let V = flow.lattice.volume
        tapes = (0..<nChunks).map { _ in FlowTape<T>(architecture: flow.architecture, capacity: cs) }
        func zeros(_ n: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        chunkGrads = (0..<nChunks).map { _ in zeros(P) }
        seedField = (0..<nChunks).map { _ in zeros(cs * V) }
        seedLogJ = (0..<nChunks).map { _ in zeros(cs) }
        let widest = 2 * flow.architecture.maxChannels
        chunkMoments = (0..<nChunks).map { _ in
            let p = UnsafeMutablePointer<Double>.allocate(capacity: widest)
            p.initialize(repeating: 0, count: widest)
            return p
        }
        momentTotal = UnsafeMutablePointer<Double>.allocate(capacity: widest)
        momentTotal.initialize(repeating: 0, count: widest)
        batchStatistics = flow.architecture.couplings.map { c in c.net.map { _ in nil } }
        chunkLoss = Array(repeating: 0, count: nChunks)
        logQ = Array(repeating: 0, count: batchSize)
        logP = Array(repeating: 0, count: batchSize)
        phi = Array(repeating: 0, count: batchSize * flow.lattice.volume)
        gradient = Array(repeating: 0, count: flow.architecture.parameterCount)
    }

    deinit {
        for p in chunkGrads + seedField + seedLogJ { p.deallocate() }
        for p in chunkMoments + [momentTotal] { p.deallocate() }
    }

    var chunkCount: Int { tapes.count }
    func range(_ c: Int) -> Range<Int> { (c * chunkSize)..<min(batchSize, (c + 1) * chunkSize) }

    /// phi = flow(z) for the batch z ([B][V]); fills `phi`, `logQ`, `logP` and
    /// returns the reverse-KL loss mean(log q - log p). With `withGradient`, also
    /// its gradient with respect to the parameters in `gradient`.
    ///
    /// `training` matters only with batch norms: then the batch statistics are
    /// used (and, with `withGradient`, the running statistics updated), as in a
    /// training step; otherwise the running statistics, as for sampling.
    ///
    /// After a `StopRequest` the pass stops within a layer of each chunk and its
    /// outputs are incomplete: a caller that finds `StopRequest.isRequested`
    /// set after `run` must not use them.
    @discardableResult
    public func run(z: UnsafePointer<T>, withGradient: Bool, training: Bool = true) -> Double {
        if T.self == Float.self {
            return SpecialisedEntryPoints.run(self as! BatchRunner<Float>, .cast(z), withGradient, training)
        }
        return runBody(z: z, withGradient: withGradient, training: training)
    }

    /// `run` for any T.
    func runBody(z: UnsafePointer<T>, withGradient: Bool, training: Bool) -> Double {
        let V = flow.lattice.volume
        let synchronized = training && flow.architecture.usesBatchNorm
        phi.withUnsafeMutableBufferPointer { phiBuf in
            logQ.withUnsafeMutableBufferPointer { lq in
                logP.withUnsafeMutableBufferPointer { lp in
                    chunkLoss.withUnsafeMutableBufferPointer { losses in
                        let out = ChunkOutputs(phi: phiBuf.baseAddress!, logQ: lq.baseAddress!, logP: lp.baseAddress!,
                                               loss: losses.baseAddress!, z: z)
                        if synchronized {
                            forwardSynchronized(z: z, updateRunning: withGradient)
                            parallelFor(chunkCount, threads: threads) { c in self.record(chunk: c, out) }
                            if withGradient && !StopRequest.isRequested { backwardSynchronized() }
                        } else {
                            parallelFor(chunkCount, threads: threads) { c in
                                // Under a stop request chunks are skipped or cut short: see `run`.
                                if StopRequest.isRequested { return }
                                let r = self.range(c)
                                let tape = self.tapes[c]
                                tape.input.update(from: z + r.lowerBound * V, count: r.count * V)
                                self.flow.forward(tape: tape, n: r.count, forPullback: withGradient)
                                self.record(chunk: c, out)
                                if withGradient && !StopRequest.isRequested { self.backward(chunk: c, n: r.count) }
                            }
                        }
                    }
                }
            }
        }
        var loss = 0.0
        for c in 0..<chunkCount { loss += chunkLoss[c] }
        if withGradient {
            let P = gradient.count
            gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<P { g[i] = 0 }
                for c in 0..<chunkCount {
                    let cg = chunkGrads[c]
                    for i in 0..<P { g[i] += cg[i] }
                }
            }
        }
        return loss
    }

    /// Lets `body` rewrite the summed gradient in place (an allreduce over ranks).
    public func reduceGradient(_ body: (UnsafeMutablePointer<T>, Int) -> Void) {
        gradient.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    }

    struct ChunkOutputs {
        let phi: UnsafeMutablePointer<T>
        let logQ: UnsafeMutablePointer<Double>
        let logP: UnsafeMutablePointer<Double>
        let loss: UnsafeMutablePointer<Double>
        let z: UnsafePointer<T>
    }

    /// log q, log p, the chunk's share of the loss, and phi, after a forward pass.
    private func record(chunk c: Int, _ out: ChunkOutputs) {
        let V = flow.lattice.volume
        let r = range(c)
        let tape = tapes[c]
        var loss = 0.0
        // A covering field holds each degree of freedom `multiplicity` times (FlowTarget).
        let m = target.multiplicity
        for (k, b) in r.enumerated() {
            let logq = (prior.logDensity(out.z + b * V) - Double(tape.logJ[k])) / m
            let logp = -target.action(UnsafePointer(tape.output + k * V))
            out.logQ[b] = logq
            out.logP[b] = logp
            loss += logq - logp
        }
        out.loss[c] = loss / Double(batchSize)
        (out.phi + r.lowerBound * V).update(from: tape.output, count: r.count * V)
    }

    /// Loss = (1/B) sum_b [log q0(z_b) - logJ_b + S(phi_b)]: dL/dphi = force/B, dL/dlogJ = -1/B
    /// (log q0 and logJ divided by the target's multiplicity m: dL/dlogJ = -1/(mB)).
    ///
    /// The path gradient differentiates log q_theta(x) - log p(x) only through
    /// x = T_theta(z), with the theta of the density held fixed: dL/dphi =
    /// (d log q/d phi + force)/B and dL/dlogJ = 0. It drops the score term
    /// E[d log q_theta(x)/d theta], whose expectation is zero, so both have the
    /// same expectation; near convergence the path gradient's variance vanishes.
    private func backward(chunk c: Int, n: Int) {
        let V = flow.lattice.volume
        let tape = tapes[c]
        let inv = 1 / Double(batchSize)
        let dPhi = seedField[c], dLogJ = seedLogJ[c], g = chunkGrads[c]
        let P = flow.architecture.parameterCount
        let m = T(target.multiplicity)
        if pathGradient {
            for k in 0..<n { prior.logDensityGradient(UnsafePointer(tape.input + k * V), into: dPhi + k * V) }
            flow.densityGradient(tape: tape, n: n, dLogQ0: dPhi, into: dPhi)
            let force = tape.scratch  // free again after densityGradient
            for k in 0..<n {
                target.force(UnsafePointer(tape.output + k * V), into: force, scale: 1)
                for v in 0..<V { dPhi[k * V + v] = T(inv) * (dPhi[k * V + v] / m + force[v]) }
                dLogJ[k] = 0
            }
        } else {
            for k in 0..<n {
                target.force(UnsafePointer(tape.output + k * V), into: dPhi + k * V, scale: inv)
                dLogJ[k] = T(-inv) / m
            }
        }
        g.initialize(repeating: 0, count: P)
        flow.pullback(tape: tape, n: n, dPhi: dPhi, dLogJ: dLogJ, grads: g)
    }
}

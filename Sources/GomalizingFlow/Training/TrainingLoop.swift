import Foundation
import Numerics

/// What training reports while it runs; the CLI prints it.
public protocol TrainingObserver: AnyObject {
    /// Called after every optimisation step, with its iteration (from 1) of `total` in the epoch and its loss.
    func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double)
    /// Called after every epoch with its history record; `improved`: a new best acceptance.
    func epochFinished(_ record: EpochRecord, improved: Bool)
}

/// Why training stopped before its last epoch.
public enum TrainingError: Error, CustomStringConvertible {
    /// `what` (the loss, the gradient or a parameter) became NaN or infinite at that step.
    case nonFinite(epoch: Int, iteration: Int, what: String)
    /// The MPI ranks held different parameters after the epoch.
    case ranksDiverged(epoch: Int)
    /// Stopped on request (`TrainingLoop.stopRequested` or a `StopRequest`)
    /// after `iteration` steps of `epoch`, with the request's value (the CLI's: a signal number).
    case interrupted(epoch: Int, iteration: Int, code: Int32)
    /// One line saying what happened (the CLI adds where the state was saved).
    public var description: String {
        switch self {
        case let .interrupted(e, i, _):
            return "interrupted at epoch \(e), iteration \(i)"
        case let .nonFinite(e, i, what):
            return "training stopped: \(what) is not finite at epoch \(e), iteration \(i)"
        case let .ranksDiverged(e):
            return "training stopped: the MPI ranks hold different parameters after epoch \(e) (mixed builds or hardware?)"
        }
    }
}

/// Reverse-KL training of a Float32 flow against exp(-S), in memory: the
/// optimisation steps, the per-epoch evaluation and the stop protocol. It
/// reads and writes no file; `Trainer` (GomalizingRun) wraps it with a result
/// folder, checkpoints and provenance, and an embedding program can drive it alone.
///
/// Data parallel over a `Communicator`: with N ranks each draws `batchSize`
/// configurations of a global batch of N * batchSize (prior draws are addressed
/// by step and index, see `PriorDraws`), gradients are summed with an
/// allreduce, and every rank applies the same optimiser step.
public final class TrainingLoop {
    /// The settings (batch, iterations, learning rate, prior, seed, evaluation size, gradient estimator).
    public let settings: TrainingSettings
    /// The flow being trained.
    public let flow: Flow<Float>
    /// The optimiser and its state.
    public private(set) var optimiser: Optimiser
    /// The MPI ranks training together (one process by default).
    public let communicator: Communicator
    /// Optimisation steps taken so far: the address of the next batch's draws.
    public private(set) var stepsDone: Int
    /// Polled after every step: a non-zero value asks training to stop (the
    /// CLI returns the number of the signal received). The step is finished and
    /// `runEpoch` ends with `.stopped`, or, when the request comes at the epoch's
    /// last step, finishes the epoch with `EpochResult.stopAfter` set: stop
    /// before the next one. Under MPI the ranks agree through the
    /// loss allreduce, so all stop at the same step, and all report the largest value any rank returned.
    ///
    /// A `StopRequest` acts sooner: it cuts the step (or the evaluation) in
    /// progress, which is discarded; the state is that of the steps before it,
    /// and a resumed run repeats the discarded one exactly (draws are addressed by step).
    public var stopRequested: () -> Int32 = { 0 }
    /// Whether some rank asked to stop during the last step.
    public private(set) var stopAgreed = false
    /// Whether the last `step()` was cut short by a `StopRequest` on some rank
    /// and discarded: no optimiser update, `stepsDone` unchanged.
    public private(set) var lastStepDiscarded = false
    /// This rank's request at the last step (or evaluation).
    private var stopCode: Int32 = 0
    private let trainingDraws: PriorDraws
    private let evaluationDraws: PriorDraws
    private let runner: BatchRunner<Float>
    /// Prior draws of the current batch, reused every step.
    private var z: [Float]

    /// A loop training `flow` against `action` with `threads` workers per
    /// rank, continuing from `optimiser` and `stepsDone` when given (a resumed
    /// run), else with a fresh optimiser of the settings.
    public convenience init(flow: Flow<Float>, action: Phi4Action, settings: TrainingSettings, threads: Int,
                            communicator: Communicator = SerialCommunicator(), optimiser: Optimiser? = nil, stepsDone: Int = 0) {
        self.init(flow: flow, target: .full(action), settings: settings, threads: threads, communicator: communicator,
                  optimiser: optimiser, stepsDone: stepsDone)
    }

    /// Per-parameter learning-rate factors for `settings`' parameter groups, or nil when all are base_lr.
    public static func rateScale(_ arch: FlowArchitecture, _ settings: TrainingSettings) -> [Float]? {
        guard let shearLR = settings.shearLR, arch.shears != nil else { return nil }
        var scale = [Float](repeating: 1, count: arch.parameterCount)
        let factor = Float(shearLR / settings.baseLR)
        for t in arch.tensors where t.name.hasSuffix(".shear.weight") {
            for i in t.offset..<(t.offset + t.count) { scale[i] = factor }
        }
        return scale
    }

    /// A loop training `flow` against `target` (see the other initialiser).
    public init(flow: Flow<Float>, target: FlowTarget, settings: TrainingSettings, threads: Int,
                communicator: Communicator = SerialCommunicator(), optimiser: Optimiser? = nil, stepsDone: Int = 0) {
        self.flow = flow
        self.settings = settings
        self.communicator = communicator
        self.stepsDone = stepsDone
        let V = flow.lattice.volume
        self.optimiser = optimiser ?? Optimiser(kind: settings.optimiser, parameterCount: flow.architecture.parameterCount,
                                                lr: settings.baseLR, clipNorm: settings.clipNorm)
        self.optimiser.rateScale = TrainingLoop.rateScale(flow.architecture, settings)
        trainingDraws = PriorDraws(seed: settings.seed, purpose: .training, volume: V, prior: settings.prior)
        evaluationDraws = PriorDraws(seed: settings.seed, purpose: .evaluation, volume: V, prior: settings.prior)
        runner = BatchRunner(flow: flow, target: target, batchSize: settings.batchSize, threads: threads, prior: settings.prior)
        runner.pathGradient = settings.pathGradient
        z = [Float](repeating: 0, count: settings.batchSize * V)
    }

    /// Worker threads per rank.
    public var threads: Int { runner.threads }
    /// The gradient of the last step, averaged over ranks.
    public var gradient: [Float] { runner.gradient }

    /// One optimisation step on a fresh batch from the prior; returns the loss
    /// (the mean over the global batch).
    public func step() -> Double {
        let B = settings.batchSize
        let N = communicator.size
        z.withUnsafeMutableBufferPointer {
            runner.target.fill($0.baseAddress!, from: trainingDraws, step: stepsDone, first: communicator.rank * B, count: B,
                               threads: runner.threads)
        }
        // Batch norms update their running statistics in the pass: kept to restore if it is discarded.
        let buffersBefore = flow.architecture.usesBatchNorm ? flow.buffers : nil
        var loss = z.withUnsafeBufferPointer { runner.run(z: $0.baseAddress!, withGradient: true, training: true) }
        var cut = StopRequest.isRequested
        stopCode = stopRequested()
        if stopCode == 0 { stopCode = StopRequest.code }
        stopAgreed = stopCode != 0
        if N > 1 {
            // Each rank's gradient is its mean over B; the global mean is their average.
            runner.reduceGradient { g, count in
                communicator.allreduceSum(g, count: count)
                let inv = 1 / Float(N)
                for i in 0..<count { g[i] *= inv }
            }
            var l = [loss / Double(N), stopAgreed ? 1 : 0, cut ? 1 : 0]
            communicator.allreduceSum(&l)
            loss = l[0]
            stopAgreed = l[1] > 0
            cut = l[2] > 0
        }
        lastStepDiscarded = cut
        if cut {
            if let buffersBefore { flow.buffers = buffersBefore }
            return loss
        }
        stepsDone += 1
        if loss.isFinite && runner.gradient.allSatisfy({ $0.isFinite }) {
            optimiser.update(&flow.parameters, gradient: runner.gradient)
        }
        return loss
    }

    /// What the per-epoch evaluation measures.
    public struct Evaluation {
        /// Acceptance of an independence MH chain over the proposals, percent.
        public var acceptance: Double
        /// ESS, largest normalised weight and Pareto k of the proposals' weights.
        public var weights: WeightDiagnostics
        /// ESS per proposal, (sum w)^2 / (N sum w^2).
        public var ess: Double { weights.ess }
        /// Fraction of the proposals with M > 0 (about 1/2 when both vacua are proposed).
        public var positiveFraction: Double
    }

    /// Draws `count` proposals from the flow (draw `round` of the evaluation
    /// stream, shared out over ranks), runs the independence MH chain over them
    /// and returns its acceptance and the weights' diagnostics, the same on every rank.
    public func evaluate(count: Int, round: Int) -> Evaluation {
        let B = settings.batchSize
        let N = communicator.size, r = communicator.rank
        let mine = (r * count / N)..<((r + 1) * count / N)
        var logW = [Double](repeating: 0, count: count)
        var positive = [0.0]
        let V = flow.lattice.volume
        var next = mine.lowerBound
        // A stop request cuts the evaluation; `runEpoch` then discards it.
        while next < mine.upperBound && !StopRequest.isRequested {
            let n = min(B, mine.upperBound - next)
            z.withUnsafeMutableBufferPointer {
                runner.target.fill($0.baseAddress!, from: evaluationDraws, step: round, first: next, count: n, threads: runner.threads)
            }
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
            for b in 0..<n { logW[next + b] = runner.logP[b] - runner.logQ[b] }
            positive[0] += Double(runner.phi.withUnsafeBufferPointer { VacuumDiagnostics.positiveCount($0.baseAddress!, n: n, volume: V) })
            next += n
        }
        communicator.allreduceSum(&logW)
        communicator.allreduceSum(&positive)
        var chain = IndependenceMH()
        var uniforms = PriorDraws(seed: settings.seed, purpose: .acceptance, volume: 1)
            .generator(step: UInt64(round), index: 0)
        for w in logW { _ = chain.offer(logWeight: w, uniform: uniforms.uniform()) }
        return Evaluation(acceptance: chain.acceptanceRate, weights: WeightDiagnostics(logWeights: logW),
                          positiveFraction: positive[0] / Double(max(count, 1)))
    }

    /// Progress inside an epoch that a stop request interrupted: the steps taken in it
    /// and the running sums its history line needs.
    public struct PartialEpoch: Equatable, Sendable {
        /// Optimisation steps taken in the interrupted epoch.
        public var iterations: Int
        /// Sum of the loss over those steps.
        public var lossSum: Double
        /// Sum of the squared loss over those steps.
        public var lossSquareSum: Double
        /// Wall seconds of the epoch's steps so far.
        public var trainSeconds: Double
        /// The progress from its parts.
        public init(iterations: Int, lossSum: Double, lossSquareSum: Double, trainSeconds: Double) {
            self.iterations = iterations
            self.lossSum = lossSum
            self.lossSquareSum = lossSquareSum
            self.trainSeconds = trainSeconds
        }
    }

    /// What an epoch measured, before the run layer adds its bests and wall time.
    public struct EpochResult {
        /// Mean and standard deviation of the loss over the epoch's steps.
        public var loss: Double, lossStd: Double
        /// The evaluation after the steps.
        public var evaluation: Evaluation
        /// Wall seconds of the steps (an interrupted epoch's earlier ones included) and of the evaluation.
        public var trainSeconds: Double, evalSeconds: Double
        /// When the epoch ended (after the ranks agreed on the parameters).
        public var ended: Date
        /// Whether a `stopRequested` request came at the epoch's last step: the
        /// epoch is complete, and training should stop before the next one.
        public var stopAfter: Bool
    }

    /// How `runEpoch` ended.
    public enum EpochEnd {
        /// Every step and the evaluation done.
        case finished(EpochResult)
        /// Stopped on request after `iteration` steps of the epoch; `partial`
        /// is what a checkpoint must hold to continue it (nil: the epoch had not begun).
        case stopped(partial: PartialEpoch?, iteration: Int)
    }

    /// Runs epoch `epoch` (from 1): the learning rate of the schedule, the
    /// remaining steps (after `resuming`'s, an epoch an interrupted run had
    /// begun), then the evaluation of `settings.evalSamples` proposals.
    /// `progress` gets each step's iteration and loss. Stops early on a stop
    /// request (`.stopped`: a cut step or evaluation is discarded).
    /// - Throws: `TrainingError.nonFinite` or `.ranksDiverged`.
    public func runEpoch(_ epoch: Int, resuming: PartialEpoch? = nil,
                         progress: (_ iteration: Int, _ loss: Double) -> Void = { _, _ in }) throws -> EpochEnd {
        let s = settings
        optimiser.lr = s.lrSchedule.rate(base: s.baseLR, epoch: epoch)
        let t0 = Date(timeIntervalSinceNow: -(resuming?.trainSeconds ?? 0))
        var sum = resuming?.lossSum ?? 0, sum2 = resuming?.lossSquareSum ?? 0
        // A run stopped during the evaluation resumes with every step done and goes straight to it.
        for it in stride(from: (resuming?.iterations ?? 0) + 1, through: s.iterations, by: 1) {
            let loss = step()
            if lastStepDiscarded {
                // Cut short by a stop request: the steps before it are kept.
                return .stopped(partial: it > 1 ? PartialEpoch(iterations: it - 1, lossSum: sum, lossSquareSum: sum2,
                                                               trainSeconds: Date().timeIntervalSince(t0)) : nil,
                                iteration: it - 1)
            }
            guard loss.isFinite else { throw TrainingError.nonFinite(epoch: epoch, iteration: it, what: "the loss") }
            guard runner.gradient.allSatisfy({ $0.isFinite }) else {
                throw TrainingError.nonFinite(epoch: epoch, iteration: it, what: "the gradient")
            }
            guard flow.parameters.allSatisfy({ $0.isFinite }) else {
                throw TrainingError.nonFinite(epoch: epoch, iteration: it, what: "a parameter after the optimiser step")
            }
            sum += loss
            sum2 += loss * loss
            progress(it, loss)
            if stopAgreed && it < s.iterations {
                return .stopped(partial: PartialEpoch(iterations: it, lossSum: sum, lossSquareSum: sum2,
                                                      trainSeconds: Date().timeIntervalSince(t0)), iteration: it)
            }
        }
        let t1 = Date()
        let evaluation = evaluate(count: s.evalSamples, round: epoch)
        var evaluationCut = [StopRequest.isRequested ? 1.0 : 0]
        if communicator.size > 1 {
            evaluationCut.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
        }
        if evaluationCut[0] > 0 {
            // Every step of the epoch is done; a resumed run does only its evaluation.
            if stopCode == 0 { stopCode = StopRequest.code }
            return .stopped(partial: PartialEpoch(iterations: s.iterations, lossSum: sum, lossSquareSum: sum2,
                                                  trainSeconds: t1.timeIntervalSince(t0)), iteration: s.iterations)
        }
        guard communicator.agree(on: flow.parameters) else { throw TrainingError.ranksDiverged(epoch: epoch) }
        let t2 = Date()
        let n = Double(s.iterations)
        let mean = sum / n
        return .finished(EpochResult(loss: mean, lossStd: max(0, sum2 / n - mean * mean).squareRoot(), evaluation: evaluation,
                                     trainSeconds: t1.timeIntervalSince(t0), evalSeconds: t2.timeIntervalSince(t1), ended: t2,
                                     stopAfter: stopAgreed))
    }

    /// The error that ends a run asked to stop, once the caller has saved. The
    /// ranks agree on the largest request, which is also a barrier: no rank
    /// exits (and makes mpirun end the job) before rank 0's checkpoint is on disk.
    public func stopped(epoch: Int, iteration: Int) -> TrainingError {
        var code = [Double(stopCode)]
        code.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
        return .interrupted(epoch: epoch, iteration: iteration, code: Int32(code[0]))
    }
}

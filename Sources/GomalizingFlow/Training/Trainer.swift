import Foundation
import Numerics

/// What the trainer reports while it runs; the CLI prints it.
public protocol TrainingObserver: AnyObject {
    /// Called after every optimisation step, with its iteration (from 1) of `total` in the epoch and its loss.
    func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double)
    /// Called after every epoch with its history record; `improved`: a new best acceptance.
    func epochFinished(_ record: EpochRecord, improved: Bool)
}

/// Why `Trainer.train()` stopped before its last epoch.
public enum TrainingError: Error, CustomStringConvertible {
    /// `what` (the loss, the gradient or a parameter) became NaN or infinite at that step.
    case nonFinite(epoch: Int, iteration: Int, what: String)
    /// The MPI ranks held different parameters after the epoch.
    case ranksDiverged(epoch: Int)
    /// Stopped on request (`Trainer.stopRequested`) after `iteration` steps of
    /// `epoch`, with the request's value (the CLI's: a signal number).
    case interrupted(epoch: Int, iteration: Int, code: Int32)
    /// One line for the CLI to print.
    public var description: String {
        switch self {
        case let .interrupted(e, i, _):
            return "interrupted at epoch \(e), iteration \(i); saved in \(Checkpoint.fileName): continue with --resume"
        case let .nonFinite(e, i, what):
            return "training stopped: \(what) is not finite at epoch \(e), iteration \(i); the last good checkpoint is kept"
        case let .ranksDiverged(e):
            return "training stopped: the MPI ranks hold different parameters after epoch \(e) (mixed builds or hardware?)"
        }
    }
}

/// Reverse-KL training of a flow for a `Config`, writing into the result folder:
/// config.toml, history.csv, model_last.safetensors, model_best.safetensors.
///
/// Data parallel over a `Communicator`: with N ranks each draws `batchsize`
/// configurations of a global batch of N * batchsize (prior draws are addressed
/// by step and index, see `PriorDraws`), gradients are summed with an
/// allreduce, and every rank applies the same optimiser step. Only rank 0 writes.
public final class Trainer {
    /// The config being trained.
    public let config: Config
    /// The Float32 flow being trained.
    public let flow: Flow<Float>
    /// The optimiser and its state (the checkpoint's when resumed).
    public private(set) var optimiser: Optimiser
    /// The epochs done so far, mirrored in history.csv by rank 0.
    public private(set) var history: History
    /// Highest evaluation acceptance so far, percent (-1 before any epoch).
    public private(set) var bestAcceptance = -1.0
    /// The largest per-epoch ESS so far (of model_best_ess.safetensors).
    public private(set) var bestESS = -1.0
    /// The MPI ranks training together (one process by default).
    public let communicator: Communicator
    /// Optimisation steps taken so far: the address of the next batch's draws.
    public private(set) var stepsDone = 0
    /// Epochs already done (by a resumed run's checkpoint).
    public private(set) var epochsDone = 0
    /// Polled after every step: a non-zero value asks training to stop (the
    /// CLI returns the number of the signal received). The step is finished, a
    /// mid-epoch checkpoint saved and `TrainingError.interrupted` thrown. Under
    /// MPI the ranks agree through the loss allreduce, so all stop at the same
    /// step, and all report the largest value any rank returned.
    ///
    /// A `StopRequest` acts sooner: it cuts the step (or the evaluation) in
    /// progress, which is discarded; the checkpoint holds the steps before it,
    /// and `--resume` repeats the discarded one exactly (draws are addressed by step).
    public var stopRequested: () -> Int32 = { 0 }
    /// Whether some rank asked to stop during the last step.
    public private(set) var stopAgreed = false
    /// Whether the last `step()` was cut short by a `StopRequest` on some rank
    /// and discarded: no optimiser update, `stepsDone` unchanged.
    public private(set) var lastStepDiscarded = false
    /// This rank's request at the last step.
    private var stopCode: Int32 = 0
    /// Steps and loss sums of an epoch that an interrupted run had started.
    private var partial: Checkpoint.PartialEpoch?
    private let trainingDraws: PriorDraws
    private let evaluationDraws: PriorDraws
    private let runner: BatchRunner<Float>
    private let action: Phi4Action
    /// Prior draws of the current batch, reused every step.
    private var z: [Float]
    /// Receives progress reports; held weakly.
    public weak var observer: TrainingObserver?
    /// The folder the run writes into, `Config.resultDirectory`.
    public let resultDirectory: URL

    /// How this trainer uses its result folder, and the config text to copy into it.
    public let folderUse: ResultFolderUse
    private let configText: String?
    /// Command-line overrides by key, e.g. "[training] epochs": "--epochs 120 (the file says 200)".
    private let overrides: [String: String]
    /// Whether `train` has set up the result folder yet.
    private var folderPrepared = false
    /// provenance.json: the earlier sessions' records and this one's (the last), root rank only.
    private var provenance = RunProvenance()
    /// The result folder's writer lock, held from the first check of the folder
    /// to the end of `train()` (root rank only).
    private var folderLock: ResultFolder.Lock?

    /// Builds everything training needs and checks the result folder, writing
    /// nothing: `train()` writes. With `.new` a folder that already holds a run
    /// is refused; with `.resume` the checkpoint is loaded and the config must
    /// define the same run (see `Config.runDefinition`); `.overwrite` replaces
    /// the run when training starts.
    public init(config: Config, configText: String? = nil, threads: Int? = nil,
                communicator: Communicator = SerialCommunicator(), folder use: ResultFolderUse = .new,
                overrides: [String: String] = [:]) throws {
        self.config = config
        self.overrides = overrides
        self.communicator = communicator
        self.configText = configText
        folderUse = use
        resultDirectory = config.resultDirectory
        let workers = threads ?? config.threads ?? defaultThreadCount()
        // Refuse configs that cannot fit before allocating anything.
        try config.checkFootprint(threads: workers)
        let arch = FlowArchitecture(spec: config.model)
        if arch.usesBatchNorm && communicator.size > 1 {
            throw InputError(file: config.sourcePath, field: "[model] use_bn",
                             "batch norm is not supported with more than one MPI rank (its batch statistics would differ per rank)")
        }
        // The folder is locked before its state is read, so that two runs cannot both find it free.
        let lock = try ResultFolder.lock(resultDirectory, communicator: communicator)
        folderLock = lock
        var resumed: Checkpoint? = nil
        var start: ModelFile.State? = nil
        do {
            switch use {
            case .new: try ResultFolder.requireNoRun(in: resultDirectory)
            case .resume:
                let checkpoint = try ResultFolder.checkpointToResume(config, arch, ranks: communicator.size)
                resumed = checkpoint
                if communicator.isRoot {
                    provenance = try RunProvenance.load(in: resultDirectory)
                    provenance.settle(checkpointEpoch: checkpoint.epoch)
                }
            case .overwrite: break
            }
            // A resumed run's weights come from its checkpoint, not from `pretrained`.
            if resumed == nil && !config.training.pretrained.isEmpty {
                start = try ResultFolder.loadPretrained(config, arch)
            }
        } catch {
            lock.release()
            throw error
        }
        flow = Flow<Float>(architecture: arch, parameters: resumed?.parameters ?? start?.parameters,
                           buffers: resumed?.buffers ?? start?.buffers)
        action = config.action
        optimiser = resumed?.optimiser ?? Optimiser(kind: config.training.optimiser, parameterCount: arch.parameterCount,
                                                    lr: config.training.baseLR, clipNorm: config.training.clipNorm)
        trainingDraws = PriorDraws(seed: config.training.seed, purpose: .training, volume: arch.lattice.volume,
                                   prior: config.training.prior)
        evaluationDraws = PriorDraws(seed: config.training.seed, purpose: .evaluation, volume: arch.lattice.volume,
                                     prior: config.training.prior)
        runner = BatchRunner(flow: flow, action: action, batchSize: config.training.batchSize,
                             threads: workers, prior: config.training.prior)
        runner.pathGradient = config.training.pathGradient
        z = [Float](repeating: 0, count: config.training.batchSize * arch.lattice.volume)
        history = History(url: resultDirectory.appendingPathComponent("history.csv"))
        if let c = resumed {
            stepsDone = c.stepsDone
            epochsDone = c.epoch
            bestAcceptance = c.bestAcceptance
            bestESS = c.history.map(\.bestESS).last ?? -1
            partial = c.partial
            try history.restore(c.history, write: false)
        }
    }

    /// model_last.safetensors: the parameters after the latest epoch.
    public var lastModelURL: URL { resultDirectory.appendingPathComponent("model_last.safetensors") }
    /// checkpoint.safetensors, what `--resume` continues from.
    public var checkpointURL: URL { resultDirectory.appendingPathComponent(Checkpoint.fileName) }
    /// Whether the run has already done every epoch the config asks for, or reached an early stop.
    public var isComplete: Bool { epochsDone >= config.training.epochs || earlyStop != nil }
    /// The early stop the history has reached, if any (see `EarlyStop`).
    public var earlyStop: EarlyStop? { EarlyStop.check(history.records, config.training) }

    /// The first write of a run, once everything is known to be valid (the
    /// folder exists and is locked): clears what killed writers left, removes a run being
    /// replaced, copies the config in, and cuts history.csv back to a resumed
    /// checkpoint's epochs (a kill may have come between the two writes).
    private func prepareFolder() throws {
        guard !folderPrepared else { return }
        folderPrepared = true
        guard communicator.isRoot else { return }
        // The folder exists: `ResultFolder.lock` made it when the trainer was built.
        StaleTemporaries.clean(in: resultDirectory)
        if folderUse == .overwrite { try ResultFolder.removeRun(in: resultDirectory) }
        if let configText {
            try AtomicFile.write(configText, to: resultDirectory.appendingPathComponent("config.toml"))
        }
        try AtomicFile.write(config.effectiveSettings(overrides: overrides, threads: runner.threads),
                             to: resultDirectory.appendingPathComponent(Config.settingsFileName))
        if folderUse == .resume { try history.restore(history.records, write: true) }
        provenance.sessions.append(.init(provenance: .current(command: "train", threads: runner.threads, ranks: communicator.size)))
        try provenance.write(in: resultDirectory)
    }

    /// Notes in provenance.json that this session has now finished `epoch`, or
    /// (nil) that it ends now.
    private func recordSession(epoch: Int?) throws {
        guard communicator.isRoot, var session = provenance.sessions.popLast() else { return }
        if let epoch {
            session.firstEpoch = session.firstEpoch ?? epoch
            session.lastEpoch = epoch
            session.lastEpochEnded = Provenance.timestamp(Date())
        } else {
            session.provenance = session.provenance.ended()
        }
        provenance.sessions.append(session)
        try provenance.write(in: resultDirectory)
    }
    /// model_best.safetensors: the parameters of the epoch with the highest acceptance.
    public var bestModelURL: URL { resultDirectory.appendingPathComponent("model_best.safetensors") }
    /// model_best_ess.safetensors: the parameters of the epoch with the highest ESS.
    public var bestESSModelURL: URL { resultDirectory.appendingPathComponent("model_best_ess.safetensors") }

    /// The gradient of the last step, averaged over ranks.
    public var gradient: [Float] { runner.gradient }

    /// One optimisation step on a fresh batch from the prior; returns the loss
    /// (the mean over the global batch).
    public func step() -> Double {
        let B = config.training.batchSize
        let N = communicator.size
        z.withUnsafeMutableBufferPointer {
            trainingDraws.fill($0.baseAddress!, step: stepsDone, first: communicator.rank * B, count: B,
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
    }

    /// Draws `count` proposals from the flow (draw `round` of the evaluation
    /// stream, shared out over ranks), runs the independence MH chain over them
    /// and returns its acceptance and the weights' diagnostics, the same on every rank.
    public func evaluate(count: Int, round: Int) -> Evaluation {
        let B = config.training.batchSize
        let N = communicator.size, r = communicator.rank
        let mine = (r * count / N)..<((r + 1) * count / N)
        var logW = [Double](repeating: 0, count: count)
        var next = mine.lowerBound
        // A stop request cuts the evaluation; `train` then discards it.
        while next < mine.upperBound && !StopRequest.isRequested {
            let n = min(B, mine.upperBound - next)
            z.withUnsafeMutableBufferPointer {
                evaluationDraws.fill($0.baseAddress!, step: round, first: next, count: n, threads: runner.threads)
            }
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
            for b in 0..<n { logW[next + b] = runner.logP[b] - runner.logQ[b] }
            next += n
        }
        communicator.allreduceSum(&logW)
        var chain = IndependenceMH()
        var uniforms = PriorDraws(seed: config.training.seed, purpose: .acceptance, volume: 1)
            .generator(step: UInt64(round), index: 0)
        for w in logW { _ = chain.offer(logWeight: w, uniform: uniforms.uniform()) }
        return Evaluation(acceptance: chain.acceptanceRate, weights: WeightDiagnostics(logWeights: logW))
    }

    /// Trains the remaining epochs; does nothing (and writes nothing) when the run is complete.
    public func train() throws {
        let tc = config.training
        guard !isComplete else { return }
        try prepareFolder()
        defer {
            if communicator.isRoot {
                try? recordSession(epoch: nil)
                StaleTemporaries.clean(in: resultDirectory)
            }
            folderLock?.release()
        }
        // Wall time continues from the resumed history, and from the steps an
        // interrupted epoch had already made.
        let start = Date(timeIntervalSinceNow: -((history.records.last?.totalSeconds ?? 0) + (partial?.trainSeconds ?? 0)))
        for epoch in (epochsDone + 1)...tc.epochs {
            // A run interrupted inside this epoch continues it: same steps, same sums.
            let resumed = partial
            partial = nil
            optimiser.lr = tc.lrSchedule.rate(base: tc.baseLR, epoch: epoch)
            let t0 = Date(timeIntervalSinceNow: -(resumed?.trainSeconds ?? 0))
            var sum = resumed?.lossSum ?? 0, sum2 = resumed?.lossSquareSum ?? 0
            // A run stopped during the evaluation resumes with every step done and goes straight to it.
            for it in stride(from: (resumed?.iterations ?? 0) + 1, through: tc.iterations, by: 1) {
                let loss = step()
                if lastStepDiscarded {
                    // Cut short by a stop request: save the steps before it.
                    if communicator.isRoot {
                        try checkpoint(partial: it > 1 ? Checkpoint.PartialEpoch(iterations: it - 1, lossSum: sum, lossSquareSum: sum2,
                                                                                 trainSeconds: Date().timeIntervalSince(t0)) : nil)
                    }
                    throw stopped(epoch: epoch, iteration: it - 1)
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
                observer?.iterationFinished(epoch: epoch, iteration: it, of: tc.iterations, loss: loss)
                if stopAgreed && it < tc.iterations {
                    if communicator.isRoot {
                        try checkpoint(partial: Checkpoint.PartialEpoch(iterations: it, lossSum: sum, lossSquareSum: sum2,
                                                                        trainSeconds: Date().timeIntervalSince(t0)))
                    }
                    throw stopped(epoch: epoch, iteration: it)
                }
            }
            let t1 = Date()
            let evaluation = evaluate(count: tc.evalSamples, round: epoch)
            var evaluationCut = [StopRequest.isRequested ? 1.0 : 0]
            if communicator.size > 1 {
                evaluationCut.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
            }
            if evaluationCut[0] > 0 {
                // Every step of the epoch is done; --resume runs only its evaluation.
                if stopCode == 0 { stopCode = StopRequest.code }
                if communicator.isRoot {
                    try checkpoint(partial: Checkpoint.PartialEpoch(iterations: tc.iterations, lossSum: sum, lossSquareSum: sum2,
                                                                    trainSeconds: t1.timeIntervalSince(t0)))
                }
                throw stopped(epoch: epoch, iteration: tc.iterations)
            }
            let acc = evaluation.acceptance, ess = evaluation.ess
            guard communicator.agree(on: flow.parameters) else { throw TrainingError.ranksDiverged(epoch: epoch) }
            let t2 = Date()
            // Every rank records the slowest rank's wall time, so that all hold
            // the same history (and agree on a wall-time stop).
            var total = [t2.timeIntervalSince(start)]
            if communicator.size > 1 {
                total.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
            }
            let n = Double(tc.iterations)
            let mean = sum / n
            let improved = acc > bestAcceptance
            if improved { bestAcceptance = acc }
            let improvedESS = ess > bestESS
            if improvedESS { bestESS = ess }
            let record = EpochRecord(
                epoch: epoch, loss: mean, lossStd: max(0, sum2 / n - mean * mean).squareRoot(),
                acceptanceRate: acc, ess: ess, bestAcceptanceRate: bestAcceptance, lr: optimiser.lr,
                trainSeconds: t1.timeIntervalSince(t0), evalSeconds: t2.timeIntervalSince(t1),
                totalSeconds: total[0], bestESS: bestESS, paretoK: evaluation.weights.paretoK,
                maxWeight: evaluation.weights.maxWeight)
            let meta = ["epoch": "\(epoch)", "acceptance_rate": "\(acc)", "ess": "\(ess)", "config": config.name,
                        "ranks": "\(communicator.size)"]
            epochsDone = epoch
            // The checkpoint goes last: it is what --resume trusts, and it holds
            // the history, so a kill between these writes loses nothing.
            if communicator.isRoot {
                if improved {
                    try ModelFile.save(flow, to: bestModelURL, extra: meta)
                }
                if improvedESS {
                    try ModelFile.save(flow, to: bestESSModelURL, extra: meta)
                }
                try ModelFile.save(flow, to: lastModelURL, extra: meta)
                try history.append(record)
                try checkpoint(partial: nil)
                try recordSession(epoch: epoch)
            } else {
                history.appendInMemory(record)
            }
            observer?.epochFinished(record, improved: improved)
            if earlyStop != nil { return }
            if stopAgreed && epoch < tc.epochs {
                throw stopped(epoch: epoch + 1, iteration: 0)
            }
        }
    }

    /// The error that ends a run asked to stop, once rank 0 has saved. The
    /// ranks agree on the largest request, which is also a barrier: no rank
    /// exits (and makes mpirun end the job) before the checkpoint is on disk.
    private func stopped(epoch: Int, iteration: Int) -> TrainingError {
        var code = [Double(stopCode)]
        code.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
        return .interrupted(epoch: epoch, iteration: iteration, code: Int32(code[0]))
    }

    /// Writes checkpoint.safetensors for the state now: after `epochsDone`
    /// epochs, plus `partial` steps of the next one.
    private func checkpoint(partial: Checkpoint.PartialEpoch?) throws {
        try Checkpoint(epoch: epochsDone, stepsDone: stepsDone, parameters: flow.parameters, buffers: flow.buffers,
                       optimiser: optimiser, bestAcceptance: bestAcceptance, history: history.records, partial: partial,
                       definition: config.runDefinition, ranks: communicator.size)
            .save(flow.architecture, to: checkpointURL)
    }
}

import Foundation
import GomalizingFlow
import Numerics

/// Reverse-KL training of a flow for a `Config`, writing into the result folder:
/// config.toml, settings.txt, history.csv, model_last.safetensors,
/// model_best.safetensors, model_best_ess.safetensors, checkpoint.safetensors
/// and provenance.json. The optimisation is the core's
/// `TrainingLoop` (data parallel over a `Communicator`); this class is the
/// result folder's lifecycle around it: the lock, resume and pretrained
/// starts, what is saved after each epoch and on a stop. Only rank 0 writes.
public final class Trainer {
    /// The config being trained.
    public let config: Config
    /// The optimisation: steps, evaluation and the stop protocol.
    public let loop: TrainingLoop
    /// The Float32 flow being trained.
    public var flow: Flow<Float> { loop.flow }
    /// The optimiser and its state (the checkpoint's when resumed).
    public var optimiser: Optimiser { loop.optimiser }
    /// The epochs done so far, mirrored in history.csv by rank 0.
    public private(set) var history: History
    /// Highest evaluation acceptance so far, percent (-1 before any epoch).
    public private(set) var bestAcceptance = -1.0
    /// The largest per-epoch ESS so far (of model_best_ess.safetensors).
    public private(set) var bestESS = -1.0
    /// The MPI ranks training together (one process by default).
    public var communicator: Communicator { loop.communicator }
    /// Optimisation steps taken so far: the address of the next batch's draws.
    public var stepsDone: Int { loop.stepsDone }
    /// Epochs already done (by a resumed run's checkpoint).
    public private(set) var epochsDone = 0
    /// Polled after every step: a non-zero value asks training to stop (the
    /// CLI returns the number of the signal received). The step is finished, a
    /// mid-epoch checkpoint saved and `TrainingError.interrupted` thrown; see
    /// `TrainingLoop.stopRequested`. A `StopRequest` acts sooner: the step or
    /// evaluation it cuts is discarded, and `--resume` repeats it exactly.
    public var stopRequested: () -> Int32 {
        get { loop.stopRequested }
        set { loop.stopRequested = newValue }
    }
    /// Whether some rank asked to stop during the last step.
    public var stopAgreed: Bool { loop.stopAgreed }
    /// Whether the last `step()` was cut short by a `StopRequest` and discarded.
    public var lastStepDiscarded: Bool { loop.lastStepDiscarded }
    /// Steps and loss sums of an epoch that an interrupted run had started.
    private var partial: Checkpoint.PartialEpoch?
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
    /// When this session started, for its `seconds`.
    private var sessionStart = Date()
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
        let flow = Flow<Float>(architecture: arch, parameters: resumed?.parameters ?? start?.parameters,
                               buffers: resumed?.buffers ?? start?.buffers)
        loop = TrainingLoop(flow: flow, target: config.target, settings: config.training, threads: workers,
                            communicator: communicator, optimiser: resumed?.optimiser, stepsDone: resumed?.stepsDone ?? 0)
        history = History(url: resultDirectory.appendingPathComponent("history.csv"))
        if let c = resumed {
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
        try AtomicFile.write(config.effectiveSettings(overrides: overrides, threads: loop.threads),
                             to: resultDirectory.appendingPathComponent(Config.settingsFileName))
        if folderUse == .resume { try history.restore(history.records, write: true) }
        provenance.sessions.append(.init(provenance: .current(command: "train", threads: loop.threads, ranks: communicator.size)))
        sessionStart = Date()
        try provenance.write(in: resultDirectory)
    }

    /// Notes in provenance.json that this session has now finished `epoch`, or
    /// (nil) that it ends now.
    private func recordSession(epoch: Int?) throws {
        guard communicator.isRoot, var session = provenance.sessions.popLast() else { return }
        session.seconds = Date().timeIntervalSince(sessionStart)
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
    public var gradient: [Float] { loop.gradient }

    /// One optimisation step on a fresh batch from the prior; returns the loss
    /// (the mean over the global batch). See `TrainingLoop.step()`.
    public func step() -> Double { loop.step() }

    /// What the per-epoch evaluation measures.
    public typealias Evaluation = TrainingLoop.Evaluation

    /// `count` fresh proposals' acceptance and weight diagnostics; see `TrainingLoop.evaluate(count:round:)`.
    public func evaluate(count: Int, round: Int) -> Evaluation { loop.evaluate(count: count, round: round) }

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
            let result: TrainingLoop.EpochResult
            switch try loop.runEpoch(epoch, resuming: resumed, progress: { [observer] it, loss in
                observer?.iterationFinished(epoch: epoch, iteration: it, of: tc.iterations, loss: loss)
            }) {
            case let .finished(r): result = r
            case let .stopped(partial, iteration):
                // Saved first: the error's agreement is the barrier that keeps every rank until it is on disk.
                if communicator.isRoot { try checkpoint(partial: partial) }
                throw loop.stopped(epoch: epoch, iteration: iteration)
            }
            let acc = result.evaluation.acceptance, ess = result.evaluation.ess
            // Every rank records the slowest rank's wall time, so that all hold
            // the same history (and agree on a wall-time stop).
            var total = [result.ended.timeIntervalSince(start)]
            if communicator.size > 1 {
                total.withUnsafeMutableBufferPointer { communicator.allreduceMax($0.baseAddress!, count: 1) }
            }
            let improved = acc > bestAcceptance
            if improved { bestAcceptance = acc }
            let improvedESS = ess > bestESS
            if improvedESS { bestESS = ess }
            let record = EpochRecord(
                epoch: epoch, loss: result.loss, lossStd: result.lossStd,
                acceptanceRate: acc, ess: ess, bestAcceptanceRate: bestAcceptance, lr: optimiser.lr,
                trainSeconds: result.trainSeconds, evalSeconds: result.evalSeconds,
                totalSeconds: total[0], bestESS: bestESS, paretoK: result.evaluation.weights.paretoK,
                maxWeight: result.evaluation.weights.maxWeight, positiveFraction: result.evaluation.positiveFraction)
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
            if result.stopAfter && epoch < tc.epochs {
                throw loop.stopped(epoch: epoch + 1, iteration: 0)
            }
        }
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

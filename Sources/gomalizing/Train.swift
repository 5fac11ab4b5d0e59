import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a flow by reverse KL; results go to <result>/<config name>/.")

    @Argument(help: "Path to a TOML config, e.g. cfgs/example2d.toml.")
    var config: String

    @OptionGroup var workers: ThreadOption
    var threads: Int? { workers.threads }

    @Option(parsing: .unconditional, help: "Override [training] epochs.", transform: Counts.parse)
    var epochs: Int?

    @Option(help: "Override [training] result (the parent folder of the result folder).")
    var result: String?

    @Flag(help: "Print only the per-epoch lines, no progress bar.")
    var quiet = false

    @Flag(help: "Machine-readable log: one JSON object per line on stdout (events start, epoch, done) instead of text.")
    var json = false

    @Flag(help: "Continue the result folder's run from checkpoint.safetensors (the config must define the same run; epochs may grow).")
    var resume = false

    @Flag(help: "Replace the run the result folder holds (its models, history, checkpoint, samples and report are removed).")
    var overwrite = false

    @OptionGroup var device: DeviceOption

    func validate() throws {
        if let epochs { try OptionChecks.count(epochs, "--epochs") }
        if result?.isEmpty == true { throw ValidationError("--result needs a folder name") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite exclude each other: continue the run, or replace it") }
    }

    func run() throws {
        let world = worldCommunicator()
        try reportingErrors(communicator: world) {
            try device.check()
            var cfg = try Config.load(path: config)
            var overrides: [String: String] = [:]
            if let epochs {
                overrides["[training] epochs"] = "--epochs \(epochs) (the config file says \(cfg.training.epochs))"
                cfg.training.epochs = epochs
            }
            if let result {
                overrides["[training] result"] = "--result \(result) (the config file says \(cfg.training.result))"
                cfg.training.result = result
            }
            let text = try Config.readText(config)
            // From here a signal asks for a clean stop (setting up a large run takes a while).
            StopSignal.install()
            let use: ResultFolderUse = resume ? .resume : overwrite ? .overwrite : .new
            let trainer = try Trainer(config: cfg, configText: text, threads: threads, communicator: world, folder: use,
                                      overrides: overrides)
            if trainer.isComplete {
                if world.isRoot && json {
                    print(JSONLine.encode([("event", "done"), ("best_acceptance_rate", trainer.bestAcceptance),
                                           ("result", trainer.resultDirectory.path), ("epochs_done", trainer.epochsDone)]))
                } else if world.isRoot, let stop = trainer.earlyStop {
                    print("nothing to do: the run in \(trainer.resultDirectory.path) \(stop) "
                        + "(to go on, raise or remove the stop in the config)")
                } else if world.isRoot {
                    print("nothing to do: the run in \(trainer.resultDirectory.path) has done \(trainer.epochsDone) epochs "
                        + "(more need a larger --epochs or [training] epochs)")
                }
                return
            }
            if StopSignal.requested { throw StopSignal.Stopped(what: "before training started; nothing written") }
            if let parent = ProcessInfo.processInfo.environment[SweepRunner.parentVariable].flatMap({ Int32($0) }) {
                // A sweep's child: stop as on SIGTERM when the sweep is gone.
                trainer.stopRequested = { StopSignal.received != 0 ? StopSignal.received : getppid() != parent ? SIGTERM : 0 }
            } else {
                trainer.stopRequested = { StopSignal.received }
            }
            let root = world.isRoot
            let printer = ProgressPrinter(epochs: cfg.training.epochs, quiet: quiet || json, json: json)
            if root { trainer.observer = printer }
            let arch = trainer.flow.architecture
            if root && json {
                print(JSONLine.encode([
                    ("event", "start"), ("config", cfg.name), ("L", cfg.physical.L), ("Nd", cfg.physical.Nd),
                    ("M2", cfg.physical.M2), ("lam", cfg.physical.lam), ("conv", arch.spec.convName),
                    ("type", arch.spec.typeName), ("parameters", arch.parameterCount), ("batchsize", cfg.training.batchSize), ("ranks", world.size),
                    ("epochs", cfg.training.epochs), ("iterations", cfg.training.iterations),
                    ("result", trainer.resultDirectory.path), ("resumed_after_epoch", trainer.epochsDone),
                ]))
            } else if root {
                let ranks = world.size > 1
                    ? "batch \(cfg.training.batchSize) per rank x \(world.size) MPI ranks"
                    : "batch \(cfg.training.batchSize)"
                print("training \(cfg.name): L=\(cfg.physical.L) Nd=\(cfg.physical.Nd) M2=\(cfg.physical.M2) lam=\(cfg.physical.lam); "
                    + "\(arch.spec.nLayers) \(ConfigCoupling.label(arch.spec.coupling))couplings, conv \(arch.spec.convLabel), \(arch.parameterCount) parameters; "
                    + "\(ranks), \(cfg.training.epochs) epochs x \(cfg.training.iterations) iterations")
                print("\(use == .overwrite ? "replacing the run in" : "writing") \(trainer.resultDirectory.path)")
                if resume { print("resuming after epoch \(trainer.epochsDone) (\(trainer.stepsDone) steps)") }
            }
            fflush(stdout)
            try trainer.train()
            withExtendedLifetime(printer) {}
            if root && json {
                print(JSONLine.encode([("event", "done"), ("best_acceptance_rate", trainer.bestAcceptance),
                                       ("result", trainer.resultDirectory.path),
                                       ("early_stop", trainer.earlyStop.map { "\($0)" } ?? "")]))
            } else if root {
                if let stop = trainer.earlyStop { print(stop) }
                print("done: best acceptance \(String(format: "%.2f", trainer.bestAcceptance))%, models in \(trainer.resultDirectory.path)")
            }
        }
        finalizeWorld()
    }
}

/// A progress bar with ETA inside each epoch (only on a terminal) and one
/// summary line per epoch.
final class ProgressPrinter: TrainingObserver {
    let epochs: Int
    let showBar: Bool
    let json: Bool
    var epochStart = Date()

    init(epochs: Int, quiet: Bool, json: Bool = false) {
        self.epochs = epochs
        self.showBar = !quiet && isatty(STDERR_FILENO) == 1
        self.json = json
    }

    func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double) {
        if iteration == 1 { epochStart = Date() }
        guard showBar, iteration % max(1, total / 50) == 0 || iteration == total else { return }
        let width = 30
        let filled = width * iteration / total
        let elapsed = Date().timeIntervalSince(epochStart)
        let eta = elapsed / Double(iteration) * Double(total - iteration)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\repoch %d/%d [%@] %d/%d loss %.4f ETA %.0fs ", epoch, epochs, bar, iteration, total, loss, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func epochFinished(_ r: EpochRecord, improved: Bool) {
        if showBar { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            print(JSONLine.encode([
                ("event", "epoch"), ("epoch", r.epoch), ("loss", r.loss), ("loss_std", r.lossStd),
                ("acceptance_rate", r.acceptanceRate), ("ess", r.ess), ("best_acceptance_rate", r.bestAcceptanceRate),
                ("lr", r.lr), ("train_seconds", r.trainSeconds), ("eval_seconds", r.evalSeconds),
                ("total_seconds", r.totalSeconds), ("improved", improved),
            ]))
        } else {
            print(String(format: "epoch %4d  loss %9.4f ± %.4f  acceptance %6.2f%%  ESS %.4f  train %.1fs  eval %.1fs%@",
                         r.epoch, r.loss, r.lossStd, r.acceptanceRate, r.ess, r.trainSeconds, r.evalSeconds, improved ? "  *best" : ""))
        }
        fflush(stdout)
    }
}

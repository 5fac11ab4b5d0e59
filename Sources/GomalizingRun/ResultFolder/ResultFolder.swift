import Foundation
import GomalizingFlow

/// How `Trainer` may use a result folder that already holds a run.
public enum ResultFolderUse: Sendable, Equatable {
    /// Start a run; refused if the folder already holds one.
    case new
    /// Continue the folder's run from its checkpoint; refused unless the config defines the same run.
    case resume
    /// Replace the folder's run (its files are removed when training starts).
    case overwrite
}

/// What a result folder holds, and the checks that keep the run in it safe
/// from a mistaken command: nothing is written before they pass.
public enum ResultFolder {
    /// Files `train` writes after an epoch; a folder holding any of them holds a run.
    public static let runFiles = [Checkpoint.fileName, "history.csv", "model_best.safetensors", "model_best_ess.safetensors",
                                   "model_last.safetensors"]

    /// Files `sample` and `report` make from a run's models under their default
    /// names. Replacing the run removes them too, so that none of them passes
    /// for the new run's.
    public static func isDerived(_ name: String) -> Bool {
        name == "report.html" || ["samples_best.", "samples_best_ess.", "samples_last."].contains { name.hasPrefix($0) }
    }

    /// Refuses a folder that holds a run, saying how to continue or replace it.
    public static func requireNoRun(in dir: URL) throws {
        let present = runFiles.filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
        guard !present.isEmpty else { return }
        guard present.contains(Checkpoint.fileName) else {
            throw InputError(file: dir.path, "already holds files of an earlier run (\(present.joined(separator: ", "))) "
                + "but no checkpoint to resume from; replace them with --overwrite")
        }
        let epochs = (try? History.read(path: dir.appendingPathComponent("history.csv").path))?["epoch"]?.count
        throw InputError(file: dir.path, "already holds a run\(epochs.map { " of \($0) epochs" } ?? ""); "
            + "continue it with --resume, or replace it with --overwrite")
    }

    /// Removes the run's files, config.toml and what was derived from its models.
    public static func removeRun(in dir: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for name in names where runFiles.contains(name) || name == "config.toml" || name == Config.settingsFileName || name == RunProvenance.fileName
            || isDerived(name) {
            do {
                try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
            } catch {
                throw InputError(file: dir.appendingPathComponent(name).path, "cannot remove the earlier run's file (permission denied?)")
            }
        }
    }

    /// A result folder's writer lock (`WriterLock`) on the root rank, and
    /// whether taking it created the folder (removed again if the run is refused).
    public final class Lock {
        let writer: WriterLock?
        let createdFolder: URL?
        init(writer: WriterLock?, createdFolder: URL?) {
            self.writer = writer
            self.createdFolder = createdFolder
        }
        /// Releases the lock; folders it created and nothing else wrote into are removed.
        public func release() {
            writer?.release()
            guard let top = createdFolder, let dir = writer?.url.deletingLastPathComponent() else { return }
            var folder = dir
            while ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? ["?"]).isEmpty {
                try? FileManager.default.removeItem(at: folder)
                if folder.standardizedFileURL.path == top.standardizedFileURL.path { break }
                folder = folder.deletingLastPathComponent()
            }
        }
        deinit { release() }
    }

    /// Takes the writer lock of result folder `dir` on the root rank, creating
    /// the folder if needed; the ranks agree on the outcome, so all refuse together.
    /// - Throws: `InputError` if the folder cannot be created or another process holds it.
    static func lock(_ dir: URL, communicator: Communicator) throws -> Lock {
        var failure: Error? = nil
        var lock: Lock? = nil
        if communicator.isRoot {
            let existed = FileManager.default.fileExists(atPath: dir.path)
            // The outermost folder this creates, removed again (if empty) when the run is refused.
            var top = dir
            while !FileManager.default.fileExists(atPath: top.deletingLastPathComponent().path) && top.path != "/" {
                top = top.deletingLastPathComponent()
            }
            do {
                do {
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                } catch {
                    throw InputError(file: dir.path, "cannot create the result folder (check [training] result and permissions)")
                }
                do {
                    lock = Lock(writer: try WriterLock.folder(dir, for: "training"), createdFolder: existed ? nil : top)
                } catch {
                    if !existed { try? FileManager.default.removeItem(at: top) }
                    throw error
                }
            } catch {
                failure = error
            }
        }
        var failed = [failure == nil ? 0.0 : 1.0]
        if communicator.size > 1 { communicator.allreduceSum(&failed) }
        if let failure { throw failure }
        guard failed[0] == 0 else { throw InputError(file: dir.path, "refused on rank 0 (it says why)") }
        return lock ?? Lock(writer: nil, createdFolder: nil)
    }

    /// The model `[training] pretrained` names. A relative path is taken from
    /// the working directory, as `[training] result` is (so that a warm start
    /// names another run's result folder the same way); an error says so.
    static func loadPretrained(_ config: Config, _ arch: FlowArchitecture) throws -> ModelFile.State {
        let path = config.training.pretrained
        let field = "[training] pretrained"
        if !FileManager.default.fileExists(atPath: path) {
            let cwd = FileManager.default.currentDirectoryPath
            var what = "\(path): no such file"
            if !path.hasPrefix("/") {
                what += " (relative paths are taken from the working directory, \(cwd)"
                let besideConfig = URL(fileURLWithPath: config.sourcePath).deletingLastPathComponent().appendingPathComponent(path)
                if FileManager.default.fileExists(atPath: besideConfig.path) {
                    what += "; there is one relative to the config's folder: \(besideConfig.standardizedFileURL.path)"
                }
                what += ")"
            }
            throw InputError(file: config.sourcePath, field: field, what + "; train the run it comes from first, or set pretrained = \"\"")
        }
        do {
            return try ModelFile.load(arch, from: path, growth: config.training.growPretrained ? .allow : .refuseNamingTheKey)
        } catch let e as InputError {
            // Name the config and key too: a bad warm start is a config's fault.
            throw InputError(file: config.sourcePath, field: field, e.description)
        }
    }

    /// The checkpoint `config` continues, after checking that the config defines
    /// the same run: every defining value, the MPI ranks and the step count.
    /// Reads only; a refusal names every difference.
    static func checkpointToResume(_ config: Config, _ arch: FlowArchitecture, ranks: Int) throws -> Checkpoint {
        let dir = config.resultDirectory
        let url = dir.appendingPathComponent(Checkpoint.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw InputError(file: url.path, "no checkpoint to resume from (train without --resume first)")
        }
        let (tensors, meta) = try SafeTensors.load(path: url.path)
        let recorded: [String: String]
        if let d = try Checkpoint.definition(in: meta, file: url.path) {
            recorded = d
        } else {
            // Checkpoints written before runs were recorded: the folder's copy of the config.
            let stored = dir.appendingPathComponent("config.toml")
            guard FileManager.default.fileExists(atPath: stored.path) else {
                throw InputError(file: url.path, "records no run definition (an older checkpoint) and \(stored.path) is missing, "
                    + "so the config cannot be checked against the run; restore that config.toml")
            }
            recorded = try Config.load(path: stored.path).runDefinition
        }
        var differences = Config.definitionDifferences(run: recorded, now: config.runDefinition)
        if let r = meta["ranks"].flatMap({ Int($0) }), r != ranks {
            differences.append("MPI ranks: \(r) in the run, \(ranks) now (the global batch is batchsize x ranks)")
        }
        guard differences.isEmpty else {
            throw InputError(file: config.sourcePath, "does not define the run in \(dir.path): \(differences.joined(separator: "; ")); "
                + "only epochs, result and [device] may change on --resume (train under another name or --result, "
                + "or replace the run with --overwrite)")
        }
        let c = try Checkpoint.decode(arch, tensors: tensors, metadata: meta, file: url.path)
        let inEpoch = c.partial?.iterations ?? 0
        // inEpoch == iterations: stopped during the epoch's evaluation, after its last step.
        guard c.stepsDone == c.epoch * config.training.iterations + inEpoch, inEpoch <= config.training.iterations else {
            throw InputError(file: url.path, field: "[training] iterations",
                             "the checkpoint made \(c.stepsDone) steps in \(c.epoch) epochs (+\(inEpoch)); the config has \(config.training.iterations) per epoch")
        }
        return c
    }
}

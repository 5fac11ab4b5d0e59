import Foundation

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
        guard c.stepsDone == c.epoch * config.training.iterations + inEpoch, inEpoch < config.training.iterations else {
            throw InputError(file: url.path, field: "[training] iterations",
                             "the checkpoint made \(c.stepsDone) steps in \(c.epoch) epochs (+\(inEpoch)); the config has \(config.training.iterations) per epoch")
        }
        return c
    }
}

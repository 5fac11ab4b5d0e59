import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// A result folder that a mistaken command cannot damage: a refused --resume
/// changes nothing, a folder holding a run is not retrained over without
/// --overwrite, and what killed writers left behind is cleared.
final class FolderSafetyTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = temporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func gomalizing(_ args: [String]) throws -> CommandResult {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runCommand(exe, args, in: dir, timeout: 300)
    }

    /// Writes `text` as dir/NAME/run.toml (configs of one run share the name "run").
    func config(_ text: String, in sub: String) throws -> String {
        let folder = dir.appendingPathComponent(sub)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("run.toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    var runFolder: URL { dir.appendingPathComponent("result/run") }

    func trainOriginal() throws -> [String: Data] {
        let original = try config(tinyConfigText(hidden: [8, 8], lam: 8, M2: -4), in: "a")
        let r = try gomalizing(["train", original, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        return folderSnapshot(runFolder)
    }

    /// A config that differs from the run on defining keys is refused, naming
    /// each difference, and leaves every file as it was; the run still samples.
    func testRefusedResumeChangesNothing() throws {
        let before = try trainOriginal()
        XCTAssertEqual(Set(before.keys), ["checkpoint.safetensors", "config.toml", "history.csv", "model_best.safetensors",
                                          "model_best_ess.safetensors", "model_last.safetensors", "provenance.json", "settings.txt"])
        let cases: [(String, [String])] = [
            (tinyConfigText(hidden: [8, 4], lam: 8, M2: -4), ["[model] hidden_sizes: [8, 8] in the run, [8, 4] now"]),
            (tinyConfigText(iterations: 7, hidden: [8, 8], lam: 8, M2: -4), ["[training] iterations: 5 in the run, 7 now"]),
            (tinyConfigText(hidden: [8, 8], lam: 6, M2: -4), ["[physical] lam: 8.0 in the run, 6.0 now"]),
            (tinyConfigText(batch: 4, hidden: [8, 8], lam: 6, M2: -3),
             ["[physical] lam", "[physical] M2: -4.0 in the run, -3.0 now", "[training] batchsize"]),
        ]
        for (k, (text, mentions)) in cases.enumerated() {
            let changed = try config(text, in: "changed\(k)")
            let r = try gomalizing(["train", changed, "--resume", "--epochs", "2", "--quiet"])
            assertOneLineError(r, mentions: mentions + ["--overwrite"])
            XCTAssertEqual(folderSnapshot(runFolder), before, "case \(k) changed the folder")
        }
        let s = try gomalizing(["sample", runFolder.path, "--n", "20", "--out", dir.appendingPathComponent("s.npy").path])
        XCTAssertEqual(s.code, 0, s.err)
        // What may change does: more epochs and other threads.
        let more = try config(tinyConfigText(hidden: [8, 8], lam: 8, M2: -4).replacingOccurrences(of: "[training]", with: "[device]\nthreads = 1\n[training]"),
                              in: "more")
        let ok = try gomalizing(["train", more, "--resume", "--epochs", "2", "--quiet"])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertEqual(try History.read(path: runFolder.appendingPathComponent("history.csv").path)["epoch"], [1, 2])
    }

    /// --resume without a checkpoint creates no folder and no file.
    func testResumeWithoutACheckpointWritesNothing() throws {
        let cfg = try config(tinyConfigText(), in: "a")
        let r = try gomalizing(["train", cfg, "--resume", "--quiet"])
        assertOneLineError(r, mentions: ["no checkpoint to resume from"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("result").path))
    }

    /// Training into a folder that holds a run is refused unless the user says
    /// --resume or --overwrite; --overwrite replaces the run and what was made
    /// from it, and leaves other files alone.
    func testTrainRefusesAFolderHoldingARunWithoutOverwrite() throws {
        let before = try trainOriginal()
        let again = try config(tinyConfigText(epochs: 2, hidden: [8, 8], lam: 8, M2: -4), in: "b")
        let r = try gomalizing(["train", again, "--quiet"])
        assertOneLineError(r, mentions: ["already holds a run of 1 epochs", "--resume", "--overwrite"])
        XCTAssertEqual(folderSnapshot(runFolder), before)

        let derived = ["samples_best.npy", "samples_best.csv", "samples_best.analysis.json", "report.html"]
        for name in derived + ["notes.txt", "hmc.npy"] {
            try Data("x".utf8).write(to: runFolder.appendingPathComponent(name))
        }
        let other = try config(tinyConfigText(epochs: 2, hidden: [4], lam: 0.5, M2: -1), in: "c")
        let o = try gomalizing(["train", other, "--overwrite", "--quiet"])
        XCTAssertEqual(o.code, 0, o.err)
        XCTAssertTrue(o.out.contains("replacing the run in"), o.out)
        let after = folderSnapshot(runFolder)
        for name in derived { XCTAssertNil(after[name], "\(name) belonged to the replaced run") }
        XCTAssertEqual(after["notes.txt"], Data("x".utf8))
        XCTAssertEqual(after["hmc.npy"], Data("x".utf8))
        XCTAssertEqual(try History.read(path: runFolder.appendingPathComponent("history.csv").path)["epoch"], [1, 2])
        XCTAssertEqual(String(decoding: after["config.toml"]!, as: UTF8.self), try String(contentsOfFile: other, encoding: .utf8))

        // Leftovers of a run killed before its first checkpoint also need --overwrite.
        try FileManager.default.removeItem(at: runFolder.appendingPathComponent(Checkpoint.fileName))
        let leftovers = try gomalizing(["train", other, "--quiet"])
        assertOneLineError(leftovers, mentions: ["no checkpoint", "--overwrite"])
    }

    /// Temporaries of killed writers go when a run starts; a live writer's stay.
    func testStaleTemporariesAreRemovedWhenARunStarts() throws {
        _ = try trainOriginal()
        // pid_max is at most 2^22 on Linux: these writers cannot be running.
        let stale = [".history.csv.tmp-2147483647", ".samples_best.npy.tmp-2147483646"]
        let live = ".model_best.safetensors.tmp-\(getpid())"
        for name in stale + [live] { try Data("partial".utf8).write(to: runFolder.appendingPathComponent(name)) }
        let more = try config(tinyConfigText(hidden: [8, 8], lam: 8, M2: -4), in: "a2")
        let r = try gomalizing(["train", more, "--resume", "--epochs", "2", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        let names = Set(folderSnapshot(runFolder).keys)
        for name in stale { XCTAssertFalse(names.contains(name), name) }
        XCTAssertTrue(names.contains(live), "a running writer's temporary is kept")
    }

    /// A checkpoint from before runs were recorded is checked against the
    /// folder's config.toml.
    func testCheckpointWithoutRunRecordIsCheckedAgainstConfigToml() throws {
        let cfg = try testConfig(name: "old", result: dir, L: 4, M2: -1, lam: 0.5, batch: 4, iterations: 3, lr: 0.001,
                                 layers: 2, hidden: [4], evalSamples: 16)
        let trainer = try Trainer(config: cfg, configText: "[training]\nseed = 1\nbatchsize = 4\nepochs = 1\niterations = 3\nbase_lr = 0.001\n"
            + "eval_samples = 16\n[physical]\nL = 4\nNd = 2\nM2 = -1\nlam = 0.5\n[model]\nn_layers = 2\nhidden_sizes = [4]\nkernel_size = 3\nseed = 2021\n")
        try trainer.train()
        let url = trainer.checkpointURL
        var old = try Checkpoint.load(trainer.flow.architecture, from: url.path)
        XCTAssertEqual(old.definition, cfg.runDefinition)
        old.definition = nil
        old.ranks = nil
        try old.save(trainer.flow.architecture, to: url)
        var changed = cfg
        changed.physical.lam = 0.7
        changed.training.seed = 2
        XCTAssertThrowsError(try Trainer(config: changed, folder: .resume)) { e in
            XCTAssertTrue("\(e)".contains("[physical] lam: 0.5 in the run, 0.7 now"), "\(e)")
            XCTAssertTrue("\(e)".contains("[training] seed: 1 in the run, 2 now"), "\(e)")
        }
        XCTAssertNoThrow(try Trainer(config: cfg, folder: .resume))
        try FileManager.default.removeItem(at: trainer.resultDirectory.appendingPathComponent("config.toml"))
        XCTAssertThrowsError(try Trainer(config: cfg, folder: .resume)) { e in
            XCTAssertTrue("\(e)".contains("config.toml is missing"), "\(e)")
        }
    }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Argument errors, sizes typed on the command line, output names and signals:
/// one line and exit status 2 for every mistake, nothing left half-written.
final class CommandLineTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = temporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func gomalizing(_ args: [String], whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runCommand(exe, args, in: dir, timeout: 300, whileRunning: whileRunning)
    }

    /// A trained tiny run in dir/result/tiny.
    func trainedFolder() throws -> URL {
        let cfg = dir.appendingPathComponent("tiny.toml")
        try tinyConfigText().write(to: cfg, atomically: true, encoding: .utf8)
        let r = try gomalizing(["train", cfg.path, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        return dir.appendingPathComponent("result/tiny")
    }

    func testArgumentErrorsAreOneLineWithStatus2() throws {
        let cases: [([String], [String])] = [
            (["trian", "x.toml"], ["unknown command 'trian'", "did you mean 'train'?"]),
            (["smaple"], ["did you mean 'sample'?"]),
            (["frobnicate"], ["unknown command 'frobnicate'", "train, sweep, watch, sample"]),
            (["sample", "x", "--n", "0"], ["--n must be >= 1"]),
            (["train", "x.toml", "--epochs", "abc"], ["'abc'", "--epochs"]),
            (["sample", "x", "--n", "3", "--seed", "-1"], ["'-1'", "--seed"]),
            (["sample", "x", "--n", "3", "--threads", "0"], ["--threads must be in 1...4096"]),
            (["sample", "x", "--n", "3", "--threads", "-2"], ["--threads must be in 1...4096, got -2"]),
            (["train", "x.toml", "--threads", "100000"], ["--threads"]),
            (["train", "x.toml", "--resume", "--overwrite"], ["exclude each other"]),
            (["train"], ["Missing expected argument"]),
            (["hmc", "x.toml", "--n", "5", "--step-size", "-0.1"], ["--step-size"]),
            (["bench", "--seconds", "0"], ["--seconds"]),
            (["watch", "x", "--interval", "0"], ["--interval"]),
            (["sweep", "x.toml", "--parallel", "0"], ["--parallel"]),
            (["sweep", "x.toml", "--list", "--tabulate"], ["exclude each other"]),
        ]
        for (args, mentions) in cases {
            let r = try gomalizing(args)
            assertOneLineError(r, mentions: mentions + ["(see gomalizing"])
        }
        assertOneLineError(try gomalizing(["sweep", "nowhere.toml"]), mentions: ["nowhere.toml", "no such file"])
        let help = try gomalizing(["sample", "--help"])
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.out.contains("USAGE: gomalizing sample"), help.out)
    }

    /// Sizes a user can type are checked before anything is allocated.
    func testSizesAreCheckedBeforeAllocating() throws {
        let run = try trainedFolder()
        assertOneLineError(try gomalizing(["sample", run.path, "--n", "10", "--batch", "10000000000"]),
                           mentions: ["--batch 10000000000", "of memory"])
        assertOneLineError(try gomalizing(["sample", run.path, "--n", "100000000000000"]), mentions: ["--n 100000000000000", "on disk"])
        assertOneLineError(try gomalizing(["hmc", dir.appendingPathComponent("tiny.toml").path, "--n", "100000000000000"]),
                           mentions: ["--n", "on disk"])
        assertOneLineError(try gomalizing(["watch", run.path, "--once", "--width", "99999999999"]), mentions: ["--width must be <= 4096"])
        assertOneLineError(try gomalizing(["watch", run.path, "--once", "--height", "99999999999"]), mentions: ["--height"])
        let ok = try gomalizing(["watch", run.path, "--once", "--width", "40", "--height", "4"])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("samples_best.npy").path))
    }

    /// Output names are checked: the .npy and its .csv cannot be the same file,
    /// a folder is not a file name, and a path that cannot be written is named
    /// as the user wrote it, in words.
    func testOutputNamesAreValidated() throws {
        let run = try trainedFolder()
        assertOneLineError(try gomalizing(["sample", run.path, "--n", "5", "--out", "x.csv"]), mentions: ["--out x.csv", ".npy"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.csv").path))
        let folder = dir.appendingPathComponent("existing.npy")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        assertOneLineError(try gomalizing(["sample", run.path, "--n", "5", "--out", folder.path]), mentions: ["is a folder"])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "\(names)")

        let chain = dir.appendingPathComponent("chain.npy")
        XCTAssertEqual(try gomalizing(["sample", run.path, "--n", "40", "--out", chain.path]).code, 0)
        let cfg = dir.appendingPathComponent("tiny.toml").path
        assertOneLineError(try gomalizing(["analyze", chain.path, "--config", cfg, "--json", chain.path]), mentions: ["--json", ".json"])
        let blocker = dir.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: blocker)
        let unwritable = blocker.appendingPathComponent("out.json").path
        let r = try gomalizing(["analyze", chain.path, "--config", cfg, "--json", unwritable])
        assertOneLineError(r, mentions: [unwritable, "is a file, not a folder"])
        XCTAssertFalse(r.err.contains(".tmp-") || r.err.contains("errno"), r.err)
        assertOneLineError(try gomalizing(["train", dir.path]), mentions: ["is a folder; expected a TOML config file"])
    }

    /// SIGTERM ends sampling cleanly: one line, 128 + 15, and no partial or temporary files.
    func testSIGTERMStopsSamplingWithoutLeavingFiles() throws {
        let run = try trainedFolder()
        try assertSIGTERMStopsCleanly(gomalizing, ["sample", run.path, "--n", "5000000", "--threads", "1"], in: dir,
                                      output: "long.npy")
    }
}

/// scripts/slurm-example.sh under stand-ins for Slurm: `srun` runs the step and
/// sends the time-limit warning (SIGUSR1) once the first epoch is saved,
/// `sbatch` records the resubmission. The next part resumes and finishes.
final class SlurmScriptTests: XCTestCase {
    func testSlurmExampleResubmitsAndResumes() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let fakes = [
            "srun": """
            #!/usr/bin/env bash
            "$@" & pid=$!
            if [ "${FAKE_WARN:-0}" = 1 ]; then
                for i in $(seq 1 3000); do [ -f "$FAKE_CHECKPOINT" ] && break; sleep 0.01; done
                sleep 0.1
                kill -USR1 $pid
            fi
            wait $pid
            """,
            "sbatch": "#!/usr/bin/env bash\necho \"$@\" >> \"$FAKE_SBATCH_LOG\"\n",
        ]
        for (name, text) in fakes {
            let url = bin.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            chmod(url.path, 0o755)
        }
        let cfg = dir.appendingPathComponent("slurm.toml")
        try tinyConfigText(epochs: 10, iterations: 3000, batch: 16).write(to: cfg, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("res/slurm")
        let log = dir.appendingPathComponent("sbatch.log")
        let bash = URL(fileURLWithPath: "/bin/bash")
        let script = repositoryRoot.appendingPathComponent("scripts/slurm-example.sh").path
        func part(_ k: Int, warn: Bool) throws -> CommandResult {
            let line = ["PATH=\(bin.path):$PATH", "SLURM_SUBMIT_DIR=\(dir.path)", "CONFIG=\(cfg.path)",
                        "RESULT=\(dir.appendingPathComponent("res").path)", "GOMALIZING=\(exe.path)", "PART=\(k)",
                        "FAKE_WARN=\(warn ? 1 : 0)", "FAKE_CHECKPOINT=\(folder.appendingPathComponent(Checkpoint.fileName).path)",
                        "FAKE_SBATCH_LOG=\(log.path)", "SCRIPT=\(script)"].map { "export \"\($0)\"" }.joined(separator: "; ")
            return try runCommand(bash, ["-c", "\(line); exec bash \(script)"], in: dir, timeout: 300)
        }
        let first = try part(1, warn: true)
        XCTAssertEqual(first.code, 0, first.out + first.err)
        XCTAssertTrue(first.out.contains("progress saved (status 138); submitting part 2"), first.out)
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains("PART=2"))
        let arch = FlowArchitecture(spec: try Config.load(path: cfg.path).model)
        let saved = try Checkpoint.load(arch, from: folder.appendingPathComponent(Checkpoint.fileName).path)
        XCTAssertLessThan(saved.epoch, 10, "stopped before the end")

        let second = try part(2, warn: false)
        XCTAssertEqual(second.code, 0, second.out + second.err)
        XCTAssertTrue(second.out.contains("--resume") && second.out.contains("training finished"), second.out)
        XCTAssertEqual(try History.read(path: folder.appendingPathComponent("history.csv").path)["epoch"], Array(1...10).map(Double.init))
        XCTAssertEqual(try String(contentsOf: log, encoding: .utf8).split(separator: "\n").count, 1, "no second resubmission")
    }
}

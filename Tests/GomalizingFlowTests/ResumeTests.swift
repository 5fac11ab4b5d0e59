import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Nothing lost: a training run killed with SIGKILL at random moments leaves
/// loadable files every time, and resuming gives the history and the model of
/// an uninterrupted run.
final class ResumeTests: XCTestCase {
    func writeConfig(_ dir: URL, epochs: Int = 30) throws -> URL {
        let url = dir.appendingPathComponent("kill.toml")
        try """
        [device]
        threads = 1
        [training]
        seed = 5
        batchsize = 16
        epochs = \(epochs)
        iterations = 1500
        base_lr = 0.002
        eval_samples = 256
        [physical]
        L = 4
        Nd = 2
        M2 = -1.0
        lam = 0.5
        [model]
        n_layers = 4
        hidden_sizes = [8]
        kernel_size = 3
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The history without its timing columns.
    func physics(_ table: [String: [Double]]) -> [[Double]] {
        ["epoch", "loss", "loss_std", "acceptance_rate", "ess", "best_acceptance_rate", "lr"].map { table[$0]! }
    }

    func testKilledAtRandomMomentsAndResumedLosesNothing() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Long enough (about 7 s on one core with the AVX2 kernels) that 20
        // kills, each after 0.05-0.55 s, come before the end.
        let cfg = try writeConfig(dir, epochs: 60)
        let reference = try runProcess(exe, ["train", cfg.path, "--quiet", "--result", dir.appendingPathComponent("ref").path])
        XCTAssertEqual(reference.code, 0, reference.err)

        let out = dir.appendingPathComponent("killed")
        let folder = out.appendingPathComponent("kill")
        let arch = FlowArchitecture(spec: try Config.load(path: cfg.path).model)
        var rng = Xoshiro256(seed: 99)
        var kills = 0, finished = false
        while kills < 20 && !finished {
            let p = Process()
            p.executableURL = exe
            let started = FileManager.default.fileExists(atPath: folder.appendingPathComponent(Checkpoint.fileName).path)
            // Killed before the first checkpoint, the folder may hold that epoch's models: replace them.
            p.arguments = ["train", cfg.path, "--quiet", "--result", out.path] + (started ? ["--resume"] : ["--overwrite"])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(50_000 + rng.uniform() * 500_000))
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
            }
            p.waitUntilExit()
            finished = p.terminationReason == .exit
            // Whatever moment it died at, what is on disk is complete and consistent.
            let ckpt = folder.appendingPathComponent(Checkpoint.fileName).path
            guard FileManager.default.fileExists(atPath: ckpt) else { continue }
            let c = try Checkpoint.load(arch, from: ckpt)
            let h = try History.read(path: folder.appendingPathComponent("history.csv").path)
            XCTAssertGreaterThanOrEqual(h["epoch"]!.count, c.epoch, "history.csv has every checkpointed epoch")
            XCTAssertNoThrow(try ModelFile.load(arch, from: folder.appendingPathComponent("model_last.safetensors").path))
            XCTAssertNoThrow(try ModelFile.load(arch, from: folder.appendingPathComponent("model_best.safetensors").path))
        }
        XCTAssertGreaterThanOrEqual(kills, 20, "the run finished before 20 kills")
        let last = try runProcess(exe, ["train", cfg.path, "--quiet", "--result", out.path, "--resume"])
        XCTAssertEqual(last.code, 0, last.err)

        let ref = dir.appendingPathComponent("ref/kill")
        XCTAssertEqual(physics(try History.read(path: folder.appendingPathComponent("history.csv").path)),
                       physics(try History.read(path: ref.appendingPathComponent("history.csv").path)))
        for f in ["model_last.safetensors", "model_best.safetensors"] {
            XCTAssertEqual(try ModelFile.load(arch, from: folder.appendingPathComponent(f).path),
                           try ModelFile.load(arch, from: ref.appendingPathComponent(f).path), f)
        }
    }

    func testResumeNeedsACheckpointAndMatchingIterations() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try writeConfig(dir, epochs: 1)
        let none = try runProcess(exe, ["train", cfg.path, "--quiet", "--resume", "--result", dir.path])
        XCTAssertEqual(none.code, 2)
        XCTAssertTrue(none.err.contains("no checkpoint to resume from"), none.err)
        XCTAssertEqual(none.err.split(separator: "\n").count, 1, none.err)

        XCTAssertEqual(try runProcess(exe, ["train", cfg.path, "--quiet", "--result", dir.path]).code, 0)
        // More epochs continue the run.
        let more = try runProcess(exe, ["train", cfg.path, "--quiet", "--resume", "--epochs", "2", "--result", dir.path])
        XCTAssertEqual(more.code, 0, more.err)
        XCTAssertEqual(try History.read(path: dir.appendingPathComponent("kill/history.csv").path)["epoch"]!, [1, 2])
        // A different number of iterations per epoch cannot continue the same run.
        let text = try String(contentsOf: cfg, encoding: .utf8).replacingOccurrences(of: "iterations = 1500", with: "iterations = 1000")
        try text.write(to: cfg, atomically: true, encoding: .utf8)
        let bad = try runProcess(exe, ["train", cfg.path, "--quiet", "--resume", "--epochs", "3", "--result", dir.path])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.err.contains("[training] iterations"), bad.err)

        let gpu = try runProcess(exe, ["train", cfg.path, "--device", "gpu"])
        XCTAssertEqual(gpu.code, 2)
        XCTAssertEqual(gpu.err.split(separator: "\n").count, 1, gpu.err)
        XCTAssertTrue(gpu.err.contains("--device gpu"), gpu.err)
    }

    /// SIGINT (Ctrl-C), SIGTERM (a scheduler's end of job) and SIGUSR1 (its
    /// early warning) each stop after the current step with one line and exit
    /// status 128 + the signal's number, saving the state inside the epoch;
    /// resuming after all three gives the uninterrupted run.
    func testStopSignalsSaveMidEpochAndResumeExactly() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try writeConfig(dir, epochs: 14)
        let reference = try runProcess(exe, ["train", cfg.path, "--quiet", "--result", dir.appendingPathComponent("ref").path])
        XCTAssertEqual(reference.code, 0, reference.err)

        let out = dir.appendingPathComponent("int")
        let ckpt = out.appendingPathComponent("kill/\(Checkpoint.fileName)").path
        let arch = FlowArchitecture(spec: try Config.load(path: cfg.path).model)
        func modified(_ path: String? = nil) -> Date? {
            (try? FileManager.default.attributesOfItem(atPath: path ?? ckpt))?[.modificationDate] as? Date
        }
        func recorded() -> Date? { modified(out.appendingPathComponent("kill/\(RunProvenance.fileName)").path) }
        var started = false
        for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGUSR1, "SIGUSR1")] {
            // A signal that lands before the next epoch's first step is done (a loaded
            // machine may not run the process for a while) stops at iteration 0 with an
            // epoch-boundary checkpoint: valid, but not the case under test, so the
            // same signal is sent again after a longer delay.
            var delay: useconds_t = 20_000
            for attempt in 1...4 {
                let before = modified()
                let r = try runCommand(exe, ["train", cfg.path, "--quiet", "--result", out.path] + (started ? ["--resume"] : []),
                                       timeout: 300) { pid in
                    // Wait for a new epoch's checkpoint and then its provenance record, the
                    // epoch's last write, and stop just after: inside the next epoch's steps
                    // (a fixed delay after the checkpoint may land in the writes that end an
                    // epoch, whose fsyncs can outlast its steps on a loaded machine).
                    poll(attempts: 5000, every: 2_000) { modified() != nil && modified() != before }
                    let checkpointTime = modified() ?? .distantFuture
                    poll(attempts: 5000, every: 1_000) { (recorded() ?? .distantPast) >= checkpointTime }
                    usleep(delay)
                    kill(pid, signal)
                }
                started = true
                XCTAssertEqual(r.code, 128 + signal, r.err)
                XCTAssertTrue(r.err.hasPrefix("interrupted at epoch") && r.err.contains("by \(name)"), r.err)
                XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
                let saved = try Checkpoint.load(arch, from: ckpt)
                XCTAssertEqual(saved.stepsDone, saved.epoch * 1500 + (saved.partial?.iterations ?? 0))
                if saved.partial != nil { break }
                XCTAssertTrue(r.err.contains("iteration 0"), r.err)
                XCTAssertLessThan(attempt, 4, "\(name) never landed inside an epoch: \(r.err)")
                delay *= 4
            }
        }

        let resumed = try runProcess(exe, ["train", cfg.path, "--quiet", "--result", out.path, "--resume"])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        let folder = out.appendingPathComponent("kill"), ref = dir.appendingPathComponent("ref/kill")
        XCTAssertEqual(physics(try History.read(path: folder.appendingPathComponent("history.csv").path)),
                       physics(try History.read(path: ref.appendingPathComponent("history.csv").path)))
        XCTAssertEqual(try ModelFile.load(arch, from: folder.appendingPathComponent("model_last.safetensors").path),
                       try ModelFile.load(arch, from: ref.appendingPathComponent("model_last.safetensors").path))
    }
}

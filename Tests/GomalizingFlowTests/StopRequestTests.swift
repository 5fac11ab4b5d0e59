import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// A stop request (the CLI's SIGINT/SIGTERM) cuts the work in progress: a
/// training step, an evaluation, a batch of proposals, an HMC trajectory. What
/// was cut is discarded, what was done is saved, and a resumed run is the
/// uninterrupted one, bit for bit.
final class StopRequestTests: XCTestCase {
    var dir: URL!

    override func setUp() {
        dir = temporaryDirectory()
        StopRequest.reset()
    }

    override func tearDown() {
        StopRequest.reset()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Requests a stop when training reaches (epoch, iteration).
    final class StopAt: TrainingObserver {
        let epoch: Int, iteration: Int
        init(epoch: Int, iteration: Int) { self.epoch = epoch; self.iteration = iteration }
        func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double) {
            if epoch == self.epoch && iteration == self.iteration { StopRequest.request(SIGTERM) }
        }
        func epochFinished(_ record: EpochRecord, improved: Bool) {}
    }

    func config(_ name: String) throws -> Config {
        try testConfig(name: name, result: dir, L: 4, M2: -1, lam: 0.5, batch: 8, iterations: 6, epochs: 3, lr: 2e-3,
                       layers: 2, hidden: [8], evalSamples: 64)
    }

    /// A request inside a step (here: before the step after iteration 2 of
    /// epoch 2) discards that step, saves the two before it, and a resume ends
    /// bit-identical to the uninterrupted run; likewise a request during the
    /// epoch's evaluation, after its last step, and one before the first step.
    func testCutStepsAndEvaluationsResumeExactly() throws {
        let reference = try Trainer(config: try config("ref"))
        try reference.train()
        for (name, epoch, iteration, savedSteps) in [("mid", 2, 2, 6 + 2), ("eval", 2, 6, 12), ("first", 1, 0, 0)] {
            let cfg = try config(name)
            let trainer = try Trainer(config: cfg)
            let stop = StopAt(epoch: epoch, iteration: iteration)
            trainer.observer = stop
            if iteration == 0 { StopRequest.request(SIGINT) }
            XCTAssertThrowsError(try trainer.train(), name) { error in
                guard case let TrainingError.interrupted(e, i, code)? = error as? TrainingError else {
                    return XCTFail("\(name): \(error)")
                }
                XCTAssertEqual(e, max(epoch, 1), name)
                XCTAssertEqual(i, iteration, name)
                XCTAssertEqual(code, iteration == 0 ? SIGINT : SIGTERM, name)
            }
            let saved = try Checkpoint.load(trainer.flow.architecture,
                                            from: cfg.resultDirectory.appendingPathComponent(Checkpoint.fileName).path)
            XCTAssertEqual(saved.stepsDone, savedSteps, name)
            XCTAssertEqual(saved.history.count, epoch - 1, "\(name): the cut epoch is not recorded")
            StopRequest.reset()
            let resumed = try Trainer(config: cfg, folder: .resume)
            try resumed.train()
            XCTAssertEqual(resumed.flow.parameters, reference.flow.parameters, name)
            // Epochs restored from the checkpoint carry history.csv's 6 digits.
            func digits(_ r: [EpochRecord]) -> [String] { r.flatMap { [$0.acceptanceRate, $0.loss, $0.ess] }.map { String(format: "%.6g", $0) } }
            XCTAssertEqual(digits(resumed.history.records), digits(reference.history.records), name)
            XCTAssertEqual(resumed.history.records.last?.loss, reference.history.records.last?.loss, name)
        }
    }

    /// The flow's passes and the batch runner return early under a request:
    /// no pullback runs, and the trainer does not apply the step.
    func testAStepCutShortChangesNothing() throws {
        let trainer = try Trainer(config: try config("step"))
        let before = trainer.flow.parameters
        StopRequest.request(SIGTERM)
        _ = trainer.step()
        XCTAssertTrue(trainer.lastStepDiscarded)
        XCTAssertEqual(trainer.stepsDone, 0)
        XCTAssertEqual(trainer.flow.parameters, before)
        StopRequest.reset()
        _ = trainer.step()
        XCTAssertFalse(trainer.lastStepDiscarded)
        XCTAssertEqual(trainer.stepsDone, 1)
        XCTAssertNotEqual(trainer.flow.parameters, before)
    }

    /// An HMC trajectory cut by a request is not counted and keeps the configuration.
    func testHMCTrajectoryStopsBetweenLeapfrogSteps() throws {
        let lattice = Lattice(L: 4, d: 2)
        var hmc = HMC(action: Phi4Action(lattice: lattice, m2: -1, lam: 0.5), stepSize: 0.1, steps: 10, seed: 3)
        for _ in 0..<5 { hmc.trajectory() }
        let phi = hmc.phi, count = hmc.trajectories
        StopRequest.request(SIGINT)
        XCTAssertFalse(hmc.trajectory())
        XCTAssertEqual(hmc.phi, phi)
        XCTAssertEqual(hmc.trajectories, count)
    }

    /// The sampler stops at the batch it cut and reports none of its steps.
    func testSamplerStopsWithinABatch() throws {
        let cfg = try config("sample")
        let flow = Flow<Float>(architecture: FlowArchitecture(spec: cfg.model))
        let sampler = FlowSampler(flow: flow, action: cfg.action, batchSize: 16, seed: 1, threads: 1)
        var steps = 0
        sampler.run(steps: 40) { _, _, _, _ in
            steps += 1
            if steps == 20 { StopRequest.request(SIGTERM) }
        }
        // The batch in progress (steps 17-32) was reported before the request; the next one is cut.
        XCTAssertEqual(steps, 32)
    }

    // MARK: The command line, with inner loops far longer than the test

    func gomalizing(_ args: [String], timeout: Double = 120, whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runCommand(exe, args, in: dir, timeout: timeout, whileRunning: whileRunning)
    }

    func waitFor(_ path: URL, _ pid: pid_t) {
        poll(attempts: 6000, every: 10_000) { FileManager.default.fileExists(atPath: path.path) || kill(pid, 0) != 0 }
    }

    /// One HMC trajectory of 10^9 leapfrog steps (hours): SIGTERM stops it
    /// between two of them, with one line, status 143 and no files.
    func testSIGTERMStopsALongHMCTrajectory() throws {
        let cfg = dir.appendingPathComponent("tiny.toml")
        try tinyConfigText().write(to: cfg, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("long.npy")
        let r = try gomalizing(["hmc", cfg.path, "--n", "5", "--steps", "1e9", "--burn-in", "0", "--out", out.path]) { pid in
            self.waitFor(WriterLock.fileLockFile(out), pid)
            usleep(200_000)
            kill(pid, SIGTERM)
        }
        XCTAssertFalse(r.timedOut, "hmc went on after SIGTERM")
        XCTAssertEqual(r.code, 143, r.err)
        XCTAssertTrue(r.err.hasPrefix("interrupted by SIGTERM: nothing written"), r.err)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(names.filter { $0.contains("long") }, [], "\(names)")
    }

    /// An epoch whose evaluation draws 3 * 10^7 proposals (minutes): SIGTERM
    /// during it stops training at once; the checkpoint holds every step of the
    /// epoch, and --resume runs just the evaluation.
    func testSIGTERMStopsALongEvaluation() throws {
        let cfg = dir.appendingPathComponent("long.toml")
        try tinyConfigText(iterations: 3).replacingOccurrences(of: "eval_samples = 64", with: "eval_samples = 30000000")
            .write(to: cfg, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("result/long")
        let r = try gomalizing(["train", cfg.path, "--quiet", "--threads", "1"]) { pid in
            self.waitFor(folder.appendingPathComponent(Config.settingsFileName), pid)
            usleep(500_000)
            kill(pid, SIGTERM)
        }
        XCTAssertFalse(r.timedOut, "training went on after SIGTERM")
        XCTAssertEqual(r.code, 143, r.err)
        XCTAssertTrue(r.err.hasPrefix("interrupted at epoch 1, iteration 3 by SIGTERM"), r.err)
        let arch = FlowArchitecture(spec: try Config.load(path: cfg.path).model)
        let saved = try Checkpoint.load(arch, from: folder.appendingPathComponent(Checkpoint.fileName).path)
        XCTAssertEqual(saved.stepsDone, 3)
        XCTAssertEqual(saved.partial?.iterations, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("history.csv").path))
    }

    /// A sweep waiting for a run that does not stop (here: stopped with
    /// SIGSTOP) ends at once on a second signal, with one line; the first one
    /// alone would wait.
    func testASecondSignalEndsASweepAtOnce() throws {
        let cfg = dir.appendingPathComponent("tiny.toml")
        try tinyConfigText(epochs: 100000, iterations: 50).write(to: cfg, atomically: true, encoding: .utf8)
        let sweep = dir.appendingPathComponent("s.toml")
        try """
        result = "\(dir.path)/sweeps"
        [[grid]]
        configs = ["\(cfg.path)"]
        seeds = [1]
        """.write(to: sweep, atomically: true, encoding: .utf8)
        var child: pid_t = 0
        let r = try gomalizing(["sweep", sweep.path, "--threads", "1"], timeout: 60) { pid in
            // The child trains once its checkpoint exists.
            let runs = self.dir.appendingPathComponent("sweeps/s")
            for _ in 0..<6000 {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
                if let run = names.first(where: { $0.hasPrefix("tiny") }),
                   FileManager.default.fileExists(atPath: runs.appendingPathComponent("\(run)/\(Checkpoint.fileName)").path) { break }
                usleep(10_000)
            }
            child = childProcess(of: pid) ?? 0
            if child > 0 { kill(child, SIGSTOP) }
            kill(pid, SIGTERM)
            usleep(1_000_000)
            kill(pid, SIGTERM)
        }
        if child > 0 {
            kill(child, SIGCONT)
            // The child stops by itself once it sees the signal and its parent gone.
            poll(attempts: 3000, every: 10_000) { kill(child, 0) != 0 }
        }
        XCTAssertGreaterThan(child, 0, "no child run found")
        XCTAssertFalse(r.timedOut, "the sweep waited on after a second signal")
        XCTAssertEqual(r.code, 143, r.err)
        XCTAssertTrue(r.err.contains("stopped at once by a second signal"), r.err)
    }
}

/// The pid of a child of `parent`, from /proc.
func childProcess(of parent: pid_t) -> pid_t? {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for name in names {
        guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")", options: .backwards) else { continue }
        let fields = stat[close.upperBound...].split(separator: " ")
        if fields.count > 1, pid_t(fields[1]) == parent { return pid }
    }
    return nil
}

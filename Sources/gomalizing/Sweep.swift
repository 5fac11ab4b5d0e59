import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

/// `gomalizing sweep FILE`: trains every run of a sweep file (see `SweepSpec`),
/// each as a child `gomalizing train` process in its own result folder under
/// the sweep's folder, and tabulates them. Rerunning the same command skips
/// finished runs and resumes interrupted ones from their checkpoints.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train a grid of runs from a sweep file, resumably; tabulate them in sweep.csv, sweep.md and sweep.html.")

    @Argument(help: "A sweep file, e.g. docs/studies/scaling-2d.sweep.toml.")
    var file: String

    @Option(parsing: .unconditional, help: "Runs trained side by side (cores are split between them).")
    var parallel = 1

    @OptionGroup var workers: ThreadOption
    var threads: Int? { workers.threads }

    @Flag(help: "Print the runs and how far each got; train nothing and write nothing.")
    var list = false

    @Flag(help: "Rewrite sweep.csv, sweep.md and sweep.html from the result folders; train nothing.")
    var tabulate = false

    @Flag(help: "Print only a line per finished run.")
    var quiet = false

    func validate() throws {
        try OptionChecks.count(parallel, "--parallel", max: 64)
        if list && tabulate { throw ValidationError("--list and --tabulate exclude each other") }
    }

    func run() throws {
        try reportingErrors {
            let spec = try SweepSpec.load(path: file)
            let machine = MachineDescription.current()
            if list {
                for run in spec.runs {
                    let s = try spec.summary(of: run)
                    print("\(run.name)  \(s.status.rawValue)  \(s.epochsDone)/\(run.config.training.epochs) epochs"
                        + (s.bestAcceptance.map { String(format: "  best acceptance %.2f%%", $0.value) } ?? ""))
                }
                print("\(spec.runs.count) runs in \(spec.folder.path)")
                return
            }
            let runner = SweepRunner(spec: spec, machine: machine, command: "gomalizing sweep \(file)",
                                     threadsPerRun: threads ?? max(1, machine.cores / parallel), parallel: parallel, quiet: quiet)
            try runner.prepareFolder()
            if tabulate {
                try runner.writeTables()
                print("wrote \(SweepTable.csvName), \(SweepTable.markdownName), \(SweepReport.fileName) and its figures in \(spec.folder.path)")
                return
            }
            StopSignal.install()
            try runner.runAll()
        }
    }
}

/// Runs the sweep's unfinished runs, `parallel` at a time, as child processes.
final class SweepRunner {
    let spec: SweepSpec
    let machine: MachineDescription
    let command: String
    let threadsPerRun: Int
    let parallel: Int
    let quiet: Bool
    /// Guards the shared state below; workers wait on it for a run to end.
    private let lock = NSCondition()
    private let spawnLock = NSLock()
    // Shared between the worker threads, under `lock`.
    private var children: [Int32] = []
    private var failures: [String] = []
    /// Runs not started yet, in the sweep's order; the names of those running.
    private var pending: [SweepSpec.Run] = []
    private var running: Set<String> = []
    /// Each run's warm-start sources among the sweep's runs (`SweepSpec.warmStartSources`).
    private var sources: [String: [String]] = [:]
    private var total = 0, finished = 0
    private var allDone = false

    init(spec: SweepSpec, machine: MachineDescription, command: String, threadsPerRun: Int, parallel: Int, quiet: Bool) {
        self.spec = spec
        self.machine = machine
        self.command = command
        self.threadsPerRun = threadsPerRun
        self.parallel = parallel
        self.quiet = quiet
    }

    var configsFolder: URL { spec.folder.appendingPathComponent("configs") }
    var logsFolder: URL { spec.folder.appendingPathComponent("logs") }

    /// The sweep folder's writer lock, held until the sweep ends: a second
    /// sweep (or `--tabulate`) of the same folder is refused while it runs.
    private var folderLock: WriterLock?

    /// The sweep's folder with a copy of the sweep file and each run's config,
    /// which is what its child `train` reads; locked first.
    func prepareFolder() throws {
        do {
            try FileManager.default.createDirectory(at: spec.folder, withIntermediateDirectories: true)
        } catch {
            throw InputError(file: spec.folder.path, "cannot create the sweep's folder (check the sweep's result and permissions)")
        }
        folderLock = try WriterLock.folder(spec.folder, for: "sweep")
        for dir in [spec.folder, configsFolder, logsFolder] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw InputError(file: dir.path, "cannot create the sweep's folder (check the sweep's result and permissions)")
            }
            StaleTemporaries.clean(in: dir)
        }
        try AtomicFile.write(try Config.readText(spec.file), to: spec.folder.appendingPathComponent("sweep.toml"))
        for run in spec.runs {
            try AtomicFile.write(run.configText, to: configsFolder.appendingPathComponent(run.name + ".toml"))
        }
    }

    func summaries() throws -> [RunSummary] { try spec.runs.map(spec.summary(of:)) }

    func writeTables() throws {
        let runs = try summaries()
        try AtomicFile.write(SweepTable.csv(spec, runs, machine: machine), to: spec.folder.appendingPathComponent(SweepTable.csvName))
        try AtomicFile.write(SweepTable.markdown(spec, runs, machine: machine),
                             to: spec.folder.appendingPathComponent(SweepTable.markdownName))
        try AtomicFile.write(SweepReport.html(spec, runs, machine: machine, command: command),
                             to: spec.folder.appendingPathComponent(SweepReport.fileName))
        for (name, svg) in SweepReport.figureFiles(SweepTable.groups(runs)) {
            try AtomicFile.write(svg, to: spec.folder.appendingPathComponent(name))
        }
    }

    func runAll() throws {
        var todo: [SweepSpec.Run] = []
        var stale: [String] = []
        for s in try summaries() {
            if !s.differences.isEmpty {
                // A run the sweep file no longer defines: neither skipped nor retrained.
                stale.append("\(s.run.name) was trained with other settings (\(s.differences.joined(separator: "; ")))")
            } else if s.isFinished {
                if !quiet { print("\(s.run.name): \(s.status.rawValue) after \(s.epochsDone) epochs, skipped") }
            } else {
                todo.append(s.run)
            }
        }
        print("sweep \(spec.name): \(spec.runs.count) runs, \(todo.count) to train, \(parallel) at a time with "
            + "\(threadsPerRun) thread\(threadsPerRun == 1 ? "" : "s") each; \(machine.description); results in \(spec.folder.path)")
        fflush(stdout)
        try writeTables()
        pending = todo
        total = todo.count
        for run in todo { sources[run.name] = spec.warmStartSources(of: run).map(\.name) }
        let forwarder = Thread { [self] in forwardSignals() }
        forwarder.start()
        // Plain threads, not a dispatch pool: each mostly waits on its child,
        // and a pool may run no more of them at once than there are cores.
        let workers = DispatchGroup()
        for _ in 0..<min(parallel, max(todo.count, 1)) {
            workers.enter()
            Thread { [self] in
                work()
                workers.leave()
            }.start()
        }
        workers.wait()
        lock.lock(); allDone = true; lock.unlock()
        try writeTables()
        if StopSignal.received != 0 {
            throw StopSignal.Stopped(what: "runs in progress saved their checkpoints; rerun the same command to continue")
        }
        failures += stale
        if !failures.isEmpty {
            // Exit 3 as for a training fault; the runs that failed are retried by a rerun.
            FileHandle.standardError.write(Data(("error: \(spec.file): \(failures.count) of \(spec.runs.count) runs failed: "
                + "\(failures.joined(separator: "; ")) (logs in \(logsFolder.path); a run trained with other settings "
                + "stays until its folder is removed or the sweep file defines it again)\n").utf8))
            throw ExitCode(3)
        }
        print("done: tables in \(spec.folder.appendingPathComponent(SweepTable.csvName).path), "
            + "\(SweepTable.markdownName) and \(SweepReport.fileName)")
    }

    enum Outcome { case finished, interrupted, failed(String) }

    /// A worker: takes the next run that may start until none is left or a
    /// stop signal came. A run whose warm start another run of the sweep
    /// trains waits until that one has ended (finished, failed or stopped).
    private func work() {
        while true {
            lock.lock()
            var pick: Int? = nil
            while pick == nil {
                guard !pending.isEmpty, StopSignal.received == 0 else { lock.unlock(); return }
                let waiting = Set(pending.map(\.name)).union(running)
                pick = pending.firstIndex { run in sources[run.name, default: []].allSatisfy { !waiting.contains($0) } }
                // Runs that wait on each other (a cycle) start in the sweep's order.
                if pick == nil && running.isEmpty { pick = 0 }
                // Timed, so that a stop signal is seen while waiting.
                if pick == nil { _ = lock.wait(until: Date(timeIntervalSinceNow: 0.5)) }
            }
            let run = pending.remove(at: pick!)
            running.insert(run.name)
            lock.unlock()
            let outcome = train(run)
            lock.lock()
            running.remove(run.name)
            finished += 1
            report(run, outcome, finished: finished, of: total)
            try? writeTables()
            lock.broadcast()
            lock.unlock()
        }
    }

    /// A line per finished run; called under the lock.
    private func report(_ run: SweepSpec.Run, _ outcome: Outcome, finished: Int, of total: Int) {
        let line: String
        switch outcome {
        case .finished:
            let s = try? spec.summary(of: run)
            line = "[\(finished)/\(total)] \(run.name): \(s?.status.rawValue ?? "?") after \(s?.epochsDone ?? 0) epochs"
                + (s?.bestAcceptance.map { String(format: ", best acceptance %.2f%%", $0.value) } ?? "")
                + (s?.reached[50].map { String(format: ", 50%% at epoch %d (%.0f s)", $0.epoch, $0.seconds) } ?? "")
        case .interrupted:
            line = "[\(finished)/\(total)] \(run.name): interrupted, saved; rerun the sweep to continue it"
        case let .failed(why):
            failures.append("\(run.name): \(why)")
            line = "[\(finished)/\(total)] \(run.name): failed: \(why)"
        }
        print(line)
        fflush(stdout)
    }

    /// One child `gomalizing train`: --resume when the folder holds a
    /// checkpoint; --overwrite when it holds only what a run killed inside its
    /// first epoch wrote (nothing to resume from); refused when it holds more
    /// epochs but no checkpoint, which only a deleted file explains. The
    /// child's output goes to logs/RUN.log.
    private func train(_ run: SweepSpec.Run) -> Outcome {
        let folder = spec.folder.appendingPathComponent(run.name)
        let present = ResultFolder.runFiles.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        var args = ["train", configsFolder.appendingPathComponent(run.name + ".toml").path, "--json", "--threads", "\(threadsPerRun)"]
        if present.contains(Checkpoint.fileName) {
            args.append("--resume")
        } else if !present.isEmpty {
            let epochs = (try? History.read(path: folder.appendingPathComponent("history.csv").path))?["epoch"]?.count ?? 0
            guard epochs <= 1 else {
                return .failed("\(folder.path) holds \(epochs) epochs but no \(Checkpoint.fileName) to resume from; "
                    + "restore it, or remove the folder to train the run anew")
            }
            args.append("--overwrite")
        }
        let p = Process()
        p.executableURL = SweepRunner.executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env[SweepRunner.parentVariable] = "\(getpid())"
        p.environment = env
        let log = LogFile(logsFolder.appendingPathComponent(run.name + ".log"))
        log.write(Data("# \(ISO8601DateFormatter().string(from: Date())) gomalizing \(args.joined(separator: " "))\n".utf8))
        // Pipes are made and the child spawned under one lock: a child spawned
        // meanwhile by another worker would inherit this one's pipe ends (they
        // are not close-on-exec) and hold them open, so this worker would wait
        // for the other run to end before it saw end-of-file.
        let out = Pipe(), err = Pipe()
        spawnLock.lock()
        p.standardOutput = out
        p.standardError = err
        do {
            try p.run()
        } catch {
            spawnLock.unlock()
            return .failed("cannot start \(SweepRunner.executable.path): \(error.localizedDescription)")
        }
        try? out.fileHandleForWriting.close()
        try? err.fileHandleForWriting.close()
        spawnLock.unlock()
        lock.lock()
        children.append(p.processIdentifier)
        // A stop signal that came while it started was not forwarded to it.
        if StopSignal.received != 0 { kill(p.processIdentifier, StopSignal.received) }
        lock.unlock()
        if !quiet { print("\(run.name): training (\(args.contains("--resume") ? "resumed" : "new"))"); fflush(stdout) }
        // stderr on a thread of its own, to its end; only its last lines are kept.
        let errTail = LockedText()
        let errDone = DispatchSemaphore(value: 0)
        Thread {
            while true {
                let d = err.fileHandleForReading.availableData
                if d.isEmpty { break }
                log.write(d)
                errTail.append(String(decoding: d, as: UTF8.self))
            }
            errDone.signal()
        }.start()
        var pending = Data()
        var best = (try? spec.summary(of: run))?.bestAcceptance?.value ?? -1
        while true {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            log.write(d)
            pending.append(d)
            while let nl = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...nl)
                if !quiet { progress(run, line, best: &best) }
            }
        }
        p.waitUntilExit()
        errDone.wait()
        log.close()
        lock.lock(); children.removeAll { $0 == p.processIdentifier }; lock.unlock()
        let status = p.terminationStatus
        if p.terminationReason == .exit && status == 0 { return .finished }
        if p.terminationReason == .exit && status > 128 { return .interrupted }
        let last = errTail.value.split(whereSeparator: \.isNewline).last.map(String.init)
        let reason = p.terminationReason == .uncaughtSignal ? "killed by signal \(status)" : "exit status \(status)"
        return .failed((last.map { "\($0) " } ?? "") + "(\(reason))")
    }

    /// Every tenth epoch's line, and the first to reach each threshold.
    private func progress(_ run: SweepSpec.Run, _ line: String, best: inout Double) {
        guard line.contains("\"event\":\"epoch\""),
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let epoch = obj["epoch"] as? Int, let acc = obj["acceptance_rate"] as? Double else { return }
        let seconds = obj["total_seconds"] as? Double ?? 0
        let crossed = spec.thresholds.contains { acc >= $0 && best < $0 }
        best = max(best, acc)
        guard epoch % 10 == 0 || crossed else { return }
        lock.lock()
        print(String(format: "  %@ epoch %d: acceptance %.2f%%, ESS %.4f, %.0f s", run.name, epoch, acc, obj["ess"] as? Double ?? .nan, seconds))
        fflush(stdout)
        lock.unlock()
    }

    /// Passes a stop signal the sweep receives on to its children, which save
    /// their checkpoints and exit; no new run starts after it.
    private func forwardSignals() {
        var sent = false
        while !lock.withLock({ allDone }) {
            usleep(100_000)
            let sig = StopSignal.received
            if sig != 0 && !sent {
                sent = true
                lock.lock()
                for pid in children { kill(pid, sig) }
                lock.unlock()
            }
        }
    }

    /// A child polls its parent: when the sweep dies (even by SIGKILL) the
    /// child stops as on SIGTERM, saving its progress.
    static let parentVariable = "GOMALIZING_STOP_WITH_PARENT"

    /// This program: on Linux /proc/self/exe, which starts the same binary
    /// even when a rebuild has replaced the file since the sweep started.
    static var executable: URL {
        if FileManager.default.fileExists(atPath: "/proc/self/exe") { return URL(fileURLWithPath: "/proc/self/exe") }
        return URL(fileURLWithPath: CommandLine.arguments[0])
    }
}

/// Text that a pipe's reader appends to on another thread; keeps the last 8 kB.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func append(_ s: String) {
        lock.lock()
        text += s
        if text.utf8.count > 16_384 { text = String(text.suffix(8_192)) }
        lock.unlock()
    }
    var value: String { lock.lock(); defer { lock.unlock() }; return text }
}

/// A run's log, appended to from the threads that read its child's output.
final class LogFile: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: FileHandle?

    init(_ url: URL) {
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        handle = try? FileHandle(forWritingTo: url)
        _ = try? handle?.seekToEnd()
    }

    func write(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        try? handle?.write(contentsOf: d)
    }

    func close() {
        lock.lock(); defer { lock.unlock() }
        try? handle?.close()
        handle = nil
    }
}

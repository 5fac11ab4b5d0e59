import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// What produced a result is recorded: provenance.json in a result folder (one
/// record per training session), a sidecar beside every .npy, and both in an analysis.
final class ProvenanceTests: XCTestCase {
    /// The commit of the checkout the tests were built from, if it is one (git run here).
    func checkoutCommit() -> String? {
        guard let git = ["/usr/bin/git", "/usr/local/bin/git", "/opt/homebrew/bin/git"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { return nil }
        guard let r = try? runProcess(URL(fileURLWithPath: git), ["-C", repositoryRoot.path, "rev-parse", "HEAD"]),
              r.code == 0 else { return nil }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func date(_ s: String?) throws -> Date {
        let f = ISO8601DateFormatter()
        return try XCTUnwrap(s.flatMap { f.date(from: $0) }, "not an ISO 8601 time: \(s ?? "nil")")
    }

    /// The fields of one record as this process would write them.
    func assertDescribesThisBuild(_ p: Provenance, command: String, threads: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(p.program, "gomalizing", file: file, line: line)
        XCTAssertEqual(p.version, Provenance.version, file: file, line: line)
        XCTAssertEqual(p.command, command, file: file, line: line)
        #if DEBUG
        XCTAssertEqual(p.build, "debug", file: file, line: line)
        #else
        XCTAssertEqual(p.build, "release", file: file, line: line)
        #endif
        XCTAssertEqual(p.cpu, MachineDescription.current().cpu, file: file, line: line)
        XCTAssertEqual(p.cores, ProcessInfo.processInfo.activeProcessorCount, file: file, line: line)
        XCTAssertEqual(p.threads, threads, file: file, line: line)
        XCTAssertEqual(p.ranks, 1, file: file, line: line)
        if let commit = checkoutCommit() {
            XCTAssertEqual(p.gitCommit, commit, "the build records the checkout's commit", file: file, line: line)
            XCTAssertNotNil(p.gitTreeDirty, file: file, line: line)
        } else {
            XCTAssertNil(p.gitCommit, file: file, line: line)
        }
        let started = try date(p.started), ended = try date(p.ended)
        XCTAssertLessThanOrEqual(started, ended, file: file, line: line)
        XCTAssertLessThan(abs(ended.timeIntervalSinceNow), 600, file: file, line: line)
    }

    /// A run records each session that trained it, with the epochs it did;
    /// --overwrite starts the record again; a broken record stops a resume
    /// with a one-line error before anything is written.
    func testResultFolderRecordsEverySession() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func config(epochs: Int) throws -> Config {
            try Config.parse(tinyConfigText(epochs: epochs, iterations: 3, extra: "result = \"\(dir.path)\""), file: "p.toml", name: "p")
        }
        let first = try Trainer(config: config(epochs: 2), threads: 1)
        try first.train()
        var record = try RunProvenance.load(in: first.resultDirectory)
        XCTAssertEqual(record.sessions.count, 1)
        try assertDescribesThisBuild(record.sessions[0].provenance, command: "train", threads: 1)
        XCTAssertEqual(record.sessions[0].firstEpoch, 1)
        XCTAssertEqual(record.sessions[0].lastEpoch, 2)
        XCTAssertLessThanOrEqual(try date(record.sessions[0].lastEpochEnded), try date(record.sessions[0].provenance.ended))

        let second = try Trainer(config: config(epochs: 4), threads: 2, folder: .resume)
        try second.train()
        record = try RunProvenance.load(in: second.resultDirectory)
        XCTAssertEqual(record.sessions.count, 2)
        try assertDescribesThisBuild(record.sessions[1].provenance, command: "train", threads: 2)
        XCTAssertEqual([record.sessions[1].firstEpoch, record.sessions[1].lastEpoch], [3, 4])
        XCTAssertLessThanOrEqual(try date(record.sessions[0].provenance.ended), try date(record.sessions[1].provenance.started))

        // A resume with nothing left to do adds no session.
        try Trainer(config: config(epochs: 4), threads: 1, folder: .resume).train()
        XCTAssertEqual(try RunProvenance.load(in: second.resultDirectory).sessions.count, 2)

        let url = second.resultDirectory.appendingPathComponent(RunProvenance.fileName)
        try "{\"sessions\": 3}".write(to: url, atomically: true, encoding: .utf8)
        let before = folderSnapshot(second.resultDirectory)
        XCTAssertThrowsError(try Trainer(config: config(epochs: 5), threads: 1, folder: .resume)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(url.path) && message.contains("not a provenance record"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        XCTAssertEqual(folderSnapshot(second.resultDirectory), before, "nothing written")

        let fresh = try Trainer(config: config(epochs: 1), threads: 1, folder: .overwrite)
        try fresh.train()
        record = try RunProvenance.load(in: fresh.resultDirectory)
        XCTAssertEqual(record.sessions.count, 1)
        XCTAssertEqual([record.sessions[0].firstEpoch, record.sessions[0].lastEpoch], [1, 1])
    }

    /// A session killed after its checkpoint but before its record: the
    /// resumed checkpoint's epoch completes the record.
    func testKilledSessionIsSettledByTheCheckpoint() {
        let p = Provenance.current(command: "train", threads: 1)
        var record = RunProvenance(sessions: [.init(provenance: p.ended(), firstEpoch: 1, lastEpoch: 3, lastEpochEnded: p.started),
                                              .init(provenance: p, firstEpoch: 4, lastEpoch: 5, lastEpochEnded: p.started)])
        record.settle(checkpointEpoch: 6)
        XCTAssertEqual(record.sessions.map(\.firstEpoch), [1, 4])
        XCTAssertEqual(record.sessions.map(\.lastEpoch), [3, 6])
        record.sessions[1] = .init(provenance: p, firstEpoch: nil, lastEpoch: nil, lastEpochEnded: nil)
        record.settle(checkpointEpoch: 4)
        XCTAssertEqual(record.sessions[1].firstEpoch, 4)
        XCTAssertEqual(record.sessions[1].lastEpoch, 4)
        record.settle(checkpointEpoch: 4)
        XCTAssertEqual(record.sessions[1].lastEpoch, 4, "a complete record stays as it is")
        XCTAssertNil(record.sessions[1].provenance.ended, "no end is made up for a killed session")
    }

    /// The CLI: --version names the version and the source; hmc and sample write
    /// a sidecar beside the .npy; analyze records itself and the chain's record;
    /// a broken sidecar is a one-line error naming it.
    func testCommandsRecordTheirProvenance() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let version = try runProcess(exe, ["--version"])
        XCTAssertEqual(version.code, 0)
        XCTAssertTrue(version.out.hasPrefix("gomalizing \(Provenance.version) ("), version.out)
        if let commit = checkoutCommit() { XCTAssertTrue(version.out.contains(commit), version.out) }

        let cfg = dir.appendingPathComponent("c.toml")
        try tinyConfigText(epochs: 1, iterations: 3, extra: "result = \"\(dir.path)\"").write(to: cfg, atomically: true, encoding: .utf8)
        let chain = dir.appendingPathComponent("h.npy")
        let h = try runProcess(exe, ["hmc", cfg.path, "--n", "40", "--burn-in", "5", "--out", chain.path])
        XCTAssertEqual(h.code, 0, h.err)
        let sidecar = dir.appendingPathComponent("h.provenance.json")
        try assertDescribesThisBuild(XCTUnwrap(Provenance.loadIfPresent(sidecar)), command: "hmc", threads: 1)

        let a = try runProcess(exe, ["analyze", chain.path, "--config", cfg.path])
        XCTAssertEqual(a.code, 0, a.err)
        let obs = try Observables.load(path: dir.appendingPathComponent("h.analysis.json").path)
        try assertDescribesThisBuild(XCTUnwrap(obs.provenance), command: "analyze", threads: 1)
        XCTAssertEqual(obs.samplesProvenance, try Provenance.loadIfPresent(sidecar))

        XCTAssertEqual(try runProcess(exe, ["train", cfg.path, "--threads", "1"]).code, 0)
        let run = dir.appendingPathComponent("c")
        let trained = try XCTUnwrap(RunProvenance.load(in: run).sessions.first).provenance
        try assertDescribesThisBuild(trained, command: "train", threads: 1)
        XCTAssertEqual(try runProcess(exe, ["report", run.path]).code, 0)
        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Provenance</h2>") && html.contains(SVGPlot.escape(trained.source)), "the report lists the session")
        let s = try runProcess(exe, ["sample", run.path, "--n", "30", "--threads", "2"])
        XCTAssertEqual(s.code, 0, s.err)
        try assertDescribesThisBuild(XCTUnwrap(Provenance.loadIfPresent(run.appendingPathComponent("samples_best.provenance.json"))),
                                     command: "sample", threads: 2)

        let sampled = try XCTUnwrap(Provenance.loadIfPresent(run.appendingPathComponent("samples_best.provenance.json")))
        XCTAssertEqual(sampled.details?["model"], run.appendingPathComponent("model_best.safetensors").path)
        XCTAssertEqual(sampled.details?["rows"], "30")
        XCTAssertEqual(try Provenance.loadIfPresent(sidecar)?.details?["rows"], "40")

        // An analysis may not overwrite the chain's record, and a record of another chain is refused.
        let clash = try runProcess(exe, ["analyze", chain.path, "--config", cfg.path, "--json", sidecar.path])
        XCTAssertEqual(clash.code, 2)
        XCTAssertTrue(clash.err.contains("provenance record") && clash.err.split(separator: "\n").count == 1, clash.err)
        let shorter = dir.appendingPathComponent("short.npy")
        XCTAssertEqual(try runProcess(exe, ["hmc", cfg.path, "--n", "30", "--burn-in", "5", "--out", shorter.path]).code, 0)
        try FileManager.default.removeItem(at: chain)
        try FileManager.default.copyItem(at: shorter, to: chain)
        let other = try runProcess(exe, ["analyze", chain.path, "--config", cfg.path])
        XCTAssertEqual(other.code, 2)
        XCTAssertTrue(other.err.contains(sidecar.path) && other.err.contains("not that chain's record"), other.err)

        try "not json".write(to: sidecar, atomically: true, encoding: .utf8)
        let bad = try runProcess(exe, ["analyze", chain.path, "--config", cfg.path])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.err.hasPrefix("error: ") && bad.err.contains(sidecar.path) && bad.err.split(separator: "\n").count == 1, bad.err)
    }
}

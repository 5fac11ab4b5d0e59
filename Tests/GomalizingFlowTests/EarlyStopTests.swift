import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// [training] stop_at_acceptance and stop_after_seconds end a run early; the
/// stop is read off the history, so resuming with the stop removed goes on
/// exactly as an uninterrupted run.
final class EarlyStopTests: XCTestCase {
    func config(_ dir: URL, name: String, extra: String) throws -> Config {
        try Config.parse(tinyConfigText(epochs: 8, iterations: 20, batch: 16, extra: extra + "\nresult = \"\(dir.path)\""),
                         file: "\(name).toml", name: name)
    }

    /// As history.csv and the checkpoint hold them (6 significant digits).
    func physics(_ r: [EpochRecord]) -> [[String]] {
        r.map { [$0.loss, $0.lossStd, $0.acceptanceRate, $0.ess].map { String(format: "%.6g", $0) } }
    }

    func testStopAtAcceptanceEndsAfterTheFirstEpochThatReachesIt() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = try Trainer(config: config(dir, name: "ref", extra: ""))
        try reference.train()
        let acc = reference.history.records.map(\.acceptanceRate)
        // The first epoch after the first that beats every earlier one.
        guard let e = (1..<acc.count).first(where: { i in acc[i] > acc[..<i].max()! }) else {
            throw XCTSkip("acceptance never rose in this run: \(acc)")
        }
        let threshold = (acc[e] + acc[..<e].max()!) / 2
        let stopped = try Trainer(config: config(dir, name: "stop", extra: "stop_at_acceptance = \(threshold)"))
        try stopped.train()
        XCTAssertEqual(stopped.epochsDone, e + 1)
        // The stop compares the value as history.csv records it.
        XCTAssertEqual(stopped.earlyStop, .acceptance(epoch: e + 1, reached: Double(String(format: "%.6g", acc[e]))!, threshold: threshold))
        XCTAssertTrue(stopped.isComplete)
        XCTAssertEqual(physics(stopped.history.records), physics(Array(reference.history.records.prefix(e + 1))))
        XCTAssertTrue("\(stopped.earlyStop!)".contains("stop_at_acceptance"))
        // Resumed without the stop, the run is the uninterrupted one.
        let resumed = try Trainer(config: config(dir, name: "stop", extra: ""), folder: .resume)
        XCTAssertFalse(resumed.isComplete)
        try resumed.train()
        XCTAssertEqual(physics(resumed.history.records), physics(reference.history.records))
    }

    func testStopAfterSecondsAndTheCommandLine() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = try Trainer(config: config(dir, name: "budget", extra: "stop_after_seconds = 1e-9"))
        try t.train()
        XCTAssertEqual(t.epochsDone, 1)
        guard case .wallTime(1, _, 1e-9)? = t.earlyStop else { return XCTFail("\(String(describing: t.earlyStop))") }

        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let cfg = dir.appendingPathComponent("cli.toml")
        try tinyConfigText(epochs: 5, extra: "stop_after_seconds = 0.000001").write(to: cfg, atomically: true, encoding: .utf8)
        let first = try runCommand(exe, ["train", cfg.path, "--quiet", "--result", dir.path])
        XCTAssertEqual(first.code, 0, first.err)
        XCTAssertTrue(first.out.contains("stopped after epoch 1:"), first.out)
        let again = try runCommand(exe, ["train", cfg.path, "--quiet", "--resume", "--result", dir.path])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertTrue(again.out.contains("nothing to do") && again.out.contains("stop_after_seconds"), again.out)
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("cli/settings.txt"), encoding: .utf8)
            .contains("[training] stop_after_seconds = 1e-06"))
    }

    func testBadStopValuesAreOneLineErrors() {
        for (line, key) in [("stop_at_acceptance = 0", "stop_at_acceptance"), ("stop_at_acceptance = 101", "stop_at_acceptance"),
                            ("stop_at_acceptance = \"half\"", "stop_at_acceptance"), ("stop_after_seconds = -5", "stop_after_seconds"),
                            ("stop_after_seconds = nan", "stop_after_seconds")] {
            assertConfigError(try Config.parse(tinyConfigText(extra: line), file: "bad.toml", name: "bad"),
                              mentions: ["bad.toml", "[training] \(key)"], line)
        }
    }
}

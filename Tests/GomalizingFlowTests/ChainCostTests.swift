import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Cost per independent sample (issue 31): a chain's core-seconds from its
/// record, × 2 tau_int per configuration; training amortised; break-even.
final class ChainCostTests: XCTestCase {
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

    func record(started: String = "2026-12-04T10:00:00Z", ended: String? = "2026-12-04T10:00:10Z", threads: Int = 2, ranks: Int = 3,
                details: [String: String]?) -> Provenance {
        Provenance(program: "gomalizing", version: Provenance.version, gitCommit: nil, gitTreeDirty: nil, build: "release",
                   cpu: "test", cores: 2, threads: threads, ranks: ranks, command: "hmc", started: started, ended: ended,
                   details: details)
    }

    /// The record's clock, else its timestamps; threads and ranks multiply; an
    /// observable's cost is the configuration's × 2 tau_int.
    func testChainCostFromARecord() throws {
        let measured = try XCTUnwrap(ChainCost(record: record(details: ["rows": "1000", "seconds": "4.5"])))
        XCTAssertEqual(measured.clock, "measured")
        XCTAssertEqual(measured.coreSeconds, 4.5 * 6)
        XCTAssertEqual(measured.perConfiguration, 0.027, accuracy: 1e-15)
        XCTAssertEqual(measured.perIndependentSample(tauInt: 0.5), measured.perConfiguration, "independent: 2 tau_int = 1")
        XCTAssertEqual(measured.perIndependentSample(tauInt: 5), 0.27, accuracy: 1e-14)
        let stamped = try XCTUnwrap(ChainCost(record: record(details: ["rows": "10"])))
        XCTAssertEqual(stamped.clock, "timestamps")
        XCTAssertEqual(stamped.coreSeconds, 60)
        // No rows, no end, an end before the start, a negative clock: no cost rather than a wrong one.
        XCTAssertNil(ChainCost(record: record(details: ["seconds": "3"])))
        XCTAssertNil(ChainCost(record: record(ended: nil, details: ["rows": "10"])))
        XCTAssertNil(ChainCost(record: record(ended: "2026-12-04T09:00:00Z", details: ["rows": "10"])))
        XCTAssertNil(ChainCost(record: record(ended: "2026-12-04T10:00:00Z", details: ["rows": "10"])), "under a second: unknown, not 0")
        XCTAssertNotNil(ChainCost(record: record(details: ["rows": "10", "seconds": "-1"])), "a bad clock falls back to the timestamps")
        XCTAssertEqual(ChainCost(record: record(details: ["rows": "10", "seconds": "nan"]))?.clock, "timestamps")
        XCTAssertNil(ChainCost(record: record(details: ["rows": "0", "seconds": "1"])))
    }

    /// Training adds its core-seconds spread over the samples; the break-even
    /// number pays it back exactly, and does not exist where the flow is dearer.
    func testTrainingAmortisedAndBreakEven() {
        let t = TrainingCost(coreSeconds: 100, sessions: 1, sources: ["r"])
        XCTAssertEqual(t.amortised(0.01, over: 1e4), 0.02, accuracy: 1e-15)
        let n = try! XCTUnwrap(t.breakEven(this: 0.01, other: 0.05))
        XCTAssertEqual(n, 2500, accuracy: 1e-9)
        XCTAssertEqual(t.amortised(0.01, over: n), 0.05, accuracy: 1e-15, "at break-even both cost the same")
        XCTAssertNil(t.breakEven(this: 0.05, other: 0.05))
        XCTAssertNil(t.breakEven(this: 0.06, other: 0.05))
        XCTAssertNil(t.breakEven(this: .nan, other: 0.05))
    }

    /// Every session of a result folder counts, a killed one to its last epoch;
    /// a folder without a record is refused in one line.
    func testTrainingCostFromResultFolders() throws {
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let done = record(ended: "2026-12-04T10:01:40Z", threads: 2, ranks: 1, details: nil)  // 100 s x 2
        let killed = record(started: "2026-12-04T11:00:00Z", ended: nil, threads: 1, ranks: 2, details: nil)
        try RunProvenance(sessions: [.init(provenance: done, firstEpoch: 1, lastEpoch: 5),
                                     .init(provenance: killed, firstEpoch: 6, lastEpoch: 7, lastEpochEnded: "2026-12-04T11:00:30Z")])
            .write(in: a)  // + 30 s x 2
        try RunProvenance(sessions: [.init(provenance: record(ended: "2026-12-04T10:00:05Z", threads: 1, ranks: 1, details: nil)),
                                     .init(provenance: record(ended: "2026-12-04T10:00:05Z", threads: 4, ranks: 1, details: nil),
                                           seconds: 0.25)])
            .write(in: b)  // + 5 s by the timestamps, + 0.25 s x 4 by the session's own clock
        let t = try TrainingCost(resultFolders: [a.path, b.path, b.path + "/"])
        XCTAssertEqual(t.coreSeconds, 200 + 60 + 5 + 1, "a folder named twice counts once")
        XCTAssertEqual(t.sessions, 4)
        let c = dir.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: c, withIntermediateDirectories: true)
        try RunProvenance(sessions: [.init(provenance: record(ended: nil, details: nil))]).write(in: c)
        XCTAssertThrowsError(try TrainingCost(resultFolders: [c.path]), "a session with no duration: unknown, not 0")
        XCTAssertThrowsError(try TrainingCost(resultFolders: [dir.appendingPathComponent("none").path])) { error in
            XCTAssertTrue("\(error)".contains("provenance.json") && "\(error)".contains("--training"), "\(error)")
        }
    }

    /// hmc records its clock; analyze prints, stores and tabulates each
    /// observable's cost; --compare gives the ratio, --training the break-even.
    func testAnalyzeReportsCostsRatiosAndBreakEven() throws {
        let cfg = dir.appendingPathComponent("tiny.toml")
        try tinyConfigText(epochs: 1).write(to: cfg, atomically: true, encoding: .utf8)
        // a: a flow chain, b: HMC.
        let train = try gomalizing(["train", cfg.path, "--quiet"])
        XCTAssertEqual(train.code, 0, train.err)
        for args in [["sample", "result/tiny", "--n", "400", "--seed", "1", "--out", "a.npy"],
                     ["hmc", cfg.path, "--n", "400", "--burn-in", "20", "--seed", "2", "--out", "b.npy"]] {
            let r = try gomalizing(args)
            XCTAssertEqual(r.code, 0, r.err)
        }
        let rec = try XCTUnwrap(try Provenance.loadIfPresent(dir.appendingPathComponent("a.provenance.json")))
        let seconds = try XCTUnwrap(rec.details?["seconds"].flatMap(Double.init))
        XCTAssertGreaterThan(seconds, 0)
        XCTAssertGreaterThan(try XCTUnwrap(try Provenance.loadIfPresent(dir.appendingPathComponent("b.provenance.json"))?
            .details?["seconds"].flatMap(Double.init)), 0, "hmc records its clock too")
        XCTAssertEqual(try gomalizing(["analyze", "b.npy", "--config", cfg.path]).code, 0)
        // The training is charged to a flow chain only.
        assertOneLineError(try gomalizing(["analyze", "b.npy", "--config", cfg.path, "--training", "result/tiny", "--overwrite"]),
                           mentions: ["--training", "b.npy is not a flow chain", "`hmc`"])
        let r = try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--compare", "b.analysis.json",
                                "--training", "result/tiny", "--amortise", "1e4"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("cost: ") && r.out.contains("for 400 configurations"), r.out)
        XCTAssertTrue(r.out.contains("amortised over 10000 independent samples"), r.out)
        XCTAssertTrue(r.out.contains("cost ratio") && r.out.contains("break-even samples"), r.out)
        let obs = try Observables.load(path: dir.appendingPathComponent("a.analysis.json").path)
        let cost = try XCTUnwrap(obs.cost)
        XCTAssertEqual(cost.wallSeconds, seconds)
        XCTAssertEqual(cost.configurations, 400)
        let chi2 = try XCTUnwrap(obs.costPerIndependentSample?["chi_2"])
        XCTAssertEqual(chi2, cost.coreSeconds / 400 * 2 * obs.susceptibility.tauInt, accuracy: 1e-15)
        let training = try XCTUnwrap(obs.training)
        XCTAssertGreaterThan(training.coreSeconds, 0)
        XCTAssertEqual(training.amortisedOver, 10_000)
        XCTAssertEqual(try XCTUnwrap(obs.costPerIndependentSampleWithTraining?["chi_2"]), chi2 + training.coreSeconds / 1e4,
                       accuracy: 1e-15, "the amortised cost is in the JSON too")
        let other = try Observables.load(path: dir.appendingPathComponent("b.analysis.json").path)
        let row = try XCTUnwrap(obs.comparison?.rows.first { $0.name == "chi_2" })
        let otherChi2 = try XCTUnwrap(other.costPerIndependentSample?["chi_2"])
        XCTAssertEqual(try XCTUnwrap(row.costRatio), chi2 / otherChi2, accuracy: 1e-12)
        XCTAssertEqual(row.breakEvenSamples, obs.training?.breakEven(this: chi2, other: otherChi2))
        // The break-even column reads "never" exactly where the flow chain is dearer.
        XCTAssertEqual(row.breakEvenSamples == nil, chi2 >= otherChi2)
        // The table's last column.
        let csv = try String(contentsOf: dir.appendingPathComponent("a.analysis.csv"), encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("observable,index,value,error,tau_int,tau_int_error,error_block_size,core_seconds_per_independent_sample\n"))
        XCTAssertTrue(csv.contains("\nchi_2,0,") && csv.split(separator: "\n")[1].split(separator: ",").count == 8, csv)
        let html = HTMLReport.analysis(obs, file: "a.analysis.json")
        let ratioText = String(format: "%.3g", try XCTUnwrap(row.costRatio))
        XCTAssertTrue(html.contains("core-s per independent sample") && html.contains("<td>\(ratioText)</td>"), html)
        // Bad input: a folder that is no result folder, a count that is no count.
        assertOneLineError(try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--training", "nowhere", "--overwrite"]),
                           mentions: ["nowhere/provenance.json", "--training"])
        assertOneLineError(try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--amortise", "0", "--overwrite"]),
                           mentions: ["--amortise"])
        // --amortise means nothing without a training to amortise: refused, not ignored.
        assertOneLineError(try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--amortise", "1e4", "--overwrite"]),
                           mentions: ["--amortise needs --training"])
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try "{\"sessions\": 3".write(to: broken.appendingPathComponent("provenance.json"), atomically: true, encoding: .utf8)
        assertOneLineError(try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--training", "broken", "--overwrite"]),
                           mentions: ["broken/provenance.json", "not a provenance record"])
        // A chain record whose clock is garbage falls back to its timestamps, or to no cost: never a crash.
        var edited = try XCTUnwrap(try Provenance.loadIfPresent(dir.appendingPathComponent("a.provenance.json")))
        edited.details?["seconds"] = "1e400"
        try edited.write(to: dir.appendingPathComponent("a.provenance.json"))
        let garbage = try gomalizing(["analyze", "a.npy", "--config", cfg.path, "--overwrite"])
        XCTAssertEqual(garbage.code, 0, garbage.err)
        let fellBack = try Observables.load(path: dir.appendingPathComponent("a.analysis.json").path).cost
        XCTAssertTrue(fellBack?.clock == "timestamps" || (fellBack == nil && garbage.out.contains("cost: unknown")), garbage.out)
    }
}

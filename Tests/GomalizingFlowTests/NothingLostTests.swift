import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// One writer per folder, no output over an input's companion, no analysis of
/// a chain that is gone, comparisons only of one theory (issue 28).
final class NothingLostTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = temporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func gomalizing(_ args: [String], in folder: URL? = nil, whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runCommand(exe, args, in: folder ?? dir, timeout: 300, whileRunning: whileRunning)
    }

    func config(_ name: String = "tiny", lam: Double = 0.5, epochs: Int = 1) throws -> URL {
        let url = dir.appendingPathComponent("\(name).toml")
        try tinyConfigText(epochs: epochs, lam: lam).write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A trained tiny run in dir/result/tiny and its config.
    func trainedRun() throws -> (run: URL, config: URL) {
        let cfg = try config()
        let r = try gomalizing(["train", cfg.path, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        return (dir.appendingPathComponent("result/tiny"), cfg)
    }

    func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    // MARK: One writer at a time

    /// The lock names its holder, refuses a second taker in this process or
    /// another, and is free again once released or once its holder is killed.
    func testWriterLockRefusesASecondWriterAndFreesOnRelease() throws {
        let a = try WriterLock.folder(dir, for: "training")
        XCTAssertThrowsError(try WriterLock.folder(dir, for: "training")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("is in use by another gomalizing") && message.contains("pid \(getpid())"), message)
        }
        XCTAssertNotNil(WriterLock.holder(of: WriterLock.folderLockFile(dir)))
        a.release()
        XCTAssertNil(WriterLock.holder(of: WriterLock.folderLockFile(dir)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: WriterLock.folderLockFile(dir).path), "released: the file goes too")
        let b = try WriterLock.folder(dir, for: "training")
        b.release()
    }

    /// Two trainers on one result folder: the second is refused while the
    /// first holds it, before it reads or writes anything; afterwards it may resume.
    func testASecondTrainerOfTheSameFolderIsRefused() throws {
        let cfg = try testConfig(name: "two", result: dir, L: 4, M2: -1, lam: 0.5, batch: 8, iterations: 3, epochs: 1,
                                 lr: 1e-3, layers: 2, hidden: [4], evalSamples: 32)
        let first = try Trainer(config: cfg)
        XCTAssertThrowsError(try Trainer(config: cfg, folder: .overwrite)) { error in
            XCTAssertTrue("\(error)".contains("is in use by another gomalizing"), "\(error)")
        }
        try first.train()
        var more = cfg
        more.training.epochs = 2
        let second = try Trainer(config: more, folder: .resume)
        try second.train()
        XCTAssertEqual(second.epochsDone, 2)
    }

    /// `train` on a folder another process holds: one line naming that process,
    /// status 2, and the run's files untouched; a killed holder leaves nothing
    /// that blocks the next command.
    func testTrainAndSweepRefuseAFolderInUseAndAKilledHolderDoesNotBlock() throws {
        let (run, cfg) = try trainedRun()
        let history = text(run.appendingPathComponent("history.csv"))
        let held = try WriterLock.folder(run, for: "training")
        let r = try gomalizing(["train", cfg.path, "--overwrite", "--quiet"])
        assertOneLineError(r, mentions: [run.path, "in use by another gomalizing", "pid \(getpid())"])
        XCTAssertEqual(text(run.appendingPathComponent("history.csv")), history)
        held.release()

        // A holder killed with SIGKILL: the kernel drops its lock.
        let longer = try config("slow", epochs: 100000)
        let slow = try gomalizing(["train", longer.path, "--quiet"]) { pid in
            let settings = self.dir.appendingPathComponent("result/slow/\(Config.settingsFileName)")
            poll(attempts: 3000, every: 10_000) { FileManager.default.fileExists(atPath: settings.path) }
            kill(pid, SIGKILL)
        }
        XCTAssertTrue(slow.signaled)
        let resumed = try gomalizing(["train", longer.path, "--resume", "--epochs", "1", "--quiet"])
        XCTAssertFalse(resumed.err.contains("in use"), resumed.err)

        // A sweep's folder: a second sweep (or --tabulate) is refused while one runs.
        let sweep = dir.appendingPathComponent("grid.toml")
        try "result = \"\(dir.path)/sweeps\"\n[[grid]]\nconfigs = [\"\(cfg.path)\"]\n".write(to: sweep, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("sweeps/grid")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sweepLock = try WriterLock.folder(folder, for: "sweep")
        assertOneLineError(try gomalizing(["sweep", sweep.path, "--tabulate"]), mentions: [folder.path, "in use by another gomalizing"])
        sweepLock.release()
        XCTAssertEqual(try gomalizing(["sweep", sweep.path, "--tabulate"]).code, 0)
    }

    // MARK: No output over an input or its companion

    /// `analyze --json c/f1.json` would write its table to c/f1.csv, the
    /// chain's proposal table: refused, and the table keeps its weights line.
    func testAnalyzeNeverWritesOverTheChainsTable() throws {
        let (run, cfg) = try trainedRun()
        let chain = dir.appendingPathComponent("c/f1.npy")
        XCTAssertEqual(try gomalizing(["sample", run.path, "--n", "300", "--out", chain.path]).code, 0)
        let table = dir.appendingPathComponent("c/f1.csv")
        let before = text(table)
        let r = try gomalizing(["analyze", chain.path, "--config", cfg.path, "--json", dir.appendingPathComponent("c/f1.json").path])
        assertOneLineError(r, mentions: [table.path, "the chain's proposal table", "overwritten"])
        XCTAssertEqual(text(table), before)
        let ok = try gomalizing(["analyze", chain.path, "--config", cfg.path])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertTrue(ok.out.contains("proposals: ESS"), ok.out)
        // Nor over a result folder's files, a foreign file (without --overwrite) or the config.
        assertOneLineError(try gomalizing(["sample", run.path, "--n", "10", "--out", run.appendingPathComponent("history.npy").path]),
                           mentions: ["history.csv", "result folder's"])
        let foreign = dir.appendingPathComponent("c/notes.json")
        try "{\"mine\": 1}".write(to: foreign, atomically: true, encoding: .utf8)
        assertOneLineError(try gomalizing(["analyze", chain.path, "--config", cfg.path, "--json", foreign.path]),
                           mentions: [foreign.path, "is not an analysis", "--overwrite"])
        XCTAssertEqual(text(foreign), "{\"mine\": 1}")
    }

    /// A chain is replaced only with --overwrite, which removes its analysis;
    /// an analysis kept elsewhere is then stale: report says so and shows none of its numbers.
    func testANewChainNeverLeavesAStaleAnalysis() throws {
        let (run, cfg) = try trainedRun()
        let chain = run.appendingPathComponent("samples_best.npy")
        XCTAssertEqual(try gomalizing(["sample", run.path, "--n", "400"]).code, 0)
        XCTAssertEqual(try gomalizing(["analyze", chain.path, "--config", cfg.path]).code, 0)
        let analysis = run.appendingPathComponent("samples_best.analysis.json")
        let kept = run.appendingPathComponent("kept.analysis.json")
        try FileManager.default.copyItem(at: analysis, to: kept)
        XCTAssertFalse(try gomalizing(["report", run.path]).out.contains("stale"))

        let refused = try gomalizing(["sample", run.path, "--n", "200"])
        assertOneLineError(refused, mentions: [chain.path, "already holds a chain of 400 configurations", "--overwrite"])
        let replaced = try gomalizing(["sample", run.path, "--n", "200", "--overwrite"])
        XCTAssertEqual(replaced.code, 0, replaced.err)
        XCTAssertTrue(replaced.out.contains("removed the earlier chain's analysis: samples_best.analysis.json"), replaced.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: analysis.path))

        let report = try gomalizing(["report", run.path])
        XCTAssertEqual(report.code, 0, report.err)
        XCTAssertTrue(report.out.contains("warning: kept.analysis.json is stale"), report.out)
        let html = text(run.appendingPathComponent("report.html"))
        XCTAssertTrue(html.contains("Stale, not shown"), "the report marks it")
        XCTAssertFalse(html.contains("400 configurations"), "the old chain's numbers are not shown")
        // The same for a chain that is gone.
        try FileManager.default.removeItem(at: chain)
        XCTAssertTrue(try gomalizing(["report", run.path]).out.contains("is no longer there"))
    }

    /// `--compare` of another theory is refused in one line; of the same theory
    /// the comparison goes into the JSON and the report, with headed columns.
    func testCompareChecksTheTheoryAndRecordsTheComparison() throws {
        let a = try config("a"), b = try config("b", lam: 0.7), a2 = try config("a2")
        for (cfg, name) in [(a, "ha"), (b, "hb"), (a2, "hc")] {
            let r = try gomalizing(["hmc", cfg.path, "--n", "300", "--burn-in", "20", "--seed", name == "hc" ? "2" : "1",
                                    "--out", dir.appendingPathComponent("\(name).npy").path])
            XCTAssertEqual(r.code, 0, r.err)
        }
        XCTAssertEqual(try gomalizing(["analyze", "hb.npy", "--config", b.path]).code, 0)
        XCTAssertEqual(try gomalizing(["analyze", "hc.npy", "--config", a2.path]).code, 0)
        // The config must be the chain's own theory too.
        assertOneLineError(try gomalizing(["analyze", "ha.npy", "--config", b.path]),
                           mentions: [b.path, "not the theory", "lam 0.5 in the chain, 0.7"])
        assertOneLineError(try gomalizing(["analyze", "ha.npy", "--config", a.path, "--compare", "hb.analysis.json"]),
                           mentions: ["hb.analysis.json", "another theory", "lam 0.7 there, 0.5 in"])
        let r = try gomalizing(["analyze", "ha.npy", "--config", a.path, "--compare", "hc.analysis.json"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertNotNil(r.out.range(of: "\nobservable +this chain", options: .regularExpression), r.out)
        // Every name fits its column: the longest, pole_mass_symmetric, is followed by a space.
        XCTAssertTrue(r.out.contains("\npole_mass_symmetric "), r.out)
        XCTAssertTrue(r.out.contains("difference/sigma"), r.out)
        let obs = try Observables.load(path: dir.appendingPathComponent("ha.analysis.json").path)
        let c = try XCTUnwrap(obs.comparison)
        XCTAssertEqual(c.file, "hc.analysis.json")
        XCTAssertEqual(c.theory, obs.theory)
        XCTAssertEqual(obs.theory, Theory(L: 4, d: 2, M2: -1, lam: 0.5))
        XCTAssertEqual(c.rows.first?.name, "chi_2")
        XCTAssertEqual(c.rows.count, 4 + 4 + 5, "chi_2, E, <|M|>, pole mass, C(t), then <M> and the symmetric forms")
        let html = HTMLReport.analysis(obs, file: "ha.analysis.json")
        XCTAssertTrue(html.contains("Compared with hc.analysis.json") && html.contains("<th>difference/σ</th>"), html)
    }

    /// An analysis computes nothing when it could not write its result.
    func testAnalyzeChecksItCanWriteBeforeTheWork() throws {
        let cfg = try config()
        XCTAssertEqual(try gomalizing(["hmc", cfg.path, "--n", "100", "--burn-in", "10", "--out", "h.npy"]).code, 0)
        let r = try gomalizing(["analyze", "h.npy", "--config", cfg.path, "--json", "/proc/self/h.analysis.json"])
        XCTAssertEqual(r.code, 2, r.err)
        XCTAssertTrue(r.err.contains("cannot write in /proc/self"), r.err)
        XCTAssertFalse(r.out.contains("chi_2"), "nothing computed: \(r.out)")
    }

    // MARK: Smaller ones

    /// `sample` given a config names the result folder it would train; a
    /// missing warm start says relative to what; counts take 1e5.
    func testPlainMistakesGetPlainAnswers() throws {
        let cfg = try config()
        assertOneLineError(try gomalizing(["sample", cfg.path, "--n", "10"]),
                           mentions: [cfg.path, "is a config; sample takes the result folder", dir.appendingPathComponent("result/tiny").path])
        let warm = dir.appendingPathComponent("warm.toml")
        try tinyConfigText(extra: "pretrained = \"result/elsewhere/model_best.safetensors\"").write(to: warm, atomically: true, encoding: .utf8)
        assertOneLineError(try gomalizing(["train", warm.path]),
                           mentions: ["[training] pretrained", "relative paths are taken from the working directory", dir.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("result/warm").path),
                       "a refused run leaves no folder")
        let r = try gomalizing(["hmc", cfg.path, "--n", "2e2", "--burn-in", "1e1", "--out", "h.npy"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try NpyFile(path: dir.appendingPathComponent("h.npy").path).rowCount, 200)
        assertOneLineError(try gomalizing(["hmc", cfg.path, "--n", "1.5e0", "--out", "g.npy"]), mentions: ["1.5e0 is not a whole number"])
    }

    /// Counts on the command line: exact integers, plain or in scientific notation.
    func testCountsInScientificNotation() throws {
        let cfg = try config()
        let cases: [(String, Int?)] = [("1e2", 100), ("2.5e1", 25), ("1.50e1", 15), ("1E2", 100), ("+3e1", 30),
                                       ("1.5e0", nil), ("1e-1", nil), ("abc", nil), ("1e30", nil), ("e5", nil), ("1.e", nil)]
        for (k, (text, expected)) in cases.enumerated() {
            let out = "h\(k).npy"
            let r = try gomalizing(["hmc", cfg.path, "--n", text, "--burn-in", "0", "--steps", "1", "--out", out])
            if let expected {
                XCTAssertEqual(r.code, 0, "\(text): \(r.err)")
                XCTAssertEqual(try NpyFile(path: dir.appendingPathComponent(out).path).rowCount, expected, text)
            } else {
                assertOneLineError(r, mentions: ["'\(text)'", "--n"])
            }
        }
    }

    /// Sizes print with enough digits to tell "needs" from "has".
    func testSizesReadDifferentlyWhenTheyDiffer() {
        XCTAssertEqual(ResourceBudget.describe(1_400_000), "1.34 MiB")
        XCTAssertEqual(ResourceBudget.describe(512), "512 bytes")
        XCTAssertEqual(ResourceBudget.describe(3 * ResourceBudget.gib), "3 GiB")
        let (need, have) = ResourceBudget.describe(1_048_577 * 1.0001, 1_048_576)
        XCTAssertNotEqual(need, have)
    }

    /// `conv = "full"` is shown as full, not only as its GomalizingFlow.jl name.
    func testFullConvolutionIsShownAsFull() throws {
        let cfg = try Config.parse(tinyConfigText(), file: "t.toml", name: "t")
        XCTAssertEqual(cfg.model.convLabel, "full (2C2)")
        XCTAssertTrue(cfg.effectiveSettings().contains("[model] conv = full (2C2)"))
        XCTAssertEqual(cfg.runDefinition["[model] conv"], "2C2", "checkpoints keep the canonical name")
    }

    /// Every fast config stops when it has done what it is for.
    func testFastConfigsHaveAStopRule() throws {
        let folder = repositoryRoot.appendingPathComponent("cfgs")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("_fast.toml") }
        XCTAssertGreaterThanOrEqual(names.count, 9)
        for name in names {
            let t = try Config.load(path: folder.appendingPathComponent(name).path).training
            XCTAssertNotNil(t.stopAtAcceptance, name)
            XCTAssertNotNil(t.stopAfterSeconds, name)
        }
    }

    /// Legend names are drawn whole, many settings go below the chart, and
    /// the legend is drawn after (over) the curves.
    func testLegendsAreWholeAndDrawnLast() {
        let names = (0..<12).map { "example2d_E3_fast_setting_with_a_long_name_\($0) (median of 3)" }
        let plot = SVGPlot(title: "t", xLabel: "x", yLabel: "y",
                           series: names.map { SVGPlot.Series(name: $0, x: [0, 1], y: [0, 1]) })
        let svg = plot.render()
        for n in names { XCTAssertTrue(svg.contains(">\(n)</text>"), n) }
        XCTAssertTrue(svg.contains("height=\"\(400 + 12 * 16 + 8)\""), "the chart grows to hold the legend below it")
        let lastCurve = svg.range(of: "<polyline", options: .backwards)!.lowerBound
        XCTAssertLessThan(lastCurve, svg.range(of: ">\(names[0])</text>")!.lowerBound)
        let html = SweepReport.htmlTable([["a", "b"], ["1", "2"]])
        XCTAssertTrue(html.hasPrefix("<div class=\"wide\">"), "wide tables scroll inside the page")
    }
}

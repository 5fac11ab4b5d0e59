import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `gomalizing sweep`: a grid of runs from a sweep file, each a complete
/// config; killed at any moment and rerun, it gives the uninterrupted sweep.
final class SweepTests: XCTestCase {
    func writeBase(_ dir: URL, name: String = "base", iterations: Int = 10, epochs: Int = 3) throws {
        try tinyConfigText(epochs: epochs, iterations: iterations, batch: 16, hidden: [4])
            .write(to: dir.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
    }

    func sweep(_ dir: URL, _ text: String, name: String = "grid") throws -> URL {
        let url = dir.appendingPathComponent("\(name).toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testGridsSeedsAndOverridesMakeCompleteConfigs() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir)
        try writeBase(dir, name: "other")
        let url = try sweep(dir, """
        seeds = [4, 7]
        result = "\(dir.appendingPathComponent("out").path)"
        [set.training]
        stop_at_acceptance = 50
        [[grid]]
        configs = ["base.toml", "other.toml"]
        [grid.vary.model]
        conv = ["full", "cross", "2C1"]
        [grid.vary.training]
        base_lr = [0.001, 0.003]
        [[grid]]
        configs = ["base.toml"]
        [grid.set.physical]
        L = 6
        """)
        let spec = try SweepSpec.load(path: url.path)
        XCTAssertEqual(spec.runs.count, 2 * 3 * 2 * 2 + 2)
        XCTAssertEqual(spec.variedKeys, ["[model] conv", "[training] base_lr"])
        XCTAssertEqual(spec.folder.path, dir.appendingPathComponent("out/grid").path)
        let r = try XCTUnwrap(spec.runs.first { $0.name == "other_conv-cross_base_lr-0.003_s7" })
        XCTAssertEqual(r.group, "other_conv-cross_base_lr-0.003")
        XCTAssertEqual(r.config.model.convName, "cross")
        XCTAssertEqual(r.config.training.baseLR, 0.003)
        XCTAssertEqual(r.config.training.seed, 7)
        XCTAssertEqual(r.config.model.seed, 7)
        XCTAssertEqual(r.config.training.stopAtAcceptance, 50)
        XCTAssertEqual(r.config.resultDirectory.path, spec.folder.appendingPathComponent(r.name).path)
        XCTAssertEqual(r.varied.map(\.value), ["cross", "0.003"])
        let last = spec.runs.last!
        XCTAssertEqual(last.name, "base_s7")
        XCTAssertEqual(last.config.physical.L, 6)
        // The run is the base config with the overrides, set by hand here.
        var expected = try Config.load(path: dir.appendingPathComponent("other.toml").path)
        expected.model = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, crossKernel: true, seed: 7)
        expected.training.baseLR = 0.003
        expected.training.seed = 7
        XCTAssertEqual(r.config.runDefinition, expected.runDefinition)
    }

    /// Values of every TOML kind survive the round trip into a run's config.
    func testValuesOfEveryKindReachTheRuns() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir)
        let url = try sweep(dir, """
        [set.training]
        prior = { kind = "potential", m2 = -4.0, lam = 8.0 }
        base_lr = 1e-3
        [set.device]
        device_id = -1
        [[grid]]
        configs = ["base.toml"]
        [grid.vary.physical]
        M2 = [-1.0, 1.0]
        [grid.vary.model]
        hidden_sizes = [[4], [8, 8]]
        use_final_tanh = [false]
        """)
        let spec = try SweepSpec.load(path: url.path)
        // Keys in section order, then by name; a negative value keeps its sign.
        XCTAssertEqual(spec.runs.map(\.name), ["base_hidden_sizes-4_use_final_tanh-false_M2--1.0",
                                              "base_hidden_sizes-4_use_final_tanh-false_M2-1.0",
                                              "base_hidden_sizes-8x8_use_final_tanh-false_M2--1.0",
                                              "base_hidden_sizes-8x8_use_final_tanh-false_M2-1.0"])
        let r = spec.runs[2]
        XCTAssertEqual(r.config.physical.M2, -1.0)
        XCTAssertEqual(r.config.model.hiddenSizes, [8, 8])
        XCTAssertFalse(r.config.model.useFinalTanh)
        XCTAssertEqual(r.config.training.baseLR, 0.001)
        XCTAssertEqual(r.config.training.prior, .potential(m2: -4, lam: 8, xmin: -2, xmax: 2))
        XCTAssertEqual(r.varied.map(\.value), ["[8, 8]", "false", "-1.0"])
    }

    func testBadSweepFilesAreOneLineErrors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir)
        let cases: [(String, [String])] = [
            ("seeds = 2", ["grid", "missing"]),
            ("[[grid]]\nconfigs = []", ["grid[1]", "configs"]),
            ("[[grid]]\nconfigs = [\"nowhere.toml\"]", ["grid[1]", "nowhere.toml", "no such file"]),
            ("[[grid]]\nconfigs = [\"base.toml\"]\n[grid.vary.modle]\nconv = [\"full\"]", ["modle", "did you mean model"]),
            ("[[grid]]\nconfigs = [\"base.toml\"]\n[grid.vary.model]\nconv = \"full\"", ["grid[1].vary.model.conv", "array"]),
            ("seeds = 2\n[[grid]]\nconfigs = [\"base.toml\"]\n[grid.vary.training]\nseed = [1, 2]", ["seed", "seeds"]),
            ("[[grid]]\nconfigs = [\"base.toml\"]\n[grid.vary.model]\nconv = [\"full\", \"2C9\"]", ["run base_conv-2C9", "[model] conv"]),
            ("[[grid]]\nconfigs = [\"base.toml\"]\n[grid.set.training]\nepochz = 3", ["run base", "epochz", "did you mean epochs"]),
            ("seeds = 0\n[[grid]]\nconfigs = [\"base.toml\"]", ["seeds"]),
            ("[[grid]]\nconfigs = [\"base.toml\", \"base.toml\"]", ["two runs", "base"]),
            ("[[grid]\nconfigs = 1", ["line 1", "invalid TOML"]),
            ("", ["grid"]),
            ("seeds = 2\n[set.model]\nseed = 4\n[[grid]]\nconfigs = [\"base.toml\"]", ["[model] seed", "seeds"]),
            ("[set.training]\nresult = \"x\"\n[[grid]]\nconfigs = [\"base.toml\"]", ["[training] result", "sweep's result"]),
            ("[[grid]]\nconfigs = [\"base.toml\"]\n[grid.set.device]\nthreads = 3", ["[device] threads", "--threads"]),
            ("seeds = 2\n[[grid]]\nconfigs = [\"base.toml\"]\n[[grid]]\nconfigs = [\"base.toml\"]\nseeds = [3]\n[grid.set.training]\nbase_lr = 0.01",
             ["base_s1", "base_s3", "seeds of one setting", "[training] base_lr"]),
            ("[[grid]]\nconfigs = [\"logs.toml\"]", ["named logs"]),
            ("thresholds = [50, 25]\n[[grid]]\nconfigs = [\"base.toml\"]", ["thresholds", "increasing"]),
            ("thresholds = [0]\n[[grid]]\nconfigs = [\"base.toml\"]", ["thresholds", "(0, 100]"]),
            ("thresholds = [\"50\"]\n[[grid]]\nconfigs = [\"base.toml\"]", ["thresholds", "percentages"]),
            ("thresholds = []\n[[grid]]\nconfigs = [\"base.toml\"]", ["thresholds", "1 to 8"]),
            ("thresholds = 50\n[[grid]]\nconfigs = [\"base.toml\"]", ["thresholds", "array"]),
        ]
        try writeBase(dir, name: "logs")
        for (text, mentions) in cases {
            let url = try sweep(dir, text, name: "bad")
            XCTAssertThrowsError(try SweepSpec.load(path: url.path), text) { e in
                let line = "\(e)"
                XCTAssertFalse(line.contains("\n"), line)
                XCTAssertTrue(line.contains("bad.toml"), line)
                for m in mentions { XCTAssertTrue(line.contains(m), "expected \(m) in: \(line)") }
            }
        }
    }

    /// The history without its timing columns.
    func physics(_ path: URL) throws -> [[Double]] {
        let t = try History.read(path: path.path)
        return ["epoch", "loss", "loss_std", "acceptance_rate", "ess", "best_acceptance_rate", "lr"].map { t[$0]! }
    }

    /// Whether a process runs (is neither gone nor a zombie).
    func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// Waits until no process (a sweep's orphaned child saving its checkpoint) names `marker` on its command line.
    func waitForProcesses(naming marker: String, seconds: Double = 30) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let busy = pids.contains { pid in
                guard Int(pid) != nil, let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: d, as: UTF8.self).contains(marker)
            }
            if !busy { return }
            usleep(20_000)
        }
        XCTFail("processes naming \(marker) still run after \(seconds) s")
    }

    func testSweepKilledAtRandomMomentsAndRerunEqualsTheUninterruptedOne() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir, iterations: 150, epochs: 4)
        func grid(_ result: String) throws -> URL {
            try sweep(dir, """
            seeds = 2
            result = "\(dir.appendingPathComponent(result).path)"
            [[grid]]
            configs = ["base.toml"]
            [grid.vary.model]
            conv = ["full", "cross"]
            """, name: "grid_\(result)")
        }
        let refFile = try grid("ref"), killedFile = try grid("killed")
        let ref = try runCommand(exe, ["sweep", refFile.path, "--parallel", "2", "--threads", "1", "--quiet"])
        XCTAssertEqual(ref.code, 0, ref.err)
        XCTAssertTrue(ref.out.contains("4 runs, 4 to train"), ref.out)

        let killedFolder = dir.appendingPathComponent("killed/grid_killed")
        let spec = try SweepSpec.load(path: killedFile.path)
        func epochsDone() -> Int {
            spec.runs.reduce(0) { $0 + ((try? History.read(path: killedFolder.appendingPathComponent("\($1.name)/history.csv").path))?["epoch"]?.count ?? 0) }
        }
        // Each kill comes after at least one more epoch is on disk, at a random
        // moment inside the next one, so the sweep always gets further.
        var rng = Xoshiro256(seed: 17)
        var kills = 0, finished = false
        let deadline = Date(timeIntervalSinceNow: 240)
        while !finished && Date() < deadline {
            let before = epochsDone()
            let r = try runCommand(exe, ["sweep", killedFile.path, "--quiet"], whileRunning: { pid in
                while epochsDone() <= before && Date() < deadline && self.isAlive(pid) { usleep(2_000) }
                usleep(UInt32(rng.uniform() * 60_000))
                kill(pid, SIGKILL)
            })
            if r.signaled { kills += 1 } else { finished = true; XCTAssertEqual(r.code, 0, r.err) }
            waitForProcesses(naming: killedFolder.path)
        }
        XCTAssertTrue(finished, "the sweep did not finish after \(kills) kills")
        XCTAssertGreaterThan(kills, 2, "the sweep finished before it was killed; the test needs longer runs")
        let last = try runCommand(exe, ["sweep", killedFile.path])
        XCTAssertEqual(last.code, 0, last.err)
        for run in spec.runs {
            let a = try physics(dir.appendingPathComponent("ref/grid_ref/\(run.name)/history.csv"))
            let b = try physics(killedFolder.appendingPathComponent("\(run.name)/history.csv"))
            XCTAssertEqual(a, b, run.name)
            let ma = try Data(contentsOf: dir.appendingPathComponent("ref/grid_ref/\(run.name)/model_last.safetensors"))
            let mb = try Data(contentsOf: killedFolder.appendingPathComponent("\(run.name)/model_last.safetensors"))
            XCTAssertEqual(ma, mb, run.name)
            XCTAssertTrue(last.out.contains("\(run.name): done after 4 epochs, skipped"), last.out)
        }
        // The table: a row per run, every run done, the machine named.
        let csv = try String(contentsOf: killedFolder.appendingPathComponent(SweepTable.csvName), encoding: .utf8)
        let rows = csv.split(separator: "\n")
        XCTAssertEqual(rows.count, 5)
        XCTAssertTrue(rows[0].hasPrefix("run,group,config,model.conv,seed,"), String(rows[0]))
        XCTAssertEqual(rows.dropFirst().filter { $0.contains(",done,4,4,") }.count, 4, csv)
        XCTAssertTrue(rows[0].hasSuffix("threads,cpu,cores"))
        let md = try String(contentsOf: killedFolder.appendingPathComponent(SweepTable.markdownName), encoding: .utf8)
        XCTAssertTrue(md.contains("| base_conv-cross |") && md.contains("2/2"), md)
        let html = try String(contentsOf: killedFolder.appendingPathComponent(SweepReport.fileName), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("median of 2") && html.hasSuffix("</html>\n"))
        // --list reads without writing.
        let before = folderSnapshot(killedFolder)
        let list = try runCommand(exe, ["sweep", killedFile.path, "--list"])
        XCTAssertEqual(list.code, 0, list.err)
        XCTAssertTrue(list.out.contains("base_conv-full_s2  done  4/4 epochs"), list.out)
        XCTAssertEqual(folderSnapshot(killedFolder), before)
    }

    /// SIGTERM to the sweep reaches the run in progress, which saves mid-epoch.
    func testStopSignalIsPassedToTheRunningChild() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir, iterations: 200_000, epochs: 1)
        let file = try sweep(dir, "result = \"\(dir.path)\"\n[[grid]]\nconfigs = [\"base.toml\"]", name: "one")
        let checkpoint = dir.appendingPathComponent("one/base/\(Checkpoint.fileName)")
        let settings = dir.appendingPathComponent("one/base/\(Config.settingsFileName)")
        let r = try runCommand(exe, ["sweep", file.path, "--quiet"], whileRunning: { pid in
            let deadline = Date(timeIntervalSinceNow: 60)
            // Once the child trains (its folder is set up), inside its long first epoch.
            while !FileManager.default.fileExists(atPath: settings.path) && Date() < deadline { usleep(10_000) }
            usleep(300_000)
            kill(pid, SIGTERM)
        })
        XCTAssertTrue(FileManager.default.fileExists(atPath: settings.path), "the child never started training")
        XCTAssertEqual(r.code, 143, r.out + r.err)
        XCTAssertTrue(r.err.contains("rerun the same command"), r.err)
        XCTAssertTrue(r.out.contains("interrupted, saved"), r.out)
        let (_, meta) = try SafeTensors.load(path: checkpoint.path)
        XCTAssertGreaterThan(meta["partial_iterations"].flatMap { Int($0) } ?? 0, 0, "a mid-epoch checkpoint: \(meta.keys.sorted())")
    }

    /// A run's warm-start sources are the runs whose folder holds its
    /// `pretrained` file, however the path is spelled; another folder whose
    /// name starts alike is not one.
    func testWarmStartSourcesAreTheRunsThatTrainThePretrainedModel() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir, name: "first")
        try writeBase(dir, name: "first_b")
        try writeBase(dir, name: "second")
        let rel = "sweep-sources-\(UUID().uuidString)"  // relative to the working directory, as train reads it
        let file = try sweep(dir, """
            result = "\(rel)"
            [[grid]]
            configs = ["second.toml"]
            [grid.vary.training]
            pretrained = ["./\(rel)/x/../chain/first/model_best.safetensors", "\(rel)/chain/first_b/model_last.safetensors",
                          "\(FileManager.default.currentDirectoryPath)/\(rel)/chain/first_b/m.safetensors", "\(rel)/chain/first", ""]
            [[grid]]
            configs = ["first.toml", "first_b.toml"]
            """, name: "chain")
        let spec = try SweepSpec.load(path: file.path)
        XCTAssertEqual(spec.runs.count, 7)
        XCTAssertEqual(spec.runs.map { spec.warmStartSources(of: $0).map(\.name) },
                       [["first"], ["first_b"], ["first_b"], [], [], [], []])
        XCTAssertFalse(FileManager.default.fileExists(atPath: rel), "loading a sweep writes nothing")
    }

    /// With --parallel, a run whose warm start another run of the sweep
    /// trains waits until that run has ended, even when it is listed first.
    func testARunWaitsForTheRunThatTrainsItsWarmStart() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir, name: "first", iterations: 2000, epochs: 2)  // about a second: long enough to lose a race
        try writeBase(dir, name: "second", epochs: 1)
        let model = dir.appendingPathComponent("chain/first/model_best.safetensors")
        let file = try sweep(dir, """
            result = "\(dir.path)"
            [[grid]]
            configs = ["second.toml"]
            [grid.set.training]
            pretrained = "\(model.path)"
            [[grid]]
            configs = ["first.toml"]
            """, name: "chain")
        let r = try runCommand(exe, ["sweep", file.path, "--parallel", "2", "--threads", "1", "--quiet"])
        XCTAssertEqual(r.code, 0, r.out + r.err)
        let lines = r.out.split(separator: "\n").filter { $0.hasPrefix("[") }
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertTrue(lines.first?.hasPrefix("[1/2] first: done") == true, r.out)
        // Started at once, it would have failed: the model did not exist yet.
        XCTAssertTrue(lines.last?.hasPrefix("[2/2] second: done") == true, r.out)
    }

    /// A run folder that lost its checkpoint after several epochs is not
    /// replaced: the sweep names it and exits 3; other runs still train.
    func testAFolderWithEpochsButNoCheckpointIsNotReplaced() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir)
        let file = try sweep(dir, "seeds = 2\nresult = \"\(dir.path)\"\n[[grid]]\nconfigs = [\"base.toml\"]", name: "two")
        XCTAssertEqual(try runCommand(exe, ["sweep", file.path, "--quiet"]).code, 0)
        // More epochs (which may change on resume); one run has lost its checkpoint.
        try writeBase(dir, epochs: 5)
        let lost = dir.appendingPathComponent("two/base_s1")
        try FileManager.default.removeItem(at: lost.appendingPathComponent(Checkpoint.fileName))
        let before = folderSnapshot(lost)
        let r = try runCommand(exe, ["sweep", file.path, "--quiet"])
        XCTAssertEqual(r.code, 3, r.out + r.err)
        XCTAssertTrue(r.err.contains("base_s1") && r.err.contains("holds 3 epochs but no checkpoint"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertEqual(folderSnapshot(lost), before)
        XCTAssertEqual(try History.read(path: dir.appendingPathComponent("two/base_s2/history.csv").path)["epoch"]?.count, 5)
    }

    /// A finished run is not passed off as the sweep's when the sweep file now
    /// defines it otherwise: the rerun names the difference and trains nothing.
    func testARunTrainedWithOtherSettingsIsNamedNotSkipped() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir)
        let file = try sweep(dir, "result = \"\(dir.path)\"\n[[grid]]\nconfigs = [\"base.toml\"]", name: "one")
        XCTAssertEqual(try runCommand(exe, ["sweep", file.path, "--quiet"]).code, 0)
        _ = try sweep(dir, "result = \"\(dir.path)\"\n[set.training]\nbase_lr = 0.01\n[[grid]]\nconfigs = [\"base.toml\"]", name: "one")
        let before = folderSnapshot(dir.appendingPathComponent("one/base"))
        let r = try runCommand(exe, ["sweep", file.path, "--quiet"])
        XCTAssertEqual(r.code, 3, r.out + r.err)
        XCTAssertTrue(r.err.contains("base was trained with other settings") && r.err.contains("[training] base_lr: 0.002 in the run, 0.01 now"), r.err)
        XCTAssertEqual(folderSnapshot(dir.appendingPathComponent("one/base")), before)
    }

    /// Lowering a sweep's budget below what a run already trained reads that
    /// run only as far as the new stop rule, so its row is measured like the
    /// runs that stopped there.
    func testARunTrainedPastTheStopRuleIsReadOnlyUpToIt() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeBase(dir, epochs: 4)
        let open = try SweepSpec.load(path: sweep(dir, "result = \"\(dir.path)\"\n[[grid]]\nconfigs = [\"base.toml\"]", name: "b").path)
        let run = try XCTUnwrap(open.runs.first)
        try Trainer(config: run.config).train()
        let full = try RunSummary(run: run, folder: open.folder)
        XCTAssertEqual(full.status, .done)
        XCTAssertEqual(full.epochsDone, 4)
        let budget = full.records[1].totalSeconds
        let limited = try SweepSpec.load(path: sweep(dir, """
            result = "\(dir.path)"
            [set.training]
            stop_after_seconds = \(budget)
            [[grid]]
            configs = ["base.toml"]
            """, name: "b").path)
        let cut = try RunSummary(run: XCTUnwrap(limited.runs.first), folder: limited.folder)
        XCTAssertEqual(cut.status, .stoppedAtTime)
        XCTAssertTrue(cut.differences.isEmpty, "\(cut.differences)")
        XCTAssertEqual(cut.records.map(\.epoch), [1, 2])
        XCTAssertEqual(cut.totalSeconds, budget)
        XCTAssertEqual(cut.bestAcceptance?.value, full.records.prefix(2).map(\.acceptanceRate).max())
        // Per epoch and at the end of the budget.
        XCTAssertEqual(full.meanAcceptance(upTo: 3, lastEpochs: 2), (full.records[1].acceptanceRate + full.records[2].acceptanceRate) / 2)
        XCTAssertEqual(full.meanAcceptance(upTo: 1), full.records[0].acceptanceRate)
        XCTAssertNil(cut.meanAcceptance(upTo: 3))
        XCTAssertEqual(cut.finalAcceptance(), (full.records[0].acceptanceRate + full.records[1].acceptanceRate) / 2)
        XCTAssertEqual(full.finalAcceptance(lastEpochs: 3), full.records.dropFirst().map(\.acceptanceRate).reduce(0, +) / 3)
        XCTAssertEqual(cut.finalESS(), (full.records[0].ess + full.records[1].ess) / 2)
        XCTAssertEqual(full.finalESS(lastEpochs: 2), (full.records[2].ess + full.records[3].ess) / 2)
        // Runs of another base config have their own common epoch.
        try writeBase(dir, name: "other", epochs: 3)
        let otherSpec = try SweepSpec.load(path: sweep(dir, "result = \"\(dir.path)\"\n[[grid]]\nconfigs = [\"other.toml\"]", name: "o").path)
        let otherRun = try XCTUnwrap(otherSpec.runs.first)
        try Trainer(config: otherRun.config).train()
        let other = try RunSummary(run: otherRun, folder: otherSpec.folder)
        XCTAssertEqual(SweepTable.commonEpochs([full, cut, other]), [run.baseConfig: 2, otherRun.baseConfig: 3])
        let table = SweepTable.summary([cut])
        XCTAssertEqual(table.count, 2)
        XCTAssertEqual(table[0].count, table[1].count)
        let column = try XCTUnwrap(table[0].firstIndex(of: "acceptance % at a common epoch"))
        XCTAssertEqual(table[1][column], "2: " + String(format: "%.1f", (full.records[0].acceptanceRate + full.records[1].acceptanceRate) / 2))
        let essColumn = try XCTUnwrap(table[0].firstIndex(of: "ESS at the end"))
        XCTAssertEqual(table[1][essColumn], String(format: "%.3f", (full.records[0].ess + full.records[1].ess) / 2))
        // A run with epochs left has no level "at the end" yet.
        let longer = try SweepSpec.load(path: sweep(dir, """
            result = "\(dir.path)"
            [set.training]
            epochs = 10
            [[grid]]
            configs = ["base.toml"]
            """, name: "b").path)
        let going = try RunSummary(run: XCTUnwrap(longer.runs.first), folder: longer.folder)
        XCTAssertEqual(going.status, .incomplete)
        XCTAssertNil(going.finalAcceptance())
        XCTAssertNil(going.finalESS())
        // The sweep file's own thresholds name the columns and fill them.
        let custom = try SweepSpec.load(path: sweep(dir, "result = \"\(dir.path)\"\nthresholds = [0.5, 42.5]\n[[grid]]\nconfigs = [\"base.toml\"]",
                                                    name: "b").path)
        XCTAssertEqual(custom.thresholds, [0.5, 42.5])
        XCTAssertEqual(open.thresholds, [25, 50, 70])
        let summed = try custom.summary(of: XCTUnwrap(custom.runs.first))
        XCTAssertEqual(summed.thresholds, [0.5, 42.5])
        XCTAssertEqual(summed.reached[0.5]?.epoch, 1)
        let csv = SweepTable.rows(custom, [summed], machine: MachineDescription.current())
        XCTAssertTrue(csv[0].contains("epochs_to_0.5") && csv[0].contains("seconds_to_42.5") && !csv[0].contains("epochs_to_50"), "\(csv[0])")
        XCTAssertEqual(csv[1][csv[0].firstIndex(of: "epochs_to_0.5")!], "1")
        let md = SweepTable.markdown(custom, [summed], machine: MachineDescription.current())
        XCTAssertTrue(md.contains("0.5%: reached") && md.contains("42.5%: reached") && !md.contains("70%: reached"), md)
        XCTAssertEqual(SweepTable.summary([going])[1][table[0].firstIndex(of: "acceptance % at the end")!], "–")
    }
}

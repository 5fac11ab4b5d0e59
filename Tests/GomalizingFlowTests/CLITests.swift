import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Runs the built `gomalizing` executable as a user would.
final class CLITests: XCTestCase {
    var executable: URL? { builtExecutable() }

    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        guard let exe = executable else { throw XCTSkip("gomalizing executable not built") }
        return try runProcess(exe, args)
    }

    func testBadInputsGiveOneLineErrors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.toml")
        try "[training]\nbatchsize = 4\nepochs = 1\niterations = 1\nbase_lr = 0.1\n[physical]\nL = 5\nNd = 2\nM2 = 1\nlam = 0\n[model]\nn_layers = 2\nhidden_sizes = [2]\nkernel_size = 3\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        for (args, mention) in [([bad.path], "[physical] L"), ([dir.appendingPathComponent("none.toml").path], "no such file")] {
            let r = try run(["train"] + args)
            XCTAssertEqual(r.code, 2)
            let lines = r.err.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.err)
            XCTAssertTrue(r.err.hasPrefix("error: "), r.err)
            XCTAssertTrue(r.err.contains(mention), r.err)
        }
    }

    func testTrainWritesTheResultFolder() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("mini.toml")
        try "[training]\nbatchsize = 8\nepochs = 2\niterations = 5\nbase_lr = 0.001\neval_samples = 64\n[physical]\nL = 4\nNd = 3\nM2 = -4\nlam = 5.113\n[model]\nn_layers = 2\nhidden_sizes = [4]\nkernel_size = 3\nconv = \"3C2\"\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let r = try run(["train", cfg.path, "--result", dir.appendingPathComponent("res").path, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("epoch    2"), r.out)
        let out = dir.appendingPathComponent("res/mini")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(files, ["checkpoint.safetensors", "config.toml", "history.csv", "model_best.safetensors",
                               "model_best_ess.safetensors", "model_last.safetensors", "provenance.json", "settings.txt"])
        // The effective settings name the override and what the file said.
        let settings = try String(contentsOf: out.appendingPathComponent("settings.txt"), encoding: .utf8)
        XCTAssertTrue(settings.contains("[training] epochs = 2\n"), settings)
        XCTAssertTrue(settings.contains("[training] result = \(dir.appendingPathComponent("res").path)  # --result "), settings)
        XCTAssertTrue(settings.contains("[physical] lam = 5.113\n"), settings)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("config.toml"), encoding: .utf8),
                       try String(contentsOf: cfg, encoding: .utf8))
    }
}

extension CLITests {
    func testSampleHMCAndAnalyzeRoundTrip() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("small.toml")
        try "[training]\nbatchsize = 16\nepochs = 1\niterations = 20\nbase_lr = 0.001\neval_samples = 128\n[physical]\nL = 4\nNd = 2\nM2 = -4\nlam = 8\n[model]\nn_layers = 2\nhidden_sizes = [4]\nkernel_size = 3\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let res = dir.appendingPathComponent("res").path
        XCTAssertEqual(try run(["train", cfg.path, "--result", res, "--quiet"]).code, 0)
        let flowOut = dir.appendingPathComponent("flow.npy").path
        let s = try run(["sample", res + "/small", "--n", "2000", "--out", flowOut])
        XCTAssertEqual(s.code, 0, s.err)
        XCTAssertTrue(s.out.contains("acceptance"), s.out)
        XCTAssertEqual(try NpyFile(path: flowOut).shape, [2000, 4, 4])
        let table = try String(contentsOfFile: dir.appendingPathComponent("flow.csv").path, encoding: .utf8)
        XCTAssertEqual(table.split(separator: "\n").count, 2001)
        XCTAssertTrue(table.hasPrefix("step,log_p,log_q,accepted,proposal_log_p,proposal_log_q\n"), table)
        // Where the chain accepts, the proposal is the chain's new state.
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",")
            if f[3] == "1" { XCTAssertEqual(f[1], f[4]); XCTAssertEqual(f[2], f[5]) }
        }
        // The flow chain's analysis reads the proposals beside it.
        let fa = try run(["analyze", flowOut, "--config", cfg.path])
        XCTAssertEqual(fa.code, 0, fa.err)
        XCTAssertTrue(fa.out.contains("proposals: ESS") && fa.out.contains("Pareto k"), fa.out)
        let flowObs = try Observables.load(path: dir.appendingPathComponent("flow.analysis.json").path)
        let weights = try XCTUnwrap(flowObs.proposals?.weights)
        XCTAssertEqual(weights.count, 2000)
        XCTAssertTrue(weights.paretoK.isFinite && weights.ess > 0 && weights.ess <= 1)
        let bestESS = try run(["sample", res + "/small", "--n", "50", "--model", "best_ess", "--out",
                               dir.appendingPathComponent("flow_ess.npy").path])
        XCTAssertEqual(bestESS.code, 0, bestESS.err)
        let badModel = try run(["sample", res + "/small", "--n", "50", "--model", "worst"])
        XCTAssertEqual(badModel.code, 2)
        XCTAssertTrue(badModel.err.contains("best, best_ess or last"), badModel.err)
        let hmcOut = dir.appendingPathComponent("hmc.npy").path
        let h = try run(["hmc", cfg.path, "--n", "200", "--burn-in", "50", "--out", hmcOut])
        XCTAssertEqual(h.code, 0, h.err)
        XCTAssertEqual(try NpyFile(path: hmcOut).shape, [200, 4, 4])
        let a = try run(["analyze", hmcOut, "--config", cfg.path])
        XCTAssertEqual(a.code, 0, a.err)
        XCTAssertTrue(a.out.contains("chi_2"), a.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("hmc.analysis.json").path))
        for f in ["hmc.analysis.csv", "hmc.analysis.C.svg", "hmc.analysis.meff.svg", "hmc.analysis.autocorr.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
        // The report of the trained folder, with the analysis copied in.
        try FileManager.default.copyItem(at: dir.appendingPathComponent("hmc.analysis.json"),
                                         to: URL(fileURLWithPath: res + "/small/hmc.analysis.json"))
        let rep = try run(["report", res + "/small"])
        XCTAssertEqual(rep.code, 0, rep.err)
        var html = try String(contentsOfFile: res + "/small/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("Analysis: hmc.analysis.json"))
        XCTAssertTrue(html.contains("Settings the run used") && html.contains("Pareto k of the evaluation weights"))
        // A flow chain's analysis brings the proposals' figures and verdict.
        try FileManager.default.copyItem(at: dir.appendingPathComponent("flow.analysis.json"),
                                         to: URL(fileURLWithPath: res + "/small/flow.analysis.json"))
        XCTAssertEqual(try run(["report", res + "/small"]).code, 0)
        html = try String(contentsOfFile: res + "/small/report.html", encoding: .utf8)
        for title in ["Flow action S_eff", "Log importance weights", weights.verdict] {
            XCTAssertTrue(html.contains(SVGPlot.escape(title)), title)
        }
        // A chain from another lattice is a one-line error.
        let other = dir.appendingPathComponent("other.toml")
        try String(contentsOf: cfg, encoding: .utf8).replacingOccurrences(of: "L = 4", with: "L = 6").write(to: other, atomically: true, encoding: .utf8)
        let bad = try run(["analyze", hmcOut, "--config", other.path])
        XCTAssertEqual(bad.code, 2)
        // The chain's record names the theory it was sampled from.
        XCTAssertTrue(bad.err.hasPrefix("error: ") && bad.err.contains("L 4 in the chain, 6 in"), bad.err)
        // --compare: the flow chain against the HMC analysis, observable by observable.
        let hmcJSON = dir.appendingPathComponent("hmc.analysis.json").path
        let cmp = try run(["analyze", flowOut, "--config", cfg.path, "--compare", hmcJSON])
        XCTAssertEqual(cmp.code, 0, cmp.err)
        let expected = try ObservableComparison(flowObs, try Observables.load(path: hmcJSON), file: hmcJSON)
        XCTAssertTrue(cmp.out.contains("compared with \(hmcJSON)"), cmp.out)
        XCTAssertTrue(cmp.out.contains(String(format: "largest |difference| %.2f sigma over %d observables",
                                              expected.largestSigmas, expected.finite.count)), cmp.out)
        // An analysis of another lattice, or a file that is none, is refused before anything is written.
        let otherChain = dir.appendingPathComponent("other6.npy").path
        XCTAssertEqual(try run(["hmc", other.path, "--n", "60", "--burn-in", "10", "--out", otherChain]).code, 0)
        XCTAssertEqual(try run(["analyze", otherChain, "--config", other.path]).code, 0)
        let wrongLattice = try run(["analyze", flowOut, "--config", cfg.path, "--compare",
                                    dir.appendingPathComponent("other6.analysis.json").path])
        XCTAssertEqual(wrongLattice.code, 2)
        XCTAssertTrue(wrongLattice.err.hasPrefix("error: ") && wrongLattice.err.contains("another theory (L 6 there, 4 in")
                      && wrongLattice.err.split(separator: "\n").count == 1, wrongLattice.err)
        let notAnalysis = try run(["analyze", flowOut, "--config", cfg.path, "--compare", cfg.path])
        XCTAssertEqual(notAnalysis.code, 2)
        XCTAssertTrue(notAnalysis.err.contains("is not an analysis written by `gomalizing analyze`"), notAnalysis.err)
        let missing = try run(["sample", dir.appendingPathComponent("nothing").path, "--n", "5"])
        XCTAssertEqual(missing.code, 2)
        XCTAssertTrue(missing.err.contains("no such result folder"), missing.err)
    }

    /// --json: every stdout line is a JSON object; the epoch events carry what history.csv holds.
    func testJSONLogIsOneObjectPerLine() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = dir.appendingPathComponent("j.toml")
        try "[training]\nbatchsize = 8\nepochs = 2\niterations = 5\nbase_lr = 0.001\neval_samples = 64\n[physical]\nL = 4\nNd = 2\nM2 = -1\nlam = 0.5\n[model]\nn_layers = 2\nhidden_sizes = [4]\nkernel_size = 3\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let r = try run(["train", cfg.path, "--result", dir.appendingPathComponent("res").path, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let events = try r.out.split(separator: "\n").map { line -> [String: Any] in
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try XCTUnwrap(obj as? [String: Any], String(line))
        }
        XCTAssertEqual(events.map { $0["event"] as? String }, ["start", "epoch", "epoch", "done"])
        XCTAssertEqual(events[0]["parameters"] as? Int, FlowArchitecture(spec: try Config.load(path: cfg.path).model).parameterCount)
        let history = try History.read(path: dir.appendingPathComponent("res/j/history.csv").path)
        for (k, e) in events[1...2].enumerated() {
            XCTAssertEqual(e["epoch"] as? Int, k + 1)
            for key in ["loss", "acceptance_rate", "ess", "lr"] {
                let v = try XCTUnwrap(e[key] as? Double, key)
                XCTAssertEqual(v, history[key]![k], accuracy: 1e-5 * max(1, abs(v)), key)
            }
        }
        XCTAssertTrue(r.err.isEmpty, "no progress bar under --json: \(r.err)")
    }
}

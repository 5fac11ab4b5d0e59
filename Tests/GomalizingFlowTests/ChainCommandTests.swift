import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// `hmc --fourier-mass2` and `cluster`: the same .npy and record as `hmc`,
/// analysed the same way; one-line errors; SIGTERM leaves nothing.
final class ChainCommandTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = temporaryDirectory()
        try tinyConfigText().write(to: dir.appendingPathComponent("tiny.toml"), atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    func gomalizing(_ args: [String], whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runCommand(exe, args, in: dir, timeout: 300, whileRunning: whileRunning)
    }

    /// Each chain is written with its record (the sampler's settings and its
    /// clock), lands at its default name, and `analyze` reads it with a cost line.
    func testChainsCarryTheirSettingsAndAnalyse() throws {
        let runs: [([String], String, [String: String])] = [
            (["hmc", "tiny.toml", "--fourier-mass2", "0.5", "--step-size", "0.2", "--steps", "5", "--step-jitter", "0.1",
              "--out", "f.npy"], "f.npy", ["fourier_mass2": "0.5", "step_jitter": "0.1", "steps": "5"]),
            (["cluster", "tiny.toml", "--clusters", "2"], "result/tiny/cluster.npy", ["clusters": "2", "step_size": "0.1"]),
            (["cluster", "tiny.toml", "--fourier-mass2", "1"], "result/tiny/cluster_fourier.npy", ["fourier_mass2": "1.0", "clusters": "1"]),
            (["hmc", "tiny.toml", "--fourier-mass2", "2"], "result/tiny/hmc_fourier.npy", ["fourier_mass2": "2.0"]),
        ]
        for (args, path, expected) in runs {
            let r = try gomalizing(args + ["--n", "400", "--burn-in", "50"])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertTrue(r.out.contains("acceptance"), r.out)
            let chain = dir.appendingPathComponent(path)
            let record = try XCTUnwrap(try Provenance.loadIfPresent(Provenance.sidecar(of: chain)))
            XCTAssertEqual(record.command, args[0])
            for (key, value) in expected { XCTAssertEqual(record.details?[key], value, "\(args): \(key)") }
            XCTAssertNotNil(record.details?["seconds"].flatMap(Double.init))
            // The trajectories' own acceptance (analyze counts changed rows, about 100% for clusters).
            let acceptance = try XCTUnwrap(record.details?["acceptance"].flatMap(Double.init))
            XCTAssertTrue(acceptance > 0 && acceptance <= 100, "\(acceptance)")
            let printed = try XCTUnwrap(r.out.firstMatch(of: #/acceptance ([0-9.]+)%/#).flatMap { Double($0.1) }, r.out)
            XCTAssertEqual(printed, acceptance, accuracy: 0.006)
            if args[0] == "cluster" {
                let fraction = try XCTUnwrap(record.details?["mean_cluster_fraction"].flatMap(Double.init))
                XCTAssertTrue(fraction > 0 && fraction <= 1, "\(fraction)")
                XCTAssertTrue(r.out.contains("Wolff cluster"), r.out)
            }
            let a = try gomalizing(["analyze", chain.path, "--config", "tiny.toml"])
            XCTAssertEqual(a.code, 0, a.err)
            XCTAssertTrue(a.out.contains("cost:"), a.out)
        }
        // The same seed gives the same chain.
        XCTAssertEqual(try gomalizing(["cluster", "tiny.toml", "--n", "400", "--burn-in", "50", "--clusters", "2", "--out", "again.npy"]).code, 0)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("again.npy")),
                       try Data(contentsOf: dir.appendingPathComponent("result/tiny/cluster.npy")))
    }

    func testBadOptionsAreOneLineErrors() throws {
        let cases: [([String], [String])] = [
            (["cluster", "tiny.toml", "--n", "5", "--clusters", "0"], ["--clusters must be >= 1"]),
            (["cluster", "tiny.toml", "--n", "5", "--clusters", "2e6"], ["--clusters must be <= 1000000"]),
            (["hmc", "tiny.toml", "--n", "5", "--fourier-mass2", "0"], ["--fourier-mass2 must be a finite number > 0"]),
            (["cluster", "tiny.toml", "--n", "5", "--fourier-mass2", "nan"], ["--fourier-mass2"]),
            (["hmc", "tiny.toml", "--n", "5", "--step-jitter", "1"], ["--step-jitter must be in [0, 1)"]),
            (["cluster", "tiny.toml", "--n", "5", "--step-size", "0"], ["--step-size"]),
            (["cluster", "tiny.toml", "--n", "5", "--out", "c.csv"], ["--out c.csv", ".npy"]),
        ]
        for (args, mentions) in cases {
            assertOneLineError(try gomalizing(args), mentions: mentions + ["(see gomalizing"])
        }
        try "[physical]\nL = 0\n".write(to: dir.appendingPathComponent("bad.toml"), atomically: true, encoding: .utf8)
        assertOneLineError(try gomalizing(["cluster", "bad.toml", "--n", "5"]), mentions: ["bad.toml"])
        // An existing chain is not replaced without --overwrite.
        XCTAssertEqual(try gomalizing(["cluster", "tiny.toml", "--n", "5", "--out", "c.npy"]).code, 0)
        let before = try Data(contentsOf: dir.appendingPathComponent("c.npy"))
        assertOneLineError(try gomalizing(["cluster", "tiny.toml", "--n", "6", "--out", "c.npy"]), mentions: ["c.npy", "--overwrite"])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("c.npy")), before)
    }

    /// SIGTERM ends a cluster chain cleanly: one line, 128 + 15, no partial or temporary files.
    func testSIGTERMStopsAClusterChainWithoutLeavingFiles() throws {
        try assertSIGTERMStopsCleanly(gomalizing, ["cluster", "tiny.toml", "--n", "5000000", "--burn-in", "0"], in: dir,
                                      output: "long.npy")
    }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Random command lines for every subcommand, run as a user would run them:
/// each must end by itself (no trap, no signal) with status 0, or with status
/// 2 and exactly one line on stderr. Values mix valid ones, malformed ones and
/// sizes that must be refused; valid values are kept small so that every run
/// is short. Seeded like `FuzzTests` (GOMALIZING_FUZZ_SCALE, GOMALIZING_FUZZ_SEED).
final class CommandLineFuzzTests: XCTestCase {
    static let environment = ProcessInfo.processInfo.environment
    let scale = Int(environment["GOMALIZING_FUZZ_SCALE"] ?? "") ?? 1
    var rng = Xoshiro256(seed: UInt64(environment["GOMALIZING_FUZZ_SEED"] ?? "") ?? 20261201)
    var dir: URL!

    override func setUp() { dir = temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }
    func chance(_ p: Double) -> Bool { rng.uniform() < p }

    // Value pools. Valid sizes stay small; the large ones must be refused.
    let counts = ["0", "-1", "1", "2", "3", "abc", "", "1.5", "99999999999999999999", "-99999999999", "0x10"]
    let sizes = ["1", "7", "64", "0", "-5", "10000000000", "100000000000000", "abc", "1e3", ""]
    let seeds = ["0", "1", "-1", "18446744073709551615", "18446744073709551616", "x", ""]
    let junk = ["--bogus", "-x", "--", "-", "--n=5", "ü", "--help", "\u{1}", "%%", "--threads"]

    /// Files the commands point at: a config, its trained run, a chain, and wrong things.
    func fixtures(_ exe: URL) throws {
        try tinyConfigText(iterations: 2, batch: 4).write(to: dir.appendingPathComponent("tiny.toml"), atomically: true, encoding: .utf8)
        try tinyConfigText(iterations: 2, batch: 4).replacingOccurrences(of: "L = 4", with: "L = 6")
            .write(to: dir.appendingPathComponent("six.toml"), atomically: true, encoding: .utf8)
        try tinyConfigText().replacingOccurrences(of: "L = 4", with: "L = 5")
            .write(to: dir.appendingPathComponent("bad.toml"), atomically: true, encoding: .utf8)
        try "".write(to: dir.appendingPathComponent("empty.toml"), atomically: true, encoding: .utf8)
        try "plain text".write(to: dir.appendingPathComponent("plain.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("folder"), withIntermediateDirectories: true)
        try "seeds = 2\nresult = \"sweeps\"\n[[grid]]\nconfigs = [\"tiny.toml\"]\n[grid.vary.model]\nconv = [\"full\", \"cross\"]\n"
            .write(to: dir.appendingPathComponent("grid.toml"), atomically: true, encoding: .utf8)
        try "[[grid]]\nconfigs = [\"bad.toml\"]\n".write(to: dir.appendingPathComponent("badgrid.toml"), atomically: true, encoding: .utf8)
        for args in [["train", "tiny.toml", "--quiet"], ["sample", "result/tiny", "--n", "30", "--out", "chain.npy"]] {
            let r = try runCommand(exe, args, in: dir, timeout: 120)
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
        }
    }

    func options(_ command: String) -> [(String, [String])] {
        let configs = ["tiny.toml", "six.toml", "bad.toml", "empty.toml", "plain.txt", "folder", "missing.toml", ""]
        let runs = ["result/tiny", "folder", "missing", "plain.txt", "", "result/tiny/history.csv"]
        switch command {
        case "train":
            return [("", configs), ("--epochs", ["1", "2", "0", "-1", "abc", "99999999999999999999"]),
                    ("--threads", ["1", "2", "0", "-1", "5000", "abc"]), ("--result", ["r1", "r2", "", "plain.txt", "result"]),
                    ("--device", ["cpu", "gpu", "tpu", ""]), ("--resume", []), ("--overwrite", []), ("--quiet", []), ("--json", [])]
        case "sample":
            return [("", runs), ("--n", ["1", "5", "30"] + counts + ["100000000000000"]), ("--seed", seeds),
                    ("--out", ["s.npy", "s.csv", "", "folder", "deep/new/s.npy", "chain.npy.npy", ".npy"]),
                    ("--model", ["best", "last", "worst", ""]), ("--batch", sizes), ("--threads", ["1", "2", "0", "-3", "99999"]),
                    ("--device", ["cpu", "gpu"])]
        case "hmc":
            return [("", configs), ("--n", ["1", "5", "30"] + counts + ["100000000000000"]),
                    ("--step-size", ["0.1", "0", "-1", "nan", "inf", "abc", "1e-3"]), ("--steps", ["1", "3", "0", "-2", "x"]),
                    ("--burn-in", ["0", "1", "5", "-1", "abc", ""]), ("--every", ["1", "2", "0", "-1"]), ("--seed", seeds),
                    ("--out", ["h.npy", "h.csv", "", "folder", "plain.txt/h.npy"]),
                    ("--fourier-mass2", ["0.5", "0", "-1", "nan", "inf", "x"]), ("--step-jitter", ["0", "0.2", "1", "-0.1", "nan"])]
        case "cluster":
            return options("hmc") + [("--clusters", ["1", "3", "0", "-1", "1000001", "x"])]
        case "analyze":
            return [("", ["chain.npy", "tiny.toml", "missing.npy", "folder", "plain.txt", ""]),
                    ("--config", configs), ("--skip", ["0", "5", "26", "1000000", "-1", "x"]),
                    ("--json", ["out.json", "out.csv", "", "folder", "chain.npy", "plain.txt/a.json", "deep/a.json"]),
                    ("--compare", ["out.json", "chain.npy", "tiny.toml", "missing.json", "", "folder"])]
        case "watch":
            return [("", runs + ["tiny.toml", "six.toml"]), ("--item", ["acceptance_rate", "ess", "loss", "nope", "", "epoch"]),
                    ("--result", ["result", "r1", ""]), ("--last", counts), ("--ylim", ["0,100", "-5,5", "5,0", "a,b", "", "nan,1"]),
                    ("--width", ["20", "80", "19", "0", "99999999999", "4097", "abc"]), ("--height", ["2", "10", "1", "0", "99999999999"]),
                    ("--interval", ["1", "0", "-1", "1e9", "x"])]
        case "report":
            return [("", runs)]
        case "sweep":
            return [("", ["grid.toml", "badgrid.toml", "tiny.toml", "empty.toml", "plain.txt", "folder", "missing.toml", ""]),
                    ("--parallel", ["1", "2", "0", "-1", "65", "x"]), ("--threads", ["1", "2", "0", "-1", "5000"]),
                    ("--list", []), ("--tabulate", []), ("--quiet", [])]
        case "bench":
            return [("--threads", ["1", "0", "-1", "99999", "x"]), ("--seconds", ["0.01", "0", "-1", "1e9", "nan", "x"])]
        default:
            return []
        }
    }

    func randomCommandLine() -> [String] {
        let commands = ["train", "sweep", "sample", "hmc", "cluster", "analyze", "watch", "report", "bench"]
        if chance(0.04) { return [pick(["trian", "", "help", "--help", "smaple", "zzz", "-n"])] + (chance(0.5) ? [pick(commands)] : []) }
        let command = pick(commands)
        var args = [command]
        for (name, values) in options(command).shuffled(using: &rng) where name.isEmpty || chance(0.35) {
            if name.isEmpty {
                if chance(0.95) { args.append(pick(values)) }
            } else if values.isEmpty {
                args.append(name)
            } else {
                args += [name, pick(values)]
            }
        }
        if chance(0.1) { args.insert(pick(junk), at: Int.random(in: 1...args.count, using: &rng)) }
        // Long-running modes are pinned: watch draws once, bench times nothing.
        if command == "watch" { args.append("--once") }
        if command == "bench" { args += ["--filter", "no-such-case"] }
        return args
    }

    func testRandomCommandLines() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        try fixtures(exe)
        var outcomes = [Int32: Int]()
        for _ in 0..<(150 * scale) {
            let args = randomCommandLine()
            let shown = args.map { "'\($0)'" }.joined(separator: " ")
            let r = try runCommand(exe, args, in: dir, timeout: 120)
            outcomes[r.code, default: 0] += 1
            XCTAssertFalse(r.timedOut, "\(shown): still running after 120 s")
            XCTAssertFalse(r.signaled, "\(shown): ended by signal \(r.code): \(r.err.prefix(400))")
            XCTAssertTrue(r.code == 0 || r.code == 2, "\(shown): exit status \(r.code): \(r.err.prefix(400))")
            if r.code == 2 {
                XCTAssertEqual(r.err.split(separator: "\n", omittingEmptySubsequences: false).count, 2, "\(shown): not one line: \(r.err)")
                XCTAssertTrue(r.err.hasPrefix("error: "), "\(shown): \(r.err)")
            } else if r.code == 0 {
                XCTAssertTrue(r.err.isEmpty, "\(shown): succeeded but wrote to stderr: \(r.err)")
            }
        }
        // The pools must reach both outcomes, or the test checks little.
        XCTAssertGreaterThan(outcomes[0, default: 0], 10, "\(outcomes)")
        XCTAssertGreaterThan(outcomes[2, default: 0], 50, "\(outcomes)")
    }
}

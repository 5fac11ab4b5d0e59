import Foundation
import GomalizingFlow
import XCTest

/// Seeded uniform values in [-scale, scale].
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = Xoshiro256(seed: seed)
    return (0..<n).map { _ in (2 * rng.uniform() - 1) * scale }
}

func randomNormal(_ n: Int, seed: UInt64) -> [Double] {
    var rng = Xoshiro256(seed: seed)
    var out = [Double](repeating: 0, count: n)
    out.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: n) }
    return out
}

/// Relative error |a - b| / max(|a|, |b|, floor), the usual gradient-check measure.
func relativeError(_ a: Double, _ b: Double, floor: Double = 1e-6) -> Double {
    abs(a - b) / max(abs(a), abs(b), floor)
}

/// Asserts that every analytic derivative matches its central finite difference.
func assertGradientsMatch(analytic: [Double], numeric: [Double], tolerance: Double, floor: Double = 1e-6,
                          _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(analytic.count, numeric.count, file: file, line: line)
    var worst = 0.0
    var worstIndex = -1
    for i in analytic.indices {
        let e = relativeError(analytic[i], numeric[i], floor: floor)
        if e > worst { worst = e; worstIndex = i }
    }
    XCTAssertLessThan(worst, tolerance,
                      "\(what): worst relative error \(worst) at \(worstIndex): analytic \(analytic[max(worstIndex, 0)]) vs numeric \(numeric[max(worstIndex, 0)])",
                      file: file, line: line)
}

/// A folder under the system temp directory, removed by the caller.
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gomalizing-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// log|det a| by LU decomposition with partial pivoting.
func logAbsDet(_ a: [[Double]]) -> Double {
    var m = a
    let n = m.count
    var s = 0.0
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
        m.swapAt(c, p)
        s += log(abs(m[c][c]))
        for r in (c + 1)..<n {
            let f = m[r][c] / m[c][c]
            for k in c..<n { m[r][k] -= f * m[c][k] }
        }
    }
    return s
}


/// Central differences of `loss` with respect to about `samples` parameters of
/// `flow` spread over every tensor, paired with the analytic gradient there.
func parameterGradientPairs(_ flow: Flow<Double>, analytic grads: [Double], samples: Int = 150, h: Double = 1e-6,
                            _ loss: () -> Double) -> (analytic: [Double], numeric: [Double]) {
    var analytic: [Double] = [], numeric: [Double] = []
    for i in stride(from: 0, to: flow.parameters.count, by: max(1, flow.parameters.count / samples)) {
        let keep = flow.parameters[i]
        flow.parameters[i] = keep + h
        let lp = loss()
        flow.parameters[i] = keep - h
        let lm = loss()
        flow.parameters[i] = keep
        analytic.append(grads[i])
        numeric.append((lp - lm) / (2 * h))
    }
    return (analytic, numeric)
}

/// A training config for tests, written as TOML so the parser is exercised too.
func testConfig(name: String, result: URL, L: Int, Nd: Int = 2, M2: Double, lam: Double, batch: Int,
                iterations: Int, epochs: Int = 1, lr: Double, layers: Int, hidden: [Int],
                evalSamples: Int, seed: Int = 1, threads: Int? = 2) throws -> Config {
    var c = try Config.parse("""
    [training]
    seed = \(seed)
    batchsize = \(batch)
    epochs = \(epochs)
    iterations = \(iterations)
    base_lr = \(lr)
    eval_samples = \(evalSamples)
    result = "\(result.path)"
    [physical]
    L = \(L)
    Nd = \(Nd)
    M2 = \(M2)
    lam = \(lam)
    [model]
    n_layers = \(layers)
    hidden_sizes = \(hidden)
    kernel_size = 3
    """, file: "\(name).toml", name: name)
    c.threads = threads
    return c
}

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `gomalizing` built with this test run (the newer of release and debug),
/// or the one GOMALIZING_EXECUTABLE names (to run the CLI tests against another build).
func builtExecutable() -> URL? {
    if let path = ProcessInfo.processInfo.environment["GOMALIZING_EXECUTABLE"], !path.isEmpty {
        return URL(fileURLWithPath: path)
    }
    let candidates = ["release", "debug"].map { repositoryRoot.appendingPathComponent(".build/\($0)/gomalizing") }
        .filter { FileManager.default.isExecutableFile(atPath: $0.path) }
    return candidates.max { a, b in
        let da = (try? a.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
        let db = (try? b.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
        return da < db
    }
}

/// Runs a program to completion; returns its exit code, stdout and stderr.
func runProcess(_ exe: URL, _ args: [String]) throws -> (code: Int32, out: String, err: String) {
    let r = try runCommand(exe, args)
    return (r.code, r.out, r.err)
}

/// How a program ended: its exit status (or signal), whether a signal ended it,
/// its output, and whether it was killed for running past the time limit.
struct CommandResult {
    var code: Int32
    var signaled: Bool
    var timedOut: Bool
    var out: String
    var err: String
}

/// Runs a program in `directory` (default: this process's), killing it after
/// `timeout` seconds; `whileRunning` is called with its pid once it has started.
func runCommand(_ exe: URL, _ args: [String], in directory: URL? = nil, timeout: Double? = nil,
                whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    if let directory { p.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Both pipes are read on other threads so that neither can fill and block the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let o = Box(), e = Box()
    let done = DispatchGroup()
    for (box, pipe) in [(o, out), (e, err)] {
        DispatchQueue.global().async(group: done) { box.data = pipe.fileHandleForReading.readDataToEndOfFile() }
    }
    whileRunning?(p.processIdentifier)
    var timedOut = false
    if let timeout {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        if p.isRunning {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
        }
    }
    done.wait()
    p.waitUntilExit()
    return CommandResult(code: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal, timedOut: timedOut,
                         out: String(decoding: o.data, as: UTF8.self), err: String(decoding: e.data, as: UTF8.self))
}

/// A tiny training config as TOML text (L = 4, 2D), for the command-line tests.
func tinyConfigText(epochs: Int = 1, iterations: Int = 5, batch: Int = 8, hidden: [Int] = [8], lam: Double = 0.5,
                    M2: Double = -1, extra: String = "") -> String {
    """
    [training]
    seed = 3
    batchsize = \(batch)
    epochs = \(epochs)
    iterations = \(iterations)
    base_lr = 0.002
    eval_samples = 64
    \(extra)
    [physical]
    L = 4
    Nd = 2
    M2 = \(M2)
    lam = \(lam)
    [model]
    n_layers = 2
    hidden_sizes = \(hidden)
    kernel_size = 3

    """
}

/// Every file of a folder with its bytes, to check that a command changed nothing.
func folderSnapshot(_ dir: URL) -> [String: Data] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return Dictionary(uniqueKeysWithValues: names.map { ($0, (try? Data(contentsOf: dir.appendingPathComponent($0))) ?? Data()) })
}

/// An input error as the CLI must report it: status 2, not a signal, one line starting "error: ".
func assertOneLineError(_ r: CommandResult, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.code, 2, r.err, file: file, line: line)
    XCTAssertFalse(r.signaled, file: file, line: line)
    XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err, file: file, line: line)
    XCTAssertTrue(r.err.hasPrefix("error: "), r.err, file: file, line: line)
    for m in mentions { XCTAssertTrue(r.err.contains(m), "expected \(m) in: \(r.err)", file: file, line: line) }
}

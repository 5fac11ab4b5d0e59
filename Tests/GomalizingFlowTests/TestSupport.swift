import Foundation
import GomalizingFlow
import GomalizingRun
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

/// The parameter gradient of the loss sum(f(phi)) - sum(logJ) over n normal
/// draws (`seed`), given f' (`dPhi`): a loss that is not stationary at the
/// identity, for checking that gradients reach given parameters.
func lossGradient(_ flow: Flow<Double>, n: Int = 4, seed: UInt64 = 7, dPhi: (Double) -> Double) -> [Double] {
    let V = flow.lattice.volume
    let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n)
    tape.input.update(from: randomNormal(n * V, seed: seed), count: n * V)
    flow.forward(tape: tape, n: n)
    var grads = [Double](repeating: 0, count: flow.architecture.parameterCount)
    flow.pullback(tape: tape, n: n, dPhi: (0..<(n * V)).map { dPhi(tape.output[$0]) },
                  dLogJ: [Double](repeating: -1, count: n), grads: &grads)
    return grads
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

/// Sleeps `interval` microseconds at a time until `done()` holds or `attempts`
/// sleeps have passed; returns whether it held. (A `for _ in 0..<n where !done()`
/// loop would not stop: it skips the sleep but goes on evaluating `done()`.)
@discardableResult
func poll(attempts: Int, every interval: useconds_t, until done: () -> Bool) -> Bool {
    for _ in 0..<attempts {
        if done() { return true }
        usleep(interval)
    }
    return done()
}

/// Runs a program in `directory` (default: this process's), killing it after
/// `timeout` seconds; `whileRunning` is called with its pid once it has started.
func runCommand(_ exe: URL, _ args: [String], in directory: URL? = nil, timeout: Double? = nil,
                environment: [String: String] = [:], whileRunning: ((pid_t) -> Void)? = nil) throws -> CommandResult {
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    if let directory { p.currentDirectoryURL = directory }
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
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

/// `text` (a config) with `keys` (TOML lines) added at the top of its [model] section.
func addingModelKeys(_ keys: String, to text: String) -> String {
    text.replacingOccurrences(of: "[model]\n", with: "[model]\n" + keys + "\n")
}

/// A bad config as `Config.parse` must refuse it: it throws, and the error is
/// one line naming every one of `mentions` (the file and the key among them).
func assertConfigError(_ parse: @autoclosure () throws -> Config, mentions: [String], _ message: String = "",
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try parse(), message, file: file, line: line) { e in
        let text = "\(e)"
        for m in mentions { XCTAssertTrue(text.contains(m), "expected \(m) in: \(text)", file: file, line: line) }
        XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
    }
}

/// An input error as the CLI must report it: status 2, not a signal, one line starting "error: ".
func assertOneLineError(_ r: CommandResult, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.code, 2, r.err, file: file, line: line)
    XCTAssertFalse(r.signaled, file: file, line: line)
    XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err, file: file, line: line)
    XCTAssertTrue(r.err.hasPrefix("error: "), r.err, file: file, line: line)
    for m in mentions { XCTAssertTrue(r.err.contains(m), "expected \(m) in: \(r.err)", file: file, line: line) }
}

/// A net layer's pullback against central differences of L = sum r * layer(x)
/// on an L = 4 lattice in Float64, for every parameter and 200 input values.
func assertLayerGradient(_ layer: CombinationalConv, parameterCount P: Int, d: Int, _ what: String) {
    let L = 4, n = d == 4 ? 1 : 2
    let cin = layer.cin, cout = layer.cout
    let V = Lattice(L: L, d: d).volume
    var params = randomArray(P, seed: 11, scale: 0.5)
    var x = randomArray(n * V * cin, seed: 12)
    let r = randomArray(n * V * cout, seed: 13)
    let size = n * V * cout

    func loss(_ params: [Double], _ x: [Double]) -> Double {
        var y = [Double](repeating: 0, count: size)
        var br = [Double](repeating: 0, count: layer.branchCount * size)
        var ws = [Double](repeating: 0, count: 2 * P)
        x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in
            layer.forward(xp.baseAddress!, &y, branches: &br, n: n, params: pp.baseAddress!, weightScratch: &ws)
        } }
        return zip(y, r).map(*).reduce(0, +)
    }

    var y = [Double](repeating: 0, count: size)
    var br = [Double](repeating: 0, count: layer.branchCount * size)
    var grads = [Double](repeating: 0, count: P)
    var dx = [Double](repeating: 0, count: x.count)
    var scratch = [Double](repeating: 0, count: size)
    var wscratch = [Double](repeating: 0, count: 2 * P)
    x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in
        layer.forward(xp.baseAddress!, &y, branches: &br, n: n, params: pp.baseAddress!, weightScratch: &wscratch)
        layer.pullback(xp.baseAddress!, output: y, branches: br, r, dx: &dx, n: n,
                       params: pp.baseAddress!, grads: &grads, scratch: &scratch, weightScratch: &wscratch)
    } }

    let h = 1e-6
    var numP = [Double](repeating: 0, count: P)
    for i in 0..<P {
        let keep = params[i]
        params[i] = keep + h; let lp = loss(params, x)
        params[i] = keep - h; let lm = loss(params, x)
        params[i] = keep
        numP[i] = (lp - lm) / (2 * h)
    }
    var numX: [Double] = [], anaX: [Double] = []
    for i in Swift.stride(from: 0, to: x.count, by: max(1, x.count / 200)) {
        let keep = x[i]
        x[i] = keep + h; let lp = loss(params, x)
        x[i] = keep - h; let lm = loss(params, x)
        x[i] = keep
        numX.append((lp - lm) / (2 * h))
        anaX.append(dx[i])
    }
    assertGradientsMatch(analytic: grads, numeric: numP, tolerance: 1e-5, floor: 1e-4, "dparams " + what)
    assertGradientsMatch(analytic: anaX, numeric: numX, tolerance: 1e-5, floor: 1e-4, "dx " + what)
}

/// log|det J| of a flow at z by brute force: the Jacobian by central
/// differences and its determinant by LU.
func bruteForceLogDet(_ flow: Flow<Double>, at z: [Double]) -> Double {
    let V = flow.lattice.volume
    func phi(_ z: [Double]) -> [Double] {
        let tape = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
        tape.input.update(from: z, count: V)
        flow.forward(tape: tape, n: 1)
        return Array(UnsafeBufferPointer(start: tape.output, count: V))
    }
    var J = [[Double]](repeating: [Double](repeating: 0, count: V), count: V)
    let h = 1e-6
    for j in 0..<V {
        var zp = z, zm = z
        zp[j] += h
        zm[j] -= h
        let fp = phi(zp), fm = phi(zm)
        for i in 0..<V { J[i][j] = (fp[i] - fm[i]) / (2 * h) }
    }
    return logAbsDet(J)
}

/// A flow of `spec` with weights scaled by 3 (clearly not volume-preserving) is
/// exact: its log|det J| equals the brute-force Jacobian's, and the inverse
/// gives back z and the same log-det.
func assertExactFlow(_ spec: ModelSpec, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
    let flow = Flow<Double>(spec: spec)
    flow.parameters = flow.parameters.map { $0 * 3 }
    let V = flow.lattice.volume
    let z = randomNormal(V, seed: seed)
    let tape = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
    tape.input.update(from: z, count: V)
    flow.forward(tape: tape, n: 1)
    let phi = Array(UnsafeBufferPointer(start: tape.output, count: V)), logJ = tape.logJ[0]
    let brute = bruteForceLogDet(flow, at: z)
    XCTAssertGreaterThan(abs(brute), 0.5, "the test needs a non-trivial Jacobian", file: file, line: line)
    XCTAssertEqual(logJ, brute, accuracy: 1e-6, spec.convName, file: file, line: line)
    let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
    back.output.update(from: phi, count: V)
    flow.inverse(tape: back, n: 1)
    for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-12, file: file, line: line) }
    XCTAssertEqual(back.logJ[0], logJ, accuracy: 1e-10, file: file, line: line)
}

/// Runs a chain command through `run` (a test's `gomalizing(_:whileRunning:)`), sends SIGTERM once
/// the temporary of `output` (a name in `dir`) exists, and checks the clean stop: one line, status
/// 128 + 15, "nothing written", and no file named like the output left.
func assertSIGTERMStopsCleanly(_ run: ([String], ((pid_t) -> Void)?) throws -> CommandResult, _ args: [String],
                               in dir: URL, output: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let stem = URL(fileURLWithPath: output).deletingPathExtension().lastPathComponent
    let r = try run(args + ["--out", output]) { pid in
        // Once the temporary exists, the chain is running.
        for _ in 0..<2000 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            if names.contains(where: { $0.hasPrefix(".\(output).tmp-") }) { break }
            usleep(5_000)
        }
        kill(pid, SIGTERM)
    }
    XCTAssertEqual(r.code, 143, r.err, file: file, line: line)
    XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err, file: file, line: line)
    XCTAssertTrue(r.err.hasPrefix("interrupted by SIGTERM: nothing written"), r.err, file: file, line: line)
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    XCTAssertFalse(names.contains { $0.contains("\(stem).") }, "\(names)", file: file, line: line)
}

/// Every component of G(x) from a chain within 3 sigma of the exact free propagator.
func assertMatchesFreeField(_ obs: Observables, lattice: Lattice, m2: Double, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
    let exact = FreeField.propagator(lattice: lattice, m2: m2)
    for x in 0..<lattice.volume {
        let e = obs.G[x]
        XCTAssertLessThan(abs(e.value - exact[x]), 3 * e.error,
                          "\(what): G(\(lattice.coordinates(x))) = \(e.value) ± \(e.error), exact \(exact[x])", file: file, line: line)
    }
    XCTAssertLessThan(abs(obs.susceptibility.value - 1 / (2 * m2)), 3 * obs.susceptibility.error, what, file: file, line: line)
}

/// Runs `body` with `path` as the active convolution kernels, then restores
/// the previous path.
func withKernelPath<R>(_ path: KernelPath, _ body: () -> R) -> R {
    let before = KernelPath.active
    KernelPath.select(path)
    defer { KernelPath.select(before) }
    return body()
}

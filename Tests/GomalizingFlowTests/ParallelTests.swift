import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// What data parallelism rests on, checked in one process: prior draws and the
/// sampler's chain do not depend on how a batch is split.
final class ParallelTests: XCTestCase {
    func testPriorDrawsOfARangeAreASliceOfTheWholeBatch() {
        let draws = PriorDraws(seed: 11, purpose: .training, volume: 16)
        var whole = [Float](repeating: 0, count: 32 * 16)
        var part = [Float](repeating: 0, count: 8 * 16)
        whole.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: 3, first: 0, count: 32) }
        part.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: 3, first: 12, count: 8) }
        XCTAssertEqual(part, Array(whole[(12 * 16)..<(20 * 16)]))
        // Other steps, purposes and seeds give other draws.
        var other = [Float](repeating: 0, count: 8 * 16)
        other.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: 4, first: 12, count: 8) }
        XCTAssertNotEqual(other, part)
        let eval = PriorDraws(seed: 11, purpose: .evaluation, volume: 16)
        other.withUnsafeMutableBufferPointer { eval.fill($0.baseAddress!, step: 3, first: 12, count: 8) }
        XCTAssertNotEqual(other, part)
        // And they are standard normal: mean 0, variance 1 within 5 sigma.
        let n = Double(whole.count)
        let mean = whole.reduce(0.0) { $0 + Double($1) } / n
        let variance = whole.reduce(0.0) { $0 + Double($1) * Double($1) } / n - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 5 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 5 * (2 / n).squareRoot())
    }

    /// The chain is a function of the seed alone: batch size and threads only
    /// change how the proposals are computed.
    func testSamplerChainDoesNotDependOnBatchSizeOrThreads() {
        let flow = Flow<Float>(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3))
        let action = Phi4Action(lattice: flow.lattice, m2: -1, lam: 0.5)
        func chain(batch: Int, threads: Int) -> [Float] {
            let sampler = FlowSampler(flow: flow, action: action, batchSize: batch, seed: 5, threads: threads)
            var out: [Float] = []
            sampler.run(steps: 50) { phi, lp, lq, acc in
                out.append(contentsOf: UnsafeBufferPointer(start: phi, count: 16))
                out.append(Float(lp))
                out.append(acc ? 1 : 0)
            }
            return out
        }
        let reference = chain(batch: 64, threads: 2)
        XCTAssertEqual(chain(batch: 7, threads: 1), reference)
        XCTAssertEqual(chain(batch: 50, threads: 2), reference)
    }

    /// With the even sites integrated out each accepted proposal is completed
    /// from its own stream: the chain of whole configurations is the same too.
    func testCompletedChainDoesNotDependOnBatchSizeOrThreads() {
        let flow = Flow<Float>(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3, integrateEvenSites: true))
        let target = FlowTarget.oddSites(OddSiteMarginal(lattice: flow.lattice, m2: -1, lam: 0.5))
        func chain(batch: Int, threads: Int) -> [Float] {
            let sampler = FlowSampler(flow: flow, target: target, batchSize: batch, seed: 5, threads: threads)
            var out: [Float] = []
            sampler.run(steps: 50) { phi, lp, _, acc in
                out.append(contentsOf: UnsafeBufferPointer(start: phi, count: 16))
                out.append(Float(lp))
                out.append(acc ? 1 : 0)
            }
            return out
        }
        let reference = chain(batch: 64, threads: 2)
        XCTAssertEqual(chain(batch: 7, threads: 1), reference)
        XCTAssertEqual(chain(batch: 50, threads: 2), reference)
        XCTAssertTrue(reference.contains { $0 != 0 }, "a chain, not zeros")
    }

    func testSerialCommunicatorIsTheIdentity() {
        let c = SerialCommunicator()
        XCTAssertEqual(c.size, 1)
        XCTAssertTrue(c.isRoot)
        var v = [1.5, -2.0]
        c.allreduceSum(&v)
        XCTAssertEqual(v, [1.5, -2.0])
        XCTAssertTrue(c.agree(on: [Float(1), 2, 3]))
    }
}

/// Two MPI ranks through mpirun against one process. Needs the MPI build
/// (`swift build -c release --traits MPI --scratch-path .build-mpi`) and Open
/// MPI's mpirun; skipped without them, except in CI, where .ci/run provides them.
final class MPITests: XCTestCase {
    var mpiExecutable: URL { repositoryRoot.appendingPathComponent(".build-mpi/release/gomalizing") }

    func mpirun() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let found = path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        let missing = found == nil ? "mpirun" : (FileManager.default.isExecutableFile(atPath: mpiExecutable.path) ? nil : mpiExecutable.path)
        if let missing {
            let message = "\(missing) not found; build with the MPI trait (docs/manual/clusters.md) to run the 2-rank tests"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        return found!
    }

    func twoRanks(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try runProcess(try mpirun(), ["-np", "2", "--oversubscribe", "--allow-run-as-root", mpiExecutable.path] + args)
    }

    func single(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        return try runProcess(exe, args)
    }

    func writeConfig(_ dir: URL, name: String, batch: Int, extra: String = "") throws -> URL {
        let url = dir.appendingPathComponent("\(name).toml")
        try """
        [device]
        threads = 1
        [training]
        seed = 3
        batchsize = \(batch)
        epochs = 3
        iterations = 25
        base_lr = 0.002
        eval_samples = 300
        result = "\(dir.appendingPathComponent("res").path)"
        [physical]
        L = 4
        Nd = 2
        M2 = -1.0
        lam = 0.5
        [model]
        seed = 2
        n_layers = 4
        hidden_sizes = [8, 8]
        kernel_size = 3
        fourier_scaling = true
        site_map_features = 2
        shear_features = 1
        \(extra)
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Two ranks of batch 16 train as one process of batch 32, up to float
    /// rounding; only rank 0 writes; then sampling gives the identical chain.
    /// The flow has every optional layer (Fourier layer, shears, site maps), so
    /// that their gradients are reduced over ranks too.
    func testTwoRanksEqualOneProcessWithTheWholeBatch() throws {
        try assertTwoRanksEqualOneProcess(extra: "", z2: "on")
    }

    /// The same with the even sites integrated out: the covering prior draws
    /// of each rank, and the even sites of every accepted proposal drawn from the
    /// proposal's own stream whichever rank proposed it (no Z2 mixture there).
    func testTwoRanksEqualOneProcessWithTheEvenSitesIntegratedOut() throws {
        try assertTwoRanksEqualOneProcess(extra: "integrate_even_sites = true", z2: "off")
    }

    func assertTwoRanksEqualOneProcess(extra: String, z2: String, file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try mpirun()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mpiCfg = try writeConfig(dir, name: "ranks", batch: 16, extra: extra)
        let oneCfg = try writeConfig(dir, name: "whole", batch: 32, extra: extra)
        let m = try twoRanks(["train", mpiCfg.path, "--quiet"])
        XCTAssertEqual(m.code, 0, m.err)
        XCTAssertTrue(m.out.contains("2 MPI ranks"), m.out)
        XCTAssertEqual(m.out.components(separatedBy: "epoch    3").count, 2, "one rank prints: \(m.out)")
        let s = try single(["train", oneCfg.path, "--quiet"])
        XCTAssertEqual(s.code, 0, s.err)

        let rankDir = dir.appendingPathComponent("res/ranks"), oneDir = dir.appendingPathComponent("res/whole")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: rankDir.path).sorted(),
                       ["checkpoint.safetensors", "config.toml", "history.csv", "model_best.safetensors",
                        "model_best_ess.safetensors", "model_last.safetensors", "provenance.json", "settings.txt"])
        let record = try RunProvenance.load(in: rankDir)
        XCTAssertEqual(record.sessions.map(\.provenance.ranks), [2], "the record names both ranks")
        XCTAssertEqual(record.sessions.first?.lastEpoch, 3)
        let hm = try History.read(path: rankDir.appendingPathComponent("history.csv").path)
        let hs = try History.read(path: oneDir.appendingPathComponent("history.csv").path)
        XCTAssertEqual(hm["epoch"], [1, 2, 3])
        for col in ["loss", "loss_std", "acceptance_rate", "ess"] {
            for (a, b) in zip(hm[col]!, hs[col]!) {
                XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(b)), col)
            }
        }
        let arch = FlowArchitecture(spec: try Config.load(path: oneCfg.path).model)
        let pm = try ModelFile.load(arch, from: rankDir.appendingPathComponent("model_last.safetensors").path).parameters
        let ps = try ModelFile.load(arch, from: oneDir.appendingPathComponent("model_last.safetensors").path).parameters
        let diff = zip(pm, ps).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-5, "parameters after 75 steps differ by \(diff)")
        XCTAssertGreaterThan(zip(pm, arch.initialParameters(as: Float.self)).map { abs($0 - $1) }.max()!, 1e-3,
                             "training moved the parameters")

        // Sampling: 2 ranks x 24 proposals a round against one process with 100.
        let mo = dir.appendingPathComponent("m.npy"), so = dir.appendingPathComponent("s.npy")
        // Symmetrised proposals: the sign coins and the inverse passes must follow the proposals across ranks too.
        let ms = try twoRanks(["sample", rankDir.path, "--n", "500", "--batch", "24", "--seed", "4", "--z2", z2, "--out", mo.path])
        XCTAssertEqual(ms.code, 0, ms.err)
        let ss = try single(["sample", rankDir.path, "--n", "500", "--batch", "100", "--seed", "4", "--z2", z2, "--out", so.path])
        XCTAssertEqual(ss.code, 0, ss.err)
        XCTAssertEqual(try Data(contentsOf: mo), try Data(contentsOf: so), "the same chain, bit for bit")
        XCTAssertEqual(try String(contentsOf: mo.deletingPathExtension().appendingPathExtension("csv"), encoding: .utf8),
                       try String(contentsOf: so.deletingPathExtension().appendingPathExtension("csv"), encoding: .utf8))
    }

    /// A SIGTERM to one rank stops both at the same step: rank 0 saves the
    /// progress inside the epoch, every rank exits with 143, and resuming with
    /// two ranks gives the uninterrupted two-rank run. One rank cannot resume it.
    func testSIGTERMToOneRankStopsAllAndResumesExactly() throws {
        _ = try mpirun()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try writeConfig(dir, name: "term", batch: 16)
        let text = try String(contentsOf: cfg, encoding: .utf8)
        try text.replacingOccurrences(of: "iterations = 25", with: "iterations = 3000").write(to: cfg, atomically: true, encoding: .utf8)
        let ref = try twoRanks(["train", cfg.path, "--quiet", "--result", dir.appendingPathComponent("ref").path])
        XCTAssertEqual(ref.code, 0, ref.err)

        let ckpt = dir.appendingPathComponent("res/term/\(Checkpoint.fileName)").path
        let exe = try mpirun()
        let r = try runCommand(exe, ["-np", "2", "--oversubscribe", "--allow-run-as-root", mpiExecutable.path, "train", cfg.path, "--quiet"],
                               timeout: 300) { _ in
            poll(attempts: 3000, every: 10_000) { FileManager.default.fileExists(atPath: ckpt) }
            usleep(100_000)
            // The rank processes: this test's config on their command line, not mpirun's.
            let ranks = self.processes { $0.contains(cfg.path) && $0.first?.hasSuffix("mpirun") == false }
            XCTAssertEqual(ranks.count, 2, "\(ranks)")
            if let one = ranks.last { kill(one, SIGTERM) }
        }
        XCTAssertEqual(r.code, 143, r.err)
        XCTAssertEqual(r.err.components(separatedBy: "interrupted at epoch").count - 1, 1, r.err)
        let arch = FlowArchitecture(spec: try Config.load(path: cfg.path).model)
        let saved = try Checkpoint.load(arch, from: ckpt)
        XCTAssertNotNil(saved.partial, r.err)
        XCTAssertEqual(saved.ranks, 2)

        let one = try single(["train", cfg.path, "--quiet", "--resume"])
        XCTAssertEqual(one.code, 2)
        XCTAssertTrue(one.err.contains("MPI ranks: 2 in the run, 1 now"), one.err)
        let resumed = try twoRanks(["train", cfg.path, "--quiet", "--resume"])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        let a = try History.read(path: dir.appendingPathComponent("res/term/history.csv").path)
        let b = try History.read(path: dir.appendingPathComponent("ref/term/history.csv").path)
        for col in ["epoch", "loss", "loss_std", "acceptance_rate", "ess"] { XCTAssertEqual(a[col], b[col], col) }
        XCTAssertEqual(try ModelFile.load(arch, from: dir.appendingPathComponent("res/term/model_last.safetensors").path),
                       try ModelFile.load(arch, from: dir.appendingPathComponent("ref/term/model_last.safetensors").path))
    }

    /// Process ids whose command line (arguments split at NULs) satisfies `match`, from /proc.
    func processes(_ match: ([String]) -> Bool) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.sorted().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return match(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
        }
    }

    func testInputErrorsArePrintedOnceUnderMPI() throws {
        _ = try mpirun()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try twoRanks(["train", dir.appendingPathComponent("missing.toml").path])
        XCTAssertNotEqual(r.code, 0)
        XCTAssertEqual(r.err.components(separatedBy: "error: ").count - 1, 1, r.err)
    }
}

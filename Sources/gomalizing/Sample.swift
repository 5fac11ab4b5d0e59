import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the flow's independence Metropolis-Hastings chain and write the configurations as .npy.")

    @Argument(help: "A result folder written by `train`, e.g. result/example2d.")
    var resultFolder: String

    @Option(name: .customLong("n"), parsing: .unconditional, help: "Number of chain steps (configurations written), e.g. 100000 or 1e5.",
            transform: Counts.parse)
    var n: Int

    @Option(parsing: .unconditional, help: "Seed of the proposals and the accept/reject draws (a non-negative integer).")
    var seed: UInt64 = 1

    @Option(help: "Output .npy file (default: <result folder>/samples_<model>.npy); a .csv goes beside it: per step the chain's log p, log q, whether the proposal was accepted, and the proposal's log p and log q.")
    var out: String?

    @Option(help: "Which model: best (highest acceptance), best_ess (highest ESS) or last.")
    var model: String = "best"

    @Option(parsing: .unconditional, help: "Proposals drawn per batch.", transform: Counts.parse)
    var batch: Int = 256

    @Option(help: "Z2-symmetrised proposals ±T(z), density (q(φ) + q(−φ))/2, which reach both vacua of the broken phase at the cost of an inverse pass each: on, off, or auto (on when 1024 pilot proposals have M > 0 outside 20-80% and the model is not z2_equivariant).")
    var z2 = "auto"

    @OptionGroup var workers: ThreadOption
    @OptionGroup var device: DeviceOption
    @OptionGroup var replace: OverwriteOption
    var threads: Int? { workers.threads }
    var overwrite: Bool { replace.overwrite }

    func validate() throws {
        try OptionChecks.count(n, "--n")
        try OptionChecks.count(batch, "--batch")
        if !["auto", "on", "off"].contains(z2) { throw ValidationError("--z2 must be auto, on or off, got \(z2)") }
        if !["best", "best_ess", "last"].contains(model) {
            throw ValidationError("--model must be best, best_ess or last, got \(model)")
        }
        if let out { try OptionChecks.outputFile(out, option: "--out", extension: "npy") }
    }

    func run() throws {
        let world = worldCommunicator()
        try reportingErrors(communicator: world) {
            let started = Date()  // the chain's cost: all of the command, model load and pilot or burn-in included
            try device.check()
            let dir = try Sample.resultFolder(resultFolder)
            let cfg = try Config.load(path: dir.appendingPathComponent("config.toml").path)
            let npyURL = out.map { URL(fileURLWithPath: $0) } ?? dir.appendingPathComponent("samples_\(model).npy")
            let tableURL = npyURL.deletingPathExtension().appendingPathExtension("csv")
            let modelURL = dir.appendingPathComponent("model_\(model).safetensors")
            let inputs: [(URL, String)] = [(modelURL, "the model sampled"), (dir.appendingPathComponent("config.toml"), "the run's config")]
            try OutputFiles.check(npyURL, kind: .chain, option: "--out", inputs: inputs, overwrite: overwrite)
            try OutputFiles.check(tableURL, kind: .chainTable, option: "--out", inputs: inputs, overwrite: overwrite)
            // Sizes first: nothing is allocated or written for a batch or chain that cannot fit.
            let V = Double(cfg.lattice.volume)
            // With --z2 (auto may choose it): a second set of tapes for the inverse pass, and the pilot's batch of 256.
            let footprint = ModelFootprint(spec: cfg.model)
            let z2Bytes = z2 == "off" ? 0 : Double(batch) * (footprint.tapeValuesPerConfiguration + V) * 4
                + (z2 == "auto" ? footprint.samplingBytes(batch: min(batch, 256), ranks: 1) : 0)
            try ResourceBudget.requireMemory(footprint.samplingBytes(batch: batch, ranks: world.size) + z2Bytes,
                                             file: "command line", field: "--batch \(batch)",
                                             for: "sampling \(batch) proposals a batch on \(cfg.lattice.volume) sites")
            // The .npy's float32 rows and the .csv's line per step (about 100 characters).
            try ResourceBudget.requireDisk(Double(n) * (4 * V + 100) + 4096, at: npyURL, file: "command line",
                                           field: "--n \(n)", for: "a chain of \(n) configurations")
            let arch = FlowArchitecture(spec: cfg.model)
            let modelPath = modelURL.path
            if model == "best_ess" && !FileManager.default.fileExists(atPath: modelPath) {
                throw InputError(file: modelPath, "no such file: runs trained before the best-ESS model existed have none "
                    + "(use --model best, or train on with --resume)")
            }
            let state = try ModelFile.load(arch, from: modelPath)
            let modelEpoch = (try? SafeTensors.load(path: modelPath).metadata["epoch"]) ?? nil ?? "not recorded"
            let flow = Flow<Float>(architecture: arch, parameters: state.parameters, buffers: state.buffers)
            // With N ranks each draws `batch` proposals a round (N * batch in all).
            let workers = threads ?? cfg.threads ?? defaultThreadCount()
            // Decided by draws of their own, never the chain's: the kernel is fixed before the chain starts.
            var symmetrise = z2 == "on", z2Reason = z2 == "on" ? "on (--z2 on)" : "off (--z2 off)"
            if cfg.model.integrateEvenSites && z2 == "on" {
                throw ValidationError("--z2 on is not available for a model with integrate_even_sites (\(modelPath)); use --z2 off")
            }
            if z2 == "auto" {
                if cfg.model.integrateEvenSites {
                    z2Reason = "off (auto: not available with integrate_even_sites)"
                } else if cfg.model.z2Equivariant {
                    z2Reason = "off (auto: the model is z2_equivariant, its proposals are already even)"
                } else {
                    // Rank 0 runs the pilot and its fraction is every rank's: one proposal kernel per chain.
                    var f = [world.isRoot ? Z2Mixture.pilotPositiveFraction(flow: flow, action: cfg.action, prior: cfg.training.prior,
                                                                            seed: seed, threads: workers) : 0]
                    if world.size > 1 { world.allreduceSum(&f) }
                    symmetrise = Z2Mixture.lopsided(positiveFraction: f[0])
                    z2Reason = String(format: "%@ (auto: M > 0 in %.1f%% of 1024 pilot proposals)", symmetrise ? "on" : "off",
                                      100 * f[0])
                }
            }
            let sampler = FlowSampler(flow: flow, target: cfg.target, batchSize: batch, seed: seed,
                                      threads: workers, communicator: world,
                                      prior: cfg.training.prior, symmetrised: symmetrise)
            guard world.isRoot else {
                sampler.run(steps: n) { _, _, _, _ in }
                return
            }
            // Under MPI the ranks cannot agree on stopping mid-chain: a signal ends them as usual.
            if world.size == 1 { StopSignal.install() }
            let lock = try OutputFiles.claim(npyURL, option: "--out", for: "sampling")
            defer { lock.release() }
            StaleTemporaries.clean(in: npyURL.deletingLastPathComponent())
            let provenance = Provenance.current(command: "sample", threads: workers, ranks: world.size)
            let npy = try NpyWriter(url: npyURL, shape: [n] + cfg.lattice.shape)
            let table = try TextStreamWriter(url: tableURL, header: "step,log_p,log_q,accepted,proposal_log_p,proposal_log_q")
            var step = 0
            try sampler.run(steps: n) { phi, lp, lq, acc in
                if StopSignal.requested {
                    throw StopSignal.Stopped(what: "nothing written after \(step) of \(n) steps (the same --seed gives the same chain)")
                }
                try npy.append(phi)
                let proposal = sampler.lastProposal
                try table.line("\(step),\(lp),\(lq),\(acc ? 1 : 0),\(proposal.logP),\(proposal.logQ)")
                step += 1
            }
            if StopSignal.requested {
                throw StopSignal.Stopped(what: "nothing written after \(step) of \(n) steps (the same --seed gives the same chain)")
            }
            // What described an earlier chain under this name (its record, table and analysis) must not
            // pass for this one's, even if a kill comes between these writes.
            let sidecar = Provenance.sidecar(of: npyURL)
            OutputFiles.removeChainCompanions(of: npyURL)
            try npy.finish()
            try table.finish()
            var record = provenance.ended()
            record.details = ["model": modelPath, "epoch": modelEpoch, "seed": "\(seed)", "rows": "\(n)",
                              "batch": "\(batch)", "z2": z2Reason,
                              "seconds": String(format: "%.3f", Date().timeIntervalSince(started))]
            try record.write(to: sidecar)
            if let bad = sampler.mixture?.nonFinite, bad > 0 {
                FileHandle.standardError.write(Data("warning: \(bad) proposals had a non-finite log q(-phi) (the inverse pass overflowed) and were rejected; the chain misses that part of the proposal: check the model\n".utf8))
            }
            let ranks = world.size > 1 ? " (\(world.size) MPI ranks)" : ""
            print(String(format: "%d steps, acceptance %.2f%%%@, Z2-symmetrised proposals %@; wrote %@ and %@", n,
                         sampler.chain.acceptanceRate, ranks, z2Reason, npyURL.path, tableURL.path))
        }
        finalizeWorld()
    }

    /// The result folder `path`; a config file or a missing folder is a one-line error saying what sample takes.
    static func resultFolder(_ path: String) throws -> URL {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            if path.hasSuffix(".toml"), let cfg = try? Config.load(path: path) {
                throw InputError(file: path, "is a config; sample takes the result folder that `train` writes from it, "
                    + "\(cfg.resultDirectory.path)" + (FileManager.default.fileExists(atPath: cfg.resultDirectory.path) ? "" : " (train it first)"))
            }
            throw InputError(file: path, "is a file; sample takes a result folder written by `train`, e.g. result/example2d")
        }
        guard exists else {
            throw InputError(file: path, "no such result folder (sample takes a folder written by `train`, e.g. result/example2d)")
        }
        return URL(fileURLWithPath: path)
    }
}

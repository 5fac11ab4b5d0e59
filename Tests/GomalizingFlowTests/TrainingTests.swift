import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

final class TrainingTests: XCTestCase {
    func tinyConfig(result: URL, epochs: Int = 4) throws -> Config {
        try testConfig(name: "tiny", result: result, L: 4, M2: -1, lam: 1, batch: 32, iterations: 300, epochs: epochs,
                       lr: 0.001, layers: 4, hidden: [8, 8], evalSamples: 1024, seed: 7)
    }

    /// A short run on a 4x4 lattice: the loss must fall and the Metropolis-Hastings
    /// acceptance must climb well above that of the untrained flow.
    func testTrainingLowersLossAndRaisesAcceptance() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try Trainer(config: tinyConfig(result: dir), configText: "# tiny\n")
        let before = trainer.evaluate(count: 1024, round: 0)
        try trainer.train()
        let h = trainer.history.records
        XCTAssertEqual(h.count, 4)
        XCTAssertLessThan(h.last!.loss, h.first!.loss)
        XCTAssertGreaterThan(h.last!.acceptanceRate, 40, "acceptance after training: \(h.map(\.acceptanceRate))")
        XCTAssertGreaterThan(h.last!.acceptanceRate, before.acceptance + 15)
        XCTAssertGreaterThan(h.last!.ess, before.ess)

        let out = dir.appendingPathComponent("tiny")
        for f in ["config.toml", "history.csv", "model_best.safetensors", "model_last.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        let table = try History.read(path: out.appendingPathComponent("history.csv").path)
        XCTAssertEqual(table["epoch"], [1, 2, 3, 4])
        XCTAssertEqual(table["acceptance_rate"]!.last!, h.last!.acceptanceRate, accuracy: 1e-3)
        // The last model file holds exactly the trained parameters.
        let saved = try ModelFile.load(trainer.flow.architecture, from: out.appendingPathComponent("model_last.safetensors").path)
        XCTAssertEqual(saved.parameters, trainer.flow.parameters)
        // best_ess is the running maximum of ess, and model_best_ess is the model of the epoch that reached it.
        let ess = table["ess"]!, bestESS = table["best_ess"]!
        for i in ess.indices { XCTAssertEqual(bestESS[i], ess[...i].max()!, accuracy: 1e-5) }
        let bestEpoch = ess.indices.max { ess[$0] < ess[$1] }! + 1
        let meta = try SafeTensors.load(path: out.appendingPathComponent("model_best_ess.safetensors").path).metadata
        XCTAssertEqual(meta["epoch"], "\(bestEpoch)")
        // The evaluation's weight diagnostics are recorded per epoch.
        for (k, w) in zip(table["pareto_k"]!, table["max_weight"]!) {
            XCTAssertTrue(k.isFinite && w > 1.0 / 1024 && w < 1, "pareto_k \(k), max_weight \(w)")
        }
        XCTAssertEqual(h.last!.paretoK, table["pareto_k"]!.last!, accuracy: 1e-5)
    }

    /// History lines of versions before best_ess, pareto_k and max_weight still
    /// parse (a resumed checkpoint holds them); best_ess is then the running
    /// maximum of ess; new lines round-trip.
    func testHistoryRecordsOldAndNew() throws {
        let old = try XCTUnwrap(EpochRecord(csvLine: "1,-1,0.5,10,0.1,10,0.001,1,1,2"))
        XCTAssertEqual(old.ess, 0.1)
        XCTAssertTrue(old.bestESS.isNaN && old.paretoK.isNaN && old.maxWeight.isNaN)
        let new = EpochRecord(epoch: 3, loss: -2, lossStd: 0.25, acceptanceRate: 41.5, ess: 0.125, bestAcceptanceRate: 50,
                              lr: 0.001, trainSeconds: 1.5, evalSeconds: 0.5, totalSeconds: 6, bestESS: 0.25, paretoK: 0.625,
                              maxWeight: 0.0625, positiveFraction: 0.5)
        XCTAssertEqual(EpochRecord(csvLine: new.csvLine), new)
        // Lines of the version before positive_fraction (13 fields): NaN there.
        let before = try XCTUnwrap(EpochRecord(csvLine: "3,-2,0.25,41.5,0.125,50,0.001,1.5,0.5,6,0.25,0.625,0.0625"))
        XCTAssertTrue(before.positiveFraction.isNaN)
        XCTAssertEqual(before.maxWeight, 0.0625)
        XCTAssertEqual(new.csvLine.split(separator: ",").count, EpochRecord.header.split(separator: ",").count)
        XCTAssertNil(EpochRecord(csvLine: "1,-1,0.5,10,0.1,10,0.001,1,1,2,0.1"))
        let arch = FlowArchitecture(spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3))
        let flow = Flow<Float>(architecture: arch)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("c.safetensors")
        // A checkpoint written with three old-format lines, as an earlier version did.
        let lines = ["1,-1,0.5,10,0.1,10,0.001,1,1,2", "2,-1,0.5,10,0.3,10,0.001,1,1,4", "3,-1,0.5,10,0.2,10,0.001,1,1,6"]
        try Checkpoint(epoch: 3, stepsDone: 30, parameters: flow.parameters, buffers: flow.buffers,
                       optimiser: Optimiser(parameterCount: arch.parameterCount, lr: 0.001), bestAcceptance: 10,
                       history: lines.map { EpochRecord(csvLine: $0)! }).save(arch, to: url)
        let back = try Checkpoint.load(arch, from: url.path)
        XCTAssertEqual(back.history.map(\.bestESS), [0.1, 0.3, 0.3])
    }

    func testSameSeedGivesTheSameHistoryWithAnyThreadCount() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c1 = try tinyConfig(result: dir.appendingPathComponent("a"), epochs: 1)
        c1.threads = 1
        var c2 = try tinyConfig(result: dir.appendingPathComponent("b"), epochs: 1)
        c2.threads = 2
        let t1 = try Trainer(config: c1)
        let t2 = try Trainer(config: c2)
        try t1.train()
        try t2.train()
        XCTAssertEqual(t1.flow.parameters, t2.flow.parameters)
        XCTAssertEqual(t1.history.records[0].loss, t2.history.records[0].loss)
        XCTAssertEqual(t1.history.records[0].acceptanceRate, t2.history.records[0].acceptanceRate)
    }

    func testPretrainedStartLoadsWeights() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try tinyConfig(result: dir, epochs: 1)
        let arch = FlowArchitecture(spec: c.model)
        let p = (arch.initialParameters() as [Float]).map { $0 * 0.5 }
        let file = dir.appendingPathComponent("init.safetensors")
        try ModelFile.save(arch, parameters: p, buffers: [], to: file)
        var c2 = c
        c2.training.pretrained = file.path
        XCTAssertEqual(try Trainer(config: c2).flow.parameters, p)
        c2.training.pretrained = dir.appendingPathComponent("missing.safetensors").path
        XCTAssertThrowsError(try Trainer(config: c2)) {
            XCTAssertTrue("\($0)".hasPrefix("\(c2.sourcePath): [training] pretrained: ") && "\($0)".contains("no such file"), "\($0)")
        }
        // Weights of a smaller model: both sizes are named, and the key that would grow it.
        var other = c.model
        other.hiddenSizes = [8, 4]
        let otherArch = FlowArchitecture(spec: other)
        let wrong = dir.appendingPathComponent("other.safetensors")
        try ModelFile.save(otherArch, parameters: otherArch.initialParameters(), buffers: [], to: wrong)
        c2.training.pretrained = wrong.path
        XCTAssertThrowsError(try Trainer(config: c2)) { e in
            XCTAssertEqual("\(e)", "\(c2.sourcePath): [training] pretrained: \(wrong.path): model_spec: the file holds 4 layers with hidden [8, 4]; this flow has 4 with hidden [8, 8]; set [training] grow_pretrained = true to start the larger flow from it")
        }
    }

    /// Convolution weights do not depend on L: a model trained at L = 4 starts
    /// a run at L = 8 (the same couplings and nets) with its weights, and trains.
    func testPretrainedFromAnotherVolumeLoads() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = try Trainer(config: tinyConfig(result: dir, epochs: 2))
        try small.train()
        var big = try tinyConfig(result: dir.appendingPathComponent("big"), epochs: 1)
        big.physical.L = 8
        big.model.L = 8
        big.training.pretrained = small.lastModelURL.path
        let t = try Trainer(config: big)
        XCTAssertEqual(t.flow.parameters, small.flow.parameters)
        XCTAssertEqual(t.flow.lattice.volume, 64)
        try t.train()
        XCTAssertTrue(t.history.records[0].loss.isFinite)
        XCTAssertNotEqual(t.flow.parameters, small.flow.parameters)
    }

    /// A NaN appearing mid-training stops at that step with its epoch and
    /// iteration, and the files on disk stay those of the last good epoch.
    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        final class Poisoner: TrainingObserver {
            let flow: Flow<Float>
            init(_ flow: Flow<Float>) { self.flow = flow }
            func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double) {
                if epoch == 2 && iteration == 3 { flow.parameters[7] = .nan }
            }
            func epochFinished(_ record: EpochRecord, improved: Bool) {}
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = try Trainer(config: try tinyConfig(result: dir, epochs: 3))
        let poisoner = Poisoner(t.flow)
        t.observer = poisoner
        XCTAssertThrowsError(try t.train()) { e in
            XCTAssertEqual("\(e)", "training stopped: the loss is not finite at epoch 2, iteration 4")
        }
        let c = try Checkpoint.load(t.flow.architecture, from: t.checkpointURL.path)
        XCTAssertEqual(c.epoch, 1)
        XCTAssertTrue(c.parameters.allSatisfy { $0.isFinite })
        XCTAssertEqual(try History.read(path: t.resultDirectory.appendingPathComponent("history.csv").path)["epoch"], [1])
        XCTAssertNoThrow(try ModelFile.load(t.flow.architecture, from: t.lastModelURL.path))
    }
}

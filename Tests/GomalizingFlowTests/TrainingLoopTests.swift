import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The core's `TrainingLoop` on its own, as an embedding program drives it.
final class TrainingLoopTests: XCTestCase {
    func config(epochs: Int, iterations: Int) throws -> Config {
        try Config.parse(tinyConfigText(epochs: epochs, iterations: iterations, batch: 8, hidden: [4]), file: "loop.toml", name: "loop")
    }

    /// `Trainer` is the loop plus the result folder: the same epochs (loss,
    /// acceptance, ESS, weights' diagnostics) and the same parameters, bit for bit.
    func testTrainerIsTheLoopPlusItsFiles() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = try config(epochs: 3, iterations: 6)
        cfg.training.result = dir.path
        let trainer = try Trainer(config: cfg, threads: 2)
        try trainer.train()

        let flow = Flow<Float>(spec: cfg.model)
        let loop = TrainingLoop(flow: flow, action: cfg.action, settings: cfg.training, threads: 2)
        for (epoch, record) in zip(1...3, trainer.history.records) {
            guard case let .finished(r) = try loop.runEpoch(epoch) else { return XCTFail("stopped without a request") }
            XCTAssertEqual(r.loss, record.loss)
            XCTAssertEqual(r.lossStd, record.lossStd)
            XCTAssertEqual(r.evaluation.acceptance, record.acceptanceRate)
            XCTAssertEqual(r.evaluation.ess, record.ess)
            XCTAssertEqual(r.evaluation.weights.maxWeight, record.maxWeight)
            XCTAssertFalse(r.stopAfter)
        }
        XCTAssertEqual(loop.stepsDone, trainer.stepsDone)
        XCTAssertEqual(flow.parameters, trainer.flow.parameters)
    }

    /// A request inside an epoch ends it with the steps done so far; one at its
    /// last step finishes the epoch and says to stop after it; continuing from
    /// the partial epoch gives the uninterrupted run.
    func testStopRequestsInsideAndAtTheEndOfAnEpoch() throws {
        let cfg = try config(epochs: 1, iterations: 5)
        let reference = TrainingLoop(flow: Flow<Float>(spec: cfg.model), action: cfg.action, settings: cfg.training, threads: 1)
        guard case let .finished(whole) = try reference.runEpoch(1) else { return XCTFail("no request was made") }

        let flow = Flow<Float>(spec: cfg.model)
        let loop = TrainingLoop(flow: flow, action: cfg.action, settings: cfg.training, threads: 1)
        var steps = 0
        // Polled inside each step, before that step's progress call: asked during step 3.
        loop.stopRequested = { steps == 2 ? 10 : 0 }
        let first = try loop.runEpoch(1) { _, _ in steps += 1 }
        guard case let .stopped(partial?, iteration) = first else { return XCTFail("expected a stop inside the epoch, got \(first)") }
        XCTAssertEqual(iteration, 3)
        XCTAssertEqual(partial.iterations, 3)
        XCTAssertEqual(loop.stepsDone, 3)
        XCTAssertEqual(loop.stopped(epoch: 1, iteration: 3).description, "interrupted at epoch 1, iteration 3")

        // The request at the last step: the epoch completes, flagged.
        loop.stopRequested = { steps == 4 ? 10 : 0 }
        guard case let .finished(rest) = try loop.runEpoch(1, resuming: partial, progress: { _, _ in steps += 1 }) else {
            return XCTFail("a request at the last step finishes the epoch")
        }
        XCTAssertTrue(rest.stopAfter)
        XCTAssertEqual(rest.loss, whole.loss)
        XCTAssertEqual(rest.evaluation.acceptance, whole.evaluation.acceptance)
        XCTAssertEqual(flow.parameters, reference.flow.parameters)
    }
}

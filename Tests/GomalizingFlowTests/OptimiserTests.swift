import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// [training] opt (Flux's optimisers at base_lr with their defaults), clip_norm
/// and the learning-rate schedules.
final class OptimiserTests: XCTestCase {
    /// Three steps of each optimiser against Flux's update rules written out in Double.
    func testEachOptimiserFollowsFluxsRule() {
        let p0: [Double] = [0.5, -1.2, 2.0, 0.0]
        let grads: [[Double]] = [[0.3, -0.7, 1.5, 0.01], [-0.2, 0.4, 1.1, -0.05], [0.9, 0.1, -0.6, 0.2]]
        let lr = 0.01
        for kind in OptimiserKind.allCases {
            var p = p0, m = [Double](repeating: 0, count: 4), v = m
            for (t, g) in grads.enumerated() {
                for i in 0..<4 {
                    switch kind {
                    case .adam, .adamW:
                        m[i] = 0.9 * m[i] + 0.1 * g[i]
                        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                        let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                        p[i] -= lr * mh / (vh.squareRoot() + 1e-8)
                    case .rmsProp:
                        v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i]
                        p[i] -= g[i] * lr / (v[i].squareRoot() + 1e-8)
                    case .descent:
                        p[i] -= lr * g[i]
                    case .momentum:
                        m[i] = 0.9 * m[i] - lr * g[i]
                        p[i] += m[i]
                    case .nesterov:
                        let d = 0.81 * m[i] - 1.9 * lr * g[i]
                        m[i] = 0.9 * m[i] - lr * g[i]
                        p[i] += d
                    }
                }
            }
            var opt = Optimiser(kind: kind, parameterCount: 4, lr: lr)
            var pf = p0.map(Float.init)
            for g in grads { opt.update(&pf, gradient: g.map(Float.init)) }
            for i in 0..<4 { XCTAssertEqual(Double(pf[i]), p[i], accuracy: 2e-6, "\(kind) parameter \(i)") }
            XCTAssertEqual(opt.step, 3)
            XCTAssertGreaterThan(zip(pf, p0).map { abs(Double($0) - $1) }.max()!, 1e-3, "\(kind) must move")
        }
    }

    /// Per-parameter rates (`rateScale`): each optimiser moves a parameter with
    /// factor f exactly as the plain rule does at rate f lr, so 1 changes nothing
    /// (bit for bit) and 0 freezes the parameter.
    func testRateScaleIsAPerParameterRate() {
        let p0: [Float] = [0.5, -1.2, 2.0, 0.0]
        let grads: [[Float]] = [[0.3, -0.7, 1.5, 0.01], [-0.2, 0.4, 1.1, -0.05], [0.9, 0.1, -0.6, 0.2]]
        for kind in OptimiserKind.allCases {
            func run(lr: Double, rates: [Float]?) -> [Float] {
                var opt = Optimiser(kind: kind, parameterCount: 4, lr: lr)
                opt.rateScale = rates
                var p = p0
                for g in grads { opt.update(&p, gradient: g) }
                return p
            }
            let scaled = run(lr: 0.01, rates: [1, 0.25, 0, 1])
            XCTAssertEqual(scaled[0], run(lr: 0.01, rates: nil)[0], "\(kind)")
            XCTAssertEqual(scaled[3], run(lr: 0.01, rates: nil)[3], "\(kind)")
            XCTAssertEqual(scaled[1], run(lr: 0.0025, rates: nil)[1], accuracy: 1e-7, "\(kind)")
            XCTAssertEqual(scaled[2], p0[2], "\(kind)")
            XCTAssertNotEqual(scaled[1], run(lr: 0.01, rates: nil)[1], "\(kind)")
        }
    }

    /// ClipNorm: a longer gradient is scaled to the threshold's length, a shorter one is left alone.
    func testClipNormScalesOnlyLongGradients() {
        var clipped = Optimiser(kind: .descent, parameterCount: 2, lr: 1, clipNorm: 1)
        var p: [Float] = [0, 0]
        clipped.update(&p, gradient: [6, 8])
        XCTAssertEqual(p[0], -0.6, accuracy: 1e-6)
        XCTAssertEqual(p[1], -0.8, accuracy: 1e-6)
        var q: [Float] = [0, 0]
        clipped.update(&q, gradient: [0.3, 0.4])
        XCTAssertEqual(q, [-0.3, -0.4])
    }

    func config(_ dir: URL, name: String, extra: String, epochs: Int = 4) throws -> Config {
        try Config.parse(tinyConfigText(epochs: epochs, iterations: 10, batch: 16, extra: extra + "\nresult = \"\(dir.path)\""),
                         file: "\(name).toml", name: name)
    }

    /// A run with another optimiser stopped and resumed is the uninterrupted run;
    /// the checkpoint keeps the kind, the state and the clip; resuming it under
    /// another optimiser is refused by name.
    func testCheckpointsKeepTheOptimiser() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for opt in ["Nesterov", "RMSProp"] {
            let extra = "opt = \"\(opt)\"\nclip_norm = 5.0"
            let whole = try Trainer(config: config(dir, name: "whole\(opt)", extra: extra))
            try whole.train()
            let half = try Trainer(config: config(dir, name: "half\(opt)", extra: extra, epochs: 2))
            try half.train()
            let rest = try Trainer(config: config(dir, name: "half\(opt)", extra: extra), folder: .resume)
            XCTAssertEqual(rest.optimiser.kind, OptimiserKind.parse(opt))
            XCTAssertEqual(rest.optimiser.clipNorm, 5)
            XCTAssertEqual(rest.optimiser.step, 20)
            try rest.train()
            XCTAssertEqual(rest.flow.parameters, whole.flow.parameters, opt)
            XCTAssertThrowsError(try Trainer(config: config(dir, name: "half\(opt)", extra: "clip_norm = 5.0", epochs: 6),
                                             folder: .resume)) { e in
                XCTAssertTrue("\(e)".contains("[training] opt: \(opt) in the run, Adam now"), "\(e)")
            }
        }
        // Different optimisers train differently from the same start.
        let a = try Trainer(config: config(dir, name: "adam", extra: ""))
        try a.train()
        let n = try Trainer(config: config(dir, name: "wholeNesterov2", extra: "opt = \"Nesterov\"\nclip_norm = 5.0"))
        try n.train()
        XCTAssertNotEqual(a.flow.parameters, n.flow.parameters)
    }

    func testOptimiserKeysAreChecked() throws {
        for name in ["adam", "ADAM", "AdamW", "rmsprop", "Descent", "momentum", "NESTEROV"] {
            XCTAssertNotNil(try Config.parse(tinyConfigText(extra: "opt = \"\(name)\""), file: "o.toml", name: "o"), name)
        }
        for (line, key, says) in [("opt = \"SGD\"", "[training] opt", "\"RMSProp\""), ("opt = 3", "[training] opt", "RMSProp"),
                                  ("clip_norm = 0", "[training] clip_norm", "positive"), ("clip_norm = \"big\"", "[training] clip_norm", "positive")] {
            assertConfigError(try Config.parse(tinyConfigText(extra: line), file: "bad.toml", name: "bad"),
                              mentions: ["bad.toml", key, says], line)
        }
    }

    func schedule(_ value: String, baseLR: Double = 0.001) throws -> LRSchedule {
        try Config.parse(tinyConfigText(extra: "lr_scheduler = \(value)").replacingOccurrences(of: "base_lr = 0.002", with: "base_lr = \(baseLR)"),
                         file: "s.toml", name: "s").training.lrSchedule
    }

    func testSchedules() throws {
        let exp = try schedule("{ kind = \"exp\", decay = 0.9 }")
        XCTAssertEqual(exp.rate(base: 0.001, epoch: 1), 0.001, accuracy: 1e-15)
        XCTAssertEqual(exp.rate(base: 0.001, epoch: 3), 0.001 * 0.81, accuracy: 1e-15)
        XCTAssertEqual(try schedule("\"Exp(0.001f0, 0.9f0)\""), exp)
        let cos = try schedule("{ kind = \"cosine\", epochs = 100, min = 1e-5 }")
        XCTAssertEqual(cos.rate(base: 0.001, epoch: 1), 0.001, accuracy: 1e-15)
        XCTAssertEqual(cos.rate(base: 0.001, epoch: 51), (0.001 + 1e-5) / 2, accuracy: 1e-15)
        XCTAssertEqual(cos.rate(base: 0.001, epoch: 101), 1e-5, accuracy: 1e-15)
        XCTAssertEqual(cos.rate(base: 0.001, epoch: 500), 1e-5, accuracy: 1e-15)
        let warm = try schedule("{ kind = \"step\", decay = 0.5, epochs = [10], warmup = 4 }")
        XCTAssertEqual(warm.rate(base: 0.001, epoch: 1), 0.00025, accuracy: 1e-15)
        XCTAssertEqual(warm.rate(base: 0.001, epoch: 4), 0.001, accuracy: 1e-15)
        XCTAssertEqual(warm.rate(base: 0.001, epoch: 14), 0.001, accuracy: 1e-15)
        XCTAssertEqual(warm.rate(base: 0.001, epoch: 15), 0.0005, accuracy: 1e-15)
        XCTAssertEqual(try schedule("{ kind = \"constant\", warmup = 2 }").rate(base: 0.001, epoch: 1), 0.0005, accuracy: 1e-15)
        // The step forms of before keep their meaning.
        XCTAssertEqual(try schedule("\"Step(0.001f0, 0.1f0, [200])\""), .step(decay: 0.1, epochs: [200]))
        XCTAssertEqual(try schedule("{ kind = \"step\", decay = 0.1, epochs = [200] }"), .step(decay: 0.1, epochs: [200]))
        for (bad, says) in [("{ kind = \"cosine\" }", "epochs"), ("{ kind = \"cos\", epochs = 3 }", "\"cosine\""),
                            ("{ kind = \"exp\", decay = 1.5 }", "decay"), ("\"Exp(0.01f0, 0.9f0)\"", "base_lr"),
                            ("{ kind = \"cosine\", epochs = 10, min = 0.5 }", "min"), ("{ kind = \"exp\", decay = 0.9, warmup = -1 }", "warmup"),
                            ("{ kind = \"exp\", decay = 0.9, warmpu = 3 }", "did you mean warmup")] {
            XCTAssertThrowsError(try schedule(bad), bad) { e in
                XCTAssertTrue("\(e)".contains(says) && "\(e)".contains("s.toml"), "\(bad): \(e)")
            }
        }
    }
}

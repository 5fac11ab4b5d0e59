import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The potential prior: normalisation, exact sampling, and the config forms
/// of the prior and of the learning-rate schedule.
final class PriorTests: XCTestCase {
    func testNormalisationMatchesClosedForms() {
        // lam = 0: a truncated Gaussian, Z = sqrt(pi/m2) erf(a sqrt(m2)) on [-a, a].
        for (m2, a) in [(1.3, 2.0), (0.2, 1.5), (25.0, 2.0)] {
            let p = PotentialPrior(m2: m2, lam: 0, xmin: -a, xmax: a)
            let exact = (Double.pi / m2).squareRoot() * erf(a * m2.squareRoot())
            XCTAssertEqual(p.logZ, log(exact), accuracy: 1e-12, "m2 = \(m2)")
            XCTAssertLessThan(p.quadratureError, 1e-12)
        }
        // m2 = lam = 0: uniform on an asymmetric interval.
        XCTAssertEqual(PotentialPrior(m2: 0, lam: 0, xmin: -1, xmax: 3).logZ, log(4), accuracy: 1e-13)
        // The double well of GomalizingFlow.jl's example against a fine midpoint sum.
        let p = PotentialPrior(m2: -4, lam: 8)
        let n = 2_000_000, h = 4.0 / Double(n)
        var s = 0.0
        for i in 0..<n { let x = -2 + (Double(i) + 0.5) * h; s += exp(-(-4 * x * x + 8 * x * x * x * x)) }
        XCTAssertEqual(p.logZ, log(s * h), accuracy: 1e-9)
        XCTAssertEqual(p.probability(from: -2, to: 2), 1, accuracy: 1e-12)
    }

    /// 200 000 draws against the density, 40 bins: chi-square with 39 degrees of
    /// freedom stays below 80 (p ~ 2e-4), and a slightly wrong density is rejected.
    func testSamplesFollowTheDensity() {
        let p = PotentialPrior(m2: -4, lam: 8)
        var rng = Xoshiro256(seed: 42)
        let n = 200_000, bins = 40
        var counts = [Double](repeating: 0, count: bins)
        for _ in 0..<n {
            let x = p.sample(&rng)
            XCTAssertTrue(x >= -2 && x <= 2)
            counts[min(bins - 1, Int((x + 2) / 4 * Double(bins)))] += 1
        }
        func chiSquare(_ q: PotentialPrior) -> Double {
            (0..<bins).reduce(0.0) { acc, b in
                let lo = -2 + 4 * Double(b) / Double(bins), hi = lo + 4 / Double(bins)
                let expected = Double(n) * q.probability(from: lo, to: hi, panels: 64)
                return acc + (counts[b] - expected) * (counts[b] - expected) / expected
            }
        }
        XCTAssertLessThan(chiSquare(p), 80)
        XCTAssertGreaterThan(chiSquare(PotentialPrior(m2: -4, lam: 7.5)), 200, "the test can tell a wrong density")
    }

    func testPriorOfAConfigurationSumsSites() {
        let prior = Prior(.potential(m2: -4, lam: 8, xmin: -2, xmax: 2), volume: 16)
        var rng = Xoshiro256(seed: 1)
        var z = [Float](repeating: 0, count: 32)
        prior.sample(into: &z, count: 2, rng: &rng)
        let site = PotentialPrior(m2: -4, lam: 8)
        let expected = z[16..<32].reduce(0.0) { $0 + site.logDensity(Double($1)) }
        XCTAssertEqual(z.withUnsafeBufferPointer { prior.logDensity($0.baseAddress! + 16) }, expected, accuracy: 1e-9)
    }

    // MARK: config forms

    func config(_ training: String) throws -> Config {
        try Config.parse("""
        [training]
        batchsize = 8
        epochs = 3
        iterations = 5
        base_lr = 0.001
        eval_samples = 64
        \(training)
        [physical]
        L = 4
        Nd = 2
        M2 = -4
        lam = 8
        [model]
        n_layers = 2
        hidden_sizes = [4]
        kernel_size = 3
        """, file: "p.toml", name: "p")
    }

    func assertError(_ training: String, mentions parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try config(training), line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(e is InputError, text, line: line)
            for part in parts { XCTAssertTrue(text.contains(part), "\(text) should mention \(part)", line: line) }
        }
    }

    func testPriorForms() throws {
        let potential = PriorSpec.potential(m2: -4, lam: 8, xmin: -2, xmax: 2)
        XCTAssertEqual(try config("prior = \"Potential{Float32}(; m²=-4f0, λ=8f0)\"").training.prior, potential)
        XCTAssertEqual(try config("prior = { kind = \"potential\", m2 = -4.0, lam = 8 }").training.prior, potential)
        XCTAssertEqual(try config("prior = \"Potential{Float64}(m2=1.5, lam=0.5f0, xmin=-3f0, xmax=3)\"").training.prior,
                       .potential(m2: 1.5, lam: 0.5, xmin: -3, xmax: 3))
        XCTAssertEqual(try config("prior = \"Normal{Float32}(0.f0, 1.f0)\"").training.prior, .normal)
        XCTAssertEqual(try config("[training.prior]\nkind = \"normal\"").training.prior, .normal)
        assertError("prior = \"Potential(m2=-4)\"", mentions: ["[training] prior", "Potential{Float32}"])
        assertError("prior = \"Cauchy()\"", mentions: ["[training] prior"])
        assertError("prior = { kind = \"potential\", m2 = -4, lam = 8, xmin = 2, xmax = -2 }", mentions: ["xmin < xmax"])
        assertError("prior = { kind = \"potential\", m2 = 1e5, lam = 0, xmin = -2, xmax = 2 }", mentions: ["too peaked"])
        assertError("prior = { kind = \"gauss\" }", mentions: ["[training.prior] kind"])
        assertError("prior = { kind = \"potential\", m2 = -4, lam = 8, mu = 1 }", mentions: ["[training.prior] mu", "unknown key"])
        assertError("prior = 3", mentions: ["[training] prior", "got a int"])
    }

    func testScheduleForms() throws {
        let julia = try config("lr_scheduler = \"Step(0.001f0, 0.1f0, [200])\"").training.lrSchedule
        XCTAssertEqual(julia, .step(decay: 0.1, epochs: [200]))
        XCTAssertEqual(julia.rate(base: 0.001, epoch: 200), 0.001)
        XCTAssertEqual(julia.rate(base: 0.001, epoch: 201), 0.0001, accuracy: 1e-15)
        // Julia step sizes are stretch lengths: [100, 50] drops after epochs 100 and 150.
        XCTAssertEqual(try config("lr_scheduler = \"Step(λ=0.001, γ=0.5, step_sizes=[100, 50])\"").training.lrSchedule,
                       .step(decay: 0.5, epochs: [100, 150]))
        XCTAssertEqual(try config("lr_scheduler = { kind = \"step\", decay = 0.5, epochs = [10, 20] }").training.lrSchedule,
                       .step(decay: 0.5, epochs: [10, 20]))
        XCTAssertEqual(try config("lr_scheduler = \"\"").training.lrSchedule, .constant)
        assertError("lr_scheduler = \"Step(0.01f0, 0.1f0, [200])\"", mentions: ["[training] lr_scheduler", "base_lr"])
        assertError("lr_scheduler = \"Cos(0.001, 0.0, 10)\"", mentions: ["[training] lr_scheduler"])
        assertError("lr_scheduler = { kind = \"step\", decay = 2, epochs = [10] }", mentions: ["(0, 1]"])
        assertError("lr_scheduler = { kind = \"step\", decay = 0.5, epochs = [20, 10] }", mentions: ["increase"])
    }

    func testVersionAndDeviceAreValidated() throws {
        XCTAssertEqual(try Config.parse("[config]\nversion = \"0.1.0\"\n" + ConfigTests.valid, file: "v.toml", name: "v").version, "0.1.0")
        for (bad, part) in [("[config]\nversion = \"abc\"\n", "[config] version"), ("[config]\nversion = \"7.0.0\"\n", "[config] version")] {
            XCTAssertThrowsError(try Config.parse(bad + ConfigTests.valid, file: "v.toml", name: "v")) { e in
                XCTAssertTrue("\(e)".contains(part), "\(e)")
            }
        }
        for (id, part) in [("0", "GPU 0 requested"), ("-2", "-1 for the CPU")] {
            let text = ConfigTests.valid.replacingOccurrences(of: "device_id = -1", with: "device_id = \(id)")
            XCTAssertThrowsError(try Config.parse(text, file: "v.toml", name: "v")) { e in XCTAssertTrue("\(e)".contains(part), "\(e)") }
        }
    }

    /// Training with the potential prior and a step schedule: draws stay in
    /// [xmin, xmax], losses are finite, and history.csv logs the decayed rate.
    func testTrainingWithPotentialPriorAndStepSchedule() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try config("prior = \"Potential{Float32}(; m²=-4f0, λ=8f0)\"\nlr_scheduler = { kind = \"step\", decay = 0.5, epochs = [1, 2] }")
        c.training.result = dir.path
        let t = try Trainer(config: c, threads: 1)
        try t.train()
        XCTAssertEqual(t.history.records.map(\.lr), [0.001, 0.0005, 0.00025])
        XCTAssertTrue(t.history.records.allSatisfy { $0.loss.isFinite && $0.acceptanceRate > 0 })
        let logged = try History.read(path: dir.appendingPathComponent("p/history.csv").path)["lr"]!
        XCTAssertEqual(logged, [0.001, 0.0005, 0.00025])
        let draws = PriorDraws(seed: 1, purpose: .training, volume: 16, prior: c.training.prior)
        var z = [Float](repeating: 0, count: 16 * 50)
        z.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: 0, first: 0, count: 50) }
        XCTAssertTrue(z.allSatisfy { $0 >= -2 && $0 <= 2 })
        XCTAssertGreaterThan(Set(z).count, 700)
    }
}

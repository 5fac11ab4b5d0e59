import GomalizingFlow
import GomalizingRun
import XCTest

/// The benchmark's bookkeeping (no timing thresholds: the machine is shared).
final class BenchmarkTests: XCTestCase {
    func testPeakDerivationIsConsistent() {
        let p = MachinePeak.detect()
        XCTAssertGreaterThan(p.cores, 0)
        XCTAssertGreaterThan(p.ghz, 0)
        XCTAssertEqual(p.gflops, Double(p.cores * p.pipes * p.lanes * 2) * p.ghz, accuracy: 1e-9)
        XCTAssertTrue(p.derivation.contains("GFLOP/s"))
    }

    func testBenchmarkCaseReportsConsistentRates() {
        let c = Benchmark.Case(name: "tiny", spec: ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [8], kernelSize: 3), batch: 8)
        let r = Benchmark.run(c, threads: 1, warmup: 1, minReps: 3, maxReps: 3, minSeconds: 0)
        XCTAssertEqual(r.reps, 3)
        XCTAssertGreaterThan(r.trainMs, 0)
        XCTAssertGreaterThan(r.samplesPerSecond, 0)
        // GFLOP/s = 3 x forward FLOPs x batch / step time.
        let fwd: Double = FlowArchitecture(spec: c.spec).forwardFLOPs * 8
        let stepSeconds: Double = r.trainMs * 1e-3
        let expected: Double = 3 * fwd / stepSeconds * 1e-9
        XCTAssertEqual(r.trainGFLOPs, expected, accuracy: 1e-9 * expected)
        XCTAssertEqual(r.samplesPerSecond, 8 / (r.sampleMs * 1e-3), accuracy: 1e-6 * r.samplesPerSecond)
        XCTAssertEqual(Benchmark.standardCases().count, 5)
    }
}

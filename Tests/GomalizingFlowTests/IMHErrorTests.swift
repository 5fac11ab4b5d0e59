import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// Error bars of independence Metropolis-Hastings chains where the truth is
/// known. The target puts mass m = 5% on a region B that the proposal draws
/// with probability eps = 0.05%, so B's weight is m / eps = 100 times the rest
/// and a visit holds the chain for about 100 steps; the observable is N(0, 1)
/// plus delta = 1 in B (true mean m delta). Its autocorrelation has a tail of a
/// few percent out to hundreds of steps: a flow that under-samples a region.
final class IMHErrorTests: XCTestCase {
    static let m = 0.05, eps = 0.0005, delta = 1.0

    /// The observable along one chain of `count` steps.
    static func chain(_ count: Int, seed: UInt64) -> [Double] {
        var rng = Xoshiro256(seed: seed)
        let logWB = Foundation.log(m / eps), logWA = Foundation.log((1 - m) / (1 - eps))
        var normals = [Double](repeating: 0, count: count)
        normals.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: count) }
        var mh = IndependenceMH()
        var out = [Double](repeating: 0, count: count)
        var current = 0.0
        for i in 0..<count {
            let inB = rng.uniform() < eps
            if mh.offer(logWeight: inB ? logWB : logWA, uniform: rng.uniform()) { current = normals[i] + (inB ? delta : 0) }
            out[i] = current
        }
        return out
    }

    /// Over 400 chains of 10^5 steps, the reported error (the largest binned
    /// error) covers the true mean in about 68% of the chains and matches the
    /// spread of the chain means; the Gamma method's windowed error alone
    /// covers it in under half.
    func testBinnedErrorsCoverTheTruthOfAHeavyTailedChain() {
        let chains = 400, N = 100_000
        var means: [Double] = [], reported: [Double] = [], windowed: [Double] = []
        for k in 0..<chains {
            let a = Self.chain(N, seed: 1000 + UInt64(k))
            let g = GammaMethod(a)
            let r = Binning.estimate([a], firstBlock: Binning.firstBlock(tauInt: g.tauInt, count: N)) { $0[0] }
            means.append(r.value)
            reported.append(r.error)
            windowed.append(g.error)
        }
        let truth = Self.m * Self.delta
        let spread = (means.map { ($0 - truth) * ($0 - truth) }.reduce(0, +) / Double(chains)).squareRoot()
        func coverage(_ e: [Double]) -> Double { Double(zip(means, e).filter { abs($0 - truth) <= $1 }.count) / Double(chains) }
        func median(_ e: [Double]) -> Double { e.sorted()[e.count / 2] }
        XCTAssertGreaterThan(coverage(reported), 0.6, "reported errors")
        XCTAssertLessThan(coverage(reported), 0.8, "reported errors")
        XCTAssertEqual(median(reported) / spread, 1, accuracy: 0.2, "typical reported error against the true spread \(spread)")
        XCTAssertLessThan(coverage(windowed), 0.5, "the windowed error alone is too small here")
        XCTAssertLessThan(median(windowed) / spread, 0.6)
    }

    /// On an AR(1) series (no long tail) the reported error stays the Gamma
    /// method's, within the noise of the larger blocks.
    func testBinnedErrorsAgreeWithTheGammaMethodOnAR1() {
        let N = 100_000, rho = 0.9
        let eta = randomNormal(N, seed: 77)
        var a = [Double](repeating: 0, count: N)
        a[0] = eta[0]
        for t in 1..<N { a[t] = rho * a[t - 1] + (1 - rho * rho).squareRoot() * eta[t] }
        let g = GammaMethod(a)
        let r = Binning.estimate([a], firstBlock: Binning.firstBlock(tauInt: g.tauInt, count: N)) { $0[0] }
        let exact = (2 * (1 + rho) / (2 * (1 - rho)) / Double(N)).squareRoot()
        XCTAssertEqual(r.error, exact, accuracy: 0.25 * exact)
        XCTAssertGreaterThanOrEqual(r.error, g.error * 0.9)
        XCTAssertFalse(Binning.stillGrowing(r.errors, sizes: r.sizes, count: N))
    }

    /// Configurations of a chain on a 2-site lattice with phi = (x, x).
    static func measurements(_ x: [Double]) -> Measurements {
        var m = Measurements(lattice: Lattice(L: 2, d: 1))
        for v in x { m.add([v, v]) }
        return m
    }

    /// `analyze` warns about a chain that held one configuration for long, and
    /// not about one that did not.
    func testWarningsNameLongHoldsAndGrowingErrors() throws {
        let heavy = Observables(Self.measurements(Self.chain(20_000, seed: 5)))
        let chain = try XCTUnwrap(heavy.chain)
        XCTAssertGreaterThan(chain.longestRejectionRun, 200, "the synthetic chain holds B for long")
        XCTAssertEqual(chain.rejectionRunHistogram.reduce(0, +) > 0, true)
        let warnings = heavy.warnings ?? []
        XCTAssertTrue(warnings.contains { $0.hasPrefix("error bars may be underestimated: the chain stayed on one configuration for \(chain.longestRejectionRun) steps") },
                      "\(warnings)")

        let eta = randomNormal(20_000, seed: 8)
        var ar = [Double](repeating: 0, count: eta.count)
        ar[0] = eta[0]
        for t in 1..<ar.count { ar[t] = 0.5 * ar[t - 1] + 0.75.squareRoot() * eta[t] }
        let calm = Observables(Self.measurements(ar))
        XCTAssertEqual(calm.warnings ?? ["missing"], [])
        XCTAssertEqual(calm.chain?.longestRejectionRun, 0)
        XCTAssertEqual(calm.chain?.acceptanceRate, 100)

        // A binned error that keeps growing is named.
        let growing = Observables.warnings(curves: ["chi2": [1, 1.2, 1.5, 2.0, 3.0]], sizes: [1, 2, 4, 8, 16], count: 512,
                                           chain: ChainDiagnostics(repeated: [false, false]))
        XCTAssertEqual(growing.count, 1)
        XCTAssertTrue(growing[0].contains("the binned error of chi_2 still grows"), "\(growing)")
    }

    /// Rejection runs are counted in power-of-two bins.
    func testRejectionRunsOfAKnownChain() {
        // accepted, rejected x1, accepted, rejected x3, accepted, rejected x4 (to the end)
        let repeated = [false, true, false, true, true, true, false, true, true, true, true]
        let c = ChainDiagnostics(repeated: repeated)
        XCTAssertEqual(c.transitions, 10)
        XCTAssertEqual(c.acceptanceRate, 20, accuracy: 1e-12)
        XCTAssertEqual(c.longestRejectionRun, 4)
        XCTAssertEqual(c.rejectionRunHistogram, [1, 1, 1])  // [1], [2, 3], [4, 7]
    }
}

import GomalizingFlow
import GomalizingRun
import XCTest

final class SamplingTests: XCTestCase {
    func testESSLimits() {
        XCTAssertEqual(effectiveSampleSize(logWeights: [3, 3, 3, 3]), 1, accuracy: 1e-12)
        // One dominant weight: ESS -> 1/N.
        XCTAssertEqual(effectiveSampleSize(logWeights: [0, -800, -800, -800]), 0.25, accuracy: 1e-12)
        // Weights 1 and 2: (3)^2 / (2 * 5) = 0.9, unaffected by a huge common offset.
        XCTAssertEqual(effectiveSampleSize(logWeights: [1000, 1000 + log(2)]), 0.9, accuracy: 1e-12)
    }

    func testPerfectProposalIsAlwaysAccepted() {
        var chain = IndependenceMH()
        var rng = Xoshiro256(seed: 1)
        for _ in 0..<1000 { XCTAssertTrue(chain.offer(logWeight: -2.5, uniform: rng.uniform())) }
        XCTAssertEqual(chain.acceptanceRate, 100)
    }

    /// Two states with proposal q = (1/2, 1/2) and target p = (1/3, 2/3): the
    /// chain's occupation must converge to p, and acceptance to 1 - |p - q|... computed exactly.
    func testChainTargetsTheRightDistribution() {
        let p = [1.0 / 3, 2.0 / 3], q = [0.5, 0.5]
        var rng = Xoshiro256(seed: 2)
        var chain = IndependenceMH()
        var state = -1
        var count = [0, 0]
        let N = 200_000
        for _ in 0..<N {
            let prop = rng.uniform() < 0.5 ? 0 : 1
            if chain.offer(logWeight: log(p[prop] / q[prop]), uniform: rng.uniform()) { state = prop }
            count[state] += 1
        }
        XCTAssertEqual(Double(count[1]) / Double(N), 2.0 / 3, accuracy: 0.01)
        // Exact acceptance: sum_{x,y} p(x) q(y) min(1, w(y)/w(x)) = 5/6.
        XCTAssertEqual(chain.acceptanceRate, 100 * 5.0 / 6, accuracy: 0.5)
    }

    func testNaNProposalIsRejected() {
        var chain = IndependenceMH()
        _ = chain.offer(logWeight: 0, uniform: 0.5)
        XCTAssertFalse(chain.offer(logWeight: .nan, uniform: 0.0))
    }
}

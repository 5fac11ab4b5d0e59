import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

final class VectorMathTests: XCTestCase {
    /// Relative error against Double tanh on every 61st Float in [-12, 12]
    /// (about 34 million bit patterns / 61), both sides of the polynomial switch.
    func testTanhIsWithinTwoUlpEverywhere() {
        var worst = 0.0, worstX: Float = 0
        var lane = 0
        var batch = SIMD8<Float>.zero
        func check(_ xs: SIMD8<Float>) {
            let ys = VectorMath.tanh(xs)
            for i in 0..<8 {
                let exact = Foundation.tanh(Double(xs[i]))
                let err = exact == 0 ? abs(Double(ys[i])) : abs(Double(ys[i]) / exact - 1)
                if err > worst { worst = err; worstX = xs[i] }
            }
        }
        for sign: Float in [1, -1] {
            var bits = Float.leastNormalMagnitude.bitPattern
            while bits < Float(12).bitPattern {
                batch[lane] = sign * Float(bitPattern: bits)
                lane += 1
                if lane == 8 { check(batch); lane = 0 }
                bits += 61
            }
        }
        XCTAssertLessThan(worst, 2e-7, "worst at x = \(worstX)")
        XCTAssertGreaterThan(worst, 0, "compared against something")
    }

    /// exp on every 31st Float in [-87, 87] against Double exp.
    func testExpIsWithinTwoUlpOnItsRange() {
        var worst = 0.0
        var lane = 0
        var batch = SIMD8<Float>.zero
        for sign: Float in [1, -1] {
            var bits: UInt32 = 0
            while bits <= Float(87).bitPattern {
                batch[lane] = sign * Float(bitPattern: bits)
                lane += 1
                if lane == 8 {
                    XCTAssertTrue(VectorMath.expInRange(batch))
                    let e = VectorMath.exp(batch)
                    for i in 0..<8 { worst = max(worst, abs(Double(e[i]) / Foundation.exp(Double(batch[i])) - 1)) }
                    lane = 0
                }
                bits += 31
            }
        }
        XCTAssertLessThan(worst, 2e-7)
        XCTAssertGreaterThan(worst, 0)
        XCTAssertFalse(VectorMath.expInRange(SIMD8<Float>(0, 0, 0, 0, 0, 0, 0, 88)))
        XCTAssertFalse(VectorMath.expInRange(SIMD8<Float>(0, 0, 0, 0, 0, 0, 0, .nan)))
    }

    func testSpecialValues() {
        let xs = SIMD8<Float>(0, -0.0, .infinity, -.infinity, 1e-30, -1e-30, 20, .nan)
        let ys = VectorMath.tanh(xs)
        XCTAssertEqual(ys[0], 0)
        XCTAssertEqual(ys[1], 0)
        XCTAssertEqual(ys[2], 1)
        XCTAssertEqual(ys[3], -1)
        XCTAssertEqual(ys[4], 1e-30)
        XCTAssertEqual(ys[5], -1e-30)
        XCTAssertEqual(ys[6], 1)
        XCTAssertTrue(ys[7].isNaN, "NaN propagates so that training can detect it")
    }
}

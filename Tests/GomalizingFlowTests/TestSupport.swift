import Foundation
import GomalizingFlow
import XCTest

/// Seeded uniform values in [-scale, scale].
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = Xoshiro256(seed: seed)
    return (0..<n).map { _ in (2 * rng.uniform() - 1) * scale }
}

func randomNormal(_ n: Int, seed: UInt64) -> [Double] {
    var rng = Xoshiro256(seed: seed)
    var out = [Double](repeating: 0, count: n)
    out.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: n) }
    return out
}

/// Relative error |a - b| / max(|a|, |b|, floor), the usual gradient-check measure.
func relativeError(_ a: Double, _ b: Double, floor: Double = 1e-6) -> Double {
    abs(a - b) / max(abs(a), abs(b), floor)
}

/// Asserts that every analytic derivative matches its central finite difference.
func assertGradientsMatch(analytic: [Double], numeric: [Double], tolerance: Double, floor: Double = 1e-6,
                          _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(analytic.count, numeric.count, file: file, line: line)
    var worst = 0.0
    var worstIndex = -1
    for i in analytic.indices {
        let e = relativeError(analytic[i], numeric[i], floor: floor)
        if e > worst { worst = e; worstIndex = i }
    }
    XCTAssertLessThan(worst, tolerance,
                      "\(what): worst relative error \(worst) at \(worstIndex): analytic \(analytic[max(worstIndex, 0)]) vs numeric \(numeric[max(worstIndex, 0)])",
                      file: file, line: line)
}

/// A folder under the system temp directory, removed by the caller.
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gomalizing-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// log|det a| by LU decomposition with partial pivoting.
func logAbsDet(_ a: [[Double]]) -> Double {
    var m = a
    let n = m.count
    var s = 0.0
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
        m.swapAt(c, p)
        s += log(abs(m[c][c]))
        for r in (c + 1)..<n {
            let f = m[r][c] / m[c][c]
            for k in c..<n { m[r][k] -= f * m[c][k] }
        }
    }
    return s
}


import Foundation

/// log Z(h) of a `SiteConditional` tabulated for fast evaluation: the exact
/// values and slopes (d log Z/dh = 2 <phi>_h) at h = k/256 for |h| <= 32 and the
/// cubic Hermite interpolant between them; beyond the table, the quadrature itself.
/// `value(h)` returns the interpolant and its own derivative, so an action built
/// on it and its force agree exactly (what path gradients and HMC need).
///
/// `maximumError` is the largest difference from the quadrature found at the
/// midpoints of all intervals (where the interpolation error peaks), measured
/// when the table is built; `OddSiteMarginalTests` checks it is below 1e-10, so
/// the log-weight of a configuration with V/2 even sites is off by at most V/2 times that.
public struct SiteConditionalTable: Sendable {
    /// The conditional tabulated.
    public let conditional: SiteConditional
    /// Nodes per unit of h.
    public static let density = 256
    /// The table covers |h| <= range.
    public static let range = 32.0
    let logZ: [Double]
    let slope: [Double]
    /// Largest |interpolant - quadrature| at the intervals' midpoints.
    public let maximumError: Double

    /// Tabulates `conditional` (log Z is even in h, so only h >= 0 is stored).
    public init(_ conditional: SiteConditional) {
        self.conditional = conditional
        let n = Int(SiteConditionalTable.range) * SiteConditionalTable.density
        let step = 1 / Double(SiteConditionalTable.density)
        var values = [Double](), slopes = [Double]()
        for k in 0...n {
            let m = conditional.moments(h: Double(k) * step)
            values.append(m.logZ)
            slopes.append(2 * m.mean)
        }
        logZ = values
        slope = slopes
        var worst = 0.0
        for k in 0..<n {
            let h = (Double(k) + 0.5) * step
            worst = max(worst, abs(SiteConditionalTable.hermite(values, slopes, h * Double(SiteConditionalTable.density)).value
                - conditional.moments(h: h).logZ))
        }
        maximumError = worst
    }

    /// The cubic Hermite interpolant of (values, slopes) at t (in units of the node spacing) and its derivative in h.
    @inline(__always)
    static func hermite(_ values: [Double], _ slopes: [Double], _ t: Double) -> (value: Double, derivative: Double) {
        let k = min(Int(t), values.count - 2)
        let s = t - Double(k), step = 1 / Double(density)
        let y0 = values[k], y1 = values[k + 1], d0 = slopes[k] * step, d1 = slopes[k + 1] * step
        let s2 = s * s, s3 = s2 * s
        let value = (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * y1 + (s3 - s2) * d1
        let ds = (6 * s2 - 6 * s) * (y0 - y1) + (3 * s2 - 4 * s + 1) * d0 + (3 * s2 - 2 * s) * d1
        return (value, ds * Double(density))
    }

    /// log Z(h) and d log Z/dh.
    @inline(__always)
    public func value(_ h: Double) -> (logZ: Double, derivative: Double) {
        let x = abs(h)
        guard x < SiteConditionalTable.range else {
            let m = conditional.moments(h: h)
            return (m.logZ, 2 * m.mean)
        }
        let r = SiteConditionalTable.hermite(logZ, slope, x * Double(SiteConditionalTable.density))
        return (r.value, h < 0 ? -r.derivative : r.derivative)
    }
}

import Foundation

/// Independent standard normal per site: log q0(z) = sum_x (-z^2/2 - log(2 pi)/2).
public struct NormalPrior: Sendable {
    public let volume: Int
    public init(volume: Int) { self.volume = volume }

    public static let logNorm = -0.5 * Foundation.log(2 * Double.pi)

    public func logDensity<T: BinaryFloatingPoint>(_ z: UnsafePointer<T>) -> Double {
        var s = 0.0
        for i in 0..<volume { let v = Double(z[i]); s += v * v }
        return -0.5 * s + Double(volume) * NormalPrior.logNorm
    }

    /// Fills `count` configurations of `volume` sites.
    public func sample<T: BinaryFloatingPoint>(into z: UnsafeMutablePointer<T>, count: Int, rng: inout Xoshiro256) {
        rng.fillNormal(z, count: count * volume)
    }
}

import Foundation

/// Independent standard normal per site: log q0(z) = sum_x (-z^2/2 - log(2 pi)/2).
public struct NormalPrior: Sendable {
    /// Sites per configuration.
    public let volume: Int
    /// The prior of `volume` independent sites.
    public init(volume: Int) { self.volume = volume }

    /// -log(2 pi)/2, the log normalisation per site.
    public static let logNorm = -0.5 * Foundation.log(2 * Double.pi)

    /// log q0(z) of one configuration of `volume` values, in Float64.
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

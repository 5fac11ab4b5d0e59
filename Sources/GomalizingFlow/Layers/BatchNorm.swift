import Numerics

/// Batch normalisation over the sites and configurations of a batch, per channel,
/// followed by the layer's activation (GomalizingFlow.jl's `BatchNorm(c, act)`
/// after a bias-carrying conv):
///
///   y = act(gamma (z - mean) / sqrt(var + eps) + beta).
///
/// In training, mean and var are the (biased) batch statistics, so the gradient
/// runs through them and the running statistics are updated with momentum 0.1
/// (unbiased variance, as Flux and PyTorch do). For sampling, the running
/// statistics are used, which makes the flow a fixed bijection per configuration.
public struct BatchNorm: Sendable {
    /// Number of channels C; values are laid out [site][C].
    public let channels: Int
    /// gamma and beta in the parameter vector.
    public let gammaOffset: Int
    /// Offset of beta (C values) in the parameter vector.
    public let betaOffset: Int
    /// Running mean and variance in the buffer vector.
    public let meanOffset: Int
    /// Offset of the running variance (C values) in the buffer vector.
    public let varOffset: Int
    /// Nonlinearity applied after the affine map.
    public let activation: Activation

    /// Added to the variance under the square root.
    public static let eps = 1e-5
    /// Weight of the batch statistics in the running-statistics update.
    public static let momentum = 0.1

    /// A batch norm of `channels` channels at the given parameter and buffer offsets.
    public init(channels: Int, gammaOffset: Int, betaOffset: Int, meanOffset: Int, varOffset: Int, activation: Activation) {
        self.channels = channels
        self.gammaOffset = gammaOffset
        self.betaOffset = betaOffset
        self.meanOffset = meanOffset
        self.varOffset = varOffset
        self.activation = activation
    }

    /// Per-channel statistics used to normalise: mean and 1/sqrt(var + eps).
    public struct Statistics: Sendable {
        /// Per-channel mean.
        public var mean: [Double]
        /// Per-channel variance: biased for batch statistics, the running variance otherwise.
        public var variance: [Double]
        /// Per-channel 1/sqrt(variance + eps).
        public var invStd: [Double]
        /// Number of values per channel the statistics were taken over (0 for running stats).
        public var count: Int
    }

    /// Adds sum z and sum z^2 per channel over `sites` rows of z into moments[0..<2C].
    public func accumulateMoments<T: BinaryFloatingPoint>(_ z: UnsafePointer<T>, sites: Int, into moments: UnsafeMutablePointer<Double>) {
        let C = channels
        for s in 0..<sites {
            for c in 0..<C {
                let v = Double(z[s * C + c])
                moments[c] += v
                moments[C + c] += v * v
            }
        }
    }

    /// Batch statistics from summed moments over `count` values per channel.
    public func statistics(moments: UnsafePointer<Double>, count: Int) -> Statistics {
        let C = channels
        var mean = [Double](repeating: 0, count: C), variance = mean, inv = mean
        for c in 0..<C {
            let m = moments[c] / Double(count)
            let v = max(0, moments[C + c] / Double(count) - m * m)
            mean[c] = m
            variance[c] = v
            inv[c] = 1 / (v + BatchNorm.eps).squareRoot()
        }
        return Statistics(mean: mean, variance: variance, invStd: inv, count: count)
    }

    /// Statistics from the running mean and variance in `buffers`, with count 0
    /// (which makes the normalisation a fixed affine map in the pullback).
    public func runningStatistics<T: BinaryFloatingPoint>(buffers: UnsafePointer<T>) -> Statistics {
        let mean = (0..<channels).map { Double(buffers[meanOffset + $0]) }
        let variance = (0..<channels).map { Double(buffers[varOffset + $0]) }
        return Statistics(mean: mean, variance: variance,
                          invStd: variance.map { 1 / ($0 + BatchNorm.eps).squareRoot() }, count: 0)
    }

    /// running <- (1 - momentum) running + momentum batch, with the unbiased batch variance.
    public func updateRunning<T: BinaryFloatingPoint>(_ stats: Statistics, buffers: UnsafeMutablePointer<T>) {
        let m = BatchNorm.momentum
        let n = Double(stats.count)
        for c in 0..<channels {
            let unbiased = n > 1 ? stats.variance[c] * n / (n - 1) : stats.variance[c]
            buffers[meanOffset + c] = T((1 - m) * Double(buffers[meanOffset + c]) + m * stats.mean[c])
            buffers[varOffset + c] = T((1 - m) * Double(buffers[varOffset + c]) + m * unbiased)
        }
    }

    /// y = act(gamma xhat + beta), xhat = (z - mean) invStd.
    public func forward<T: Real & BinaryFloatingPoint>(
        _ z: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, sites: Int, stats: Statistics, params: UnsafePointer<T>
    ) {
        let C = channels
        for c in 0..<C {
            let a = T(stats.invStd[c]) * params[gammaOffset + c]
            let b = params[betaOffset + c] - a * T(stats.mean[c])
            for s in 0..<sites { y[s * C + c] = a * z[s * C + c] + b }
        }
        activation.apply(y, count: sites * C)
    }

    /// First half of the pullback: dn = dL/d(gamma xhat + beta) from dL/dy, and the
    /// per-channel sums of dn and dn * xhat added into sums[0..<2C] (they give
    /// dL/dbeta and dL/dgamma, and enter dL/dz through the batch statistics).
    public func pullbackMoments<T: Real & BinaryFloatingPoint>(
        output y: UnsafePointer<T>, _ dy: UnsafePointer<T>, preNorm z: UnsafePointer<T>,
        into dn: UnsafeMutablePointer<T>, sites: Int, stats: Statistics, sums: UnsafeMutablePointer<Double>
    ) {
        let C = channels
        activation.pullback(output: y, dy, into: dn, count: sites * C, scale: 1)
        for s in 0..<sites {
            for c in 0..<C {
                let g = Double(dn[s * C + c])
                sums[c] += g
                sums[C + c] += g * (Double(z[s * C + c]) - stats.mean[c]) * stats.invStd[c]
            }
        }
    }

    /// Second half: overwrites dn with dL/dz. With batch statistics (training)
    ///   dz = gamma invStd (dn - sum dn / M - xhat sum(dn xhat) / M);
    /// with running statistics the normalisation is a fixed affine map, dz = gamma invStd dn.
    public func inputGradient<T: Real & BinaryFloatingPoint>(
        _ dn: UnsafeMutablePointer<T>, preNorm z: UnsafePointer<T>, sites: Int, stats: Statistics,
        sums: UnsafePointer<Double>, params: UnsafePointer<T>
    ) {
        let C = channels
        for c in 0..<C {
            let gi = Double(params[gammaOffset + c]) * stats.invStd[c]
            if stats.count == 0 {
                let a = T(gi)
                for s in 0..<sites { dn[s * C + c] *= a }
                continue
            }
            let M = Double(stats.count)
            let mdn = sums[c] / M, mdx = sums[C + c] / M
            for s in 0..<sites {
                let xhat = (Double(z[s * C + c]) - stats.mean[c]) * stats.invStd[c]
                dn[s * C + c] = T(gi * (Double(dn[s * C + c]) - mdn - xhat * mdx))
            }
        }
    }

    /// dL/dgamma and dL/dbeta from the summed moments of `pullbackMoments`.
    public func parameterGradient<T: BinaryFloatingPoint>(sums: UnsafePointer<Double>, grads: UnsafeMutablePointer<T>) {
        for c in 0..<channels {
            grads[betaOffset + c] += T(sums[c])
            grads[gammaOffset + c] += T(sums[channels + c])
        }
    }
}

import Foundation

/// What the importance weights w = p/q of a flow's proposals say about the
/// flow as a sampler: the effective sample size, the largest normalised
/// weight, and the Pareto shape k of the weights' upper tail (the PSIS
/// diagnostic of Vehtari et al.). An independence Metropolis-Hastings chain is
/// exact whatever the weights, but its error bars rest on their variance: for
/// k > 1/2 the variance of w is infinite, and for k > 0.7 a chain of practical
/// length converges too slowly for its error bars to be trusted.
public struct WeightDiagnostics: Codable, Equatable, Sendable {
    /// Proposals the diagnostics are computed over.
    public var count: Int
    /// (sum w)^2 / (N sum w^2), in (0, 1].
    public var ess: Double
    /// max w / sum w: 1/N for a perfect flow, near 1 when one proposal dominates.
    public var maxWeight: Double
    /// Shape of a generalised Pareto fitted to the largest weights (NaN with
    /// fewer than `WeightDiagnostics.minimumCount` proposals).
    public var paretoK: Double
    /// How many of the largest weights the fit used.
    public var tailSize: Int

    /// Fewer proposals leave too small a tail (M = 3 sqrt(N) < 30) for a fit.
    public static let minimumCount = 100

    /// Diagnostics of the weights w = exp(logWeights), log w = log p - log q per
    /// proposal; a constant shift of the log weights (log Z) changes nothing.
    public init(logWeights: [Double]) {
        count = logWeights.count
        ess = effectiveSampleSize(logWeights: logWeights)
        let finite = logWeights.filter(\.isFinite)
        if let top = finite.max(), finite.count == logWeights.count {
            let sum = finite.reduce(0.0) { $0 + Foundation.exp($1 - top) }
            maxWeight = 1 / sum
        } else {
            maxWeight = .nan
        }
        let fit = WeightDiagnostics.paretoShape(logWeights: logWeights)
        paretoK = fit.k
        tailSize = fit.tailSize
    }

    /// The plain-words reading of k, with Vehtari et al.'s thresholds.
    public var verdict: String { WeightDiagnostics.verdict(paretoK: paretoK) }

    /// The plain-words reading of a Pareto k: good below 0.5, fair up to 0.7,
    /// unreliable above, and "too few proposals" when k is not finite.
    public static func verdict(paretoK: Double) -> String {
        guard paretoK.isFinite else { return "too few proposals for a tail fit" }
        if paretoK < 0.5 { return "good: the weights have a finite variance" }
        if paretoK <= 0.7 {
            // Why the advice: at k 0.50-0.56, 10^5-step chains were 2-4 errors off in half the theories of
            // docs/studies/flow-vs-classical.md; one 10x longer chain agreed, another did not (a region never proposed).
            return "fair: the weights' variance is infinite and error bars of short chains can be too small; "
                + "check with a chain 10x longer or an independent sampler"
        }
        return "unreliable: the weights' tail is so heavy that a chain of practical length can be biased and its error bars cannot be trusted"
    }

    /// Pareto shape of the upper tail of exp(logWeights): the largest
    /// M = min(N/5, 3 sqrt(N)) weights minus the next one, fitted by the
    /// Zhang-Stephens (2009) posterior-mean estimate, then pulled toward 1/2
    /// as if by ten prior observations (Vehtari et al.'s weakly informative
    /// prior, which steadies small tails). The shape does not depend on the
    /// weights' scale, so they are taken relative to the largest.
    public static func paretoShape(logWeights: [Double]) -> (k: Double, tailSize: Int) {
        let n = logWeights.count
        guard n >= minimumCount, logWeights.allSatisfy(\.isFinite) else { return (.nan, 0) }
        let m = Int(min(0.2 * Double(n), 3 * Double(n).squareRoot()))
        let sorted = logWeights.sorted()
        let top = sorted[n - 1]
        let threshold = Foundation.exp(sorted[n - m - 1] - top)
        let x = sorted[(n - m)...].map { Foundation.exp($0 - top) - threshold }
        guard let xMax = x.last, xMax > 0 else { return (0, m) }
        return (zhangStephens(x), m)
    }

    /// Generalised-Pareto shape of exceedances `x` (ascending, non-negative).
    /// With theta = k / sigma the likelihood's maximum over k at fixed theta is
    /// k(theta) = mean log(1 + theta x), and the profile log-likelihood
    /// n (log(theta / k) - k - 1) is averaged over a grid of theta values
    /// (Zhang and Stephens's quadrature) to give theta and then k.
    static func zhangStephens(_ x: [Double]) -> Double {
        let n = x.count
        let grid = 30 + Int(Double(n).squareRoot())
        let quartile = max(x[max(0, Int(Double(n) / 4 + 0.5) - 1)], x[n - 1] * 1e-12)
        func kOf(_ theta: Double) -> Double {
            var s = 0.0
            for v in x { s += Foundation.log1p(theta * v) }
            return s / Double(n)
        }
        // theta > -1/x_max keeps every 1 + theta x positive.
        var thetas: [Double] = []
        var profile: [Double] = []
        for j in 1...grid {
            let theta = -1 / x[n - 1] + ((Double(grid) / (Double(j) - 0.5)).squareRoot() - 1) / (3 * quartile)
            let k = kOf(theta)
            guard theta != 0, k != 0, theta / k > 0 else { continue }
            thetas.append(theta)
            profile.append(Double(n) * (Foundation.log(theta / k) - k - 1))
        }
        guard let peak = profile.max() else { return .nan }
        var weightSum = 0.0, thetaSum = 0.0
        for (t, l) in zip(thetas, profile) {
            let w = Foundation.exp(l - peak)
            weightSum += w
            thetaSum += w * t
        }
        let k = kOf(thetaSum / weightSum)
        return (Double(n) * k + 10 * 0.5) / (Double(n) + 10)
    }
}

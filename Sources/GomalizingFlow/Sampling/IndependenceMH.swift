import Foundation

/// Independence Metropolis-Hastings over proposals drawn from the flow. With
/// log weights w = log p - log q, proposal j replaces the current state with
/// probability min(1, exp(w_j - w_current)); the first proposal starts the chain.
public struct IndependenceMH {
    /// log p - log q of the chain's current state; nil before the first proposal.
    public private(set) var currentLogWeight: Double?
    /// Transitions made: proposals offered after the first.
    public private(set) var steps = 0
    /// Transitions accepted.
    public private(set) var accepted = 0

    /// An empty chain; the first proposal offered starts it.
    public init() {}

    /// Offers one proposal; returns whether it was accepted. `u` is a uniform
    /// deviate in [0, 1), drawn by the caller so the chain is reproducible.
    public mutating func offer(logWeight w: Double, uniform u: Double) -> Bool {
        guard let current = currentLogWeight else {
            currentLogWeight = w
            return true
        }
        steps += 1
        // Comparing logs avoids overflow of exp for large weight ratios; a NaN
        // proposal is rejected.
        let accept = w - current >= 0 || Foundation.log(u) < w - current
        if accept {
            currentLogWeight = w
            accepted += 1
        }
        return accept
    }

    /// Acceptance rate in percent over the transitions made so far.
    public var acceptanceRate: Double {
        steps == 0 ? 0 : 100 * Double(accepted) / Double(steps)
    }
}

/// Effective sample size per sample of importance weights given as logs:
/// ESS = (sum w)^2 / (N sum w^2), computed after subtracting the largest log
/// weight so nothing overflows. Lies in (0, 1]; 1 means a perfect flow.
public func effectiveSampleSize(logWeights: [Double]) -> Double {
    guard let maxW = logWeights.max(), maxW.isFinite else { return 0 }
    var s1 = 0.0, s2 = 0.0
    for w in logWeights {
        let e = Foundation.exp(w - maxW)
        s1 += e
        s2 += e * e
    }
    return s1 * s1 / (Double(logWeights.count) * s2)
}

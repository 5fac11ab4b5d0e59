import Foundation

/// The proposals of a flow chain as `analyze` records them for the report:
/// the weight-tail diagnostics, a histogram of the log weights, and S_eff =
/// -log q against S for a subsample. With log p = -S, log w = S_eff - S, so a
/// perfect flow puts every point on the line S_eff = S + c, c = log w's mean
/// (minus log Z up to the flow's error), and the log weights in one bin.
public struct ProposalDiagnostics: Codable, Equatable {
    /// ESS, largest normalised weight and Pareto k of all the proposals' weights.
    public var weights: WeightDiagnostics
    /// Bin edges (count + 1) and counts of the log weights.
    public var logWeightEdges: [Double]
    /// Proposals per bin of `logWeightEdges` (empty when no log weight is finite).
    public var logWeightCounts: [Int]
    /// S and S_eff of up to `scatterPoints` proposals, evenly spaced in the chain.
    public var action: [Double]
    /// S_eff = -log q of the same subsample as `action`.
    public var effectiveAction: [Double]
    /// Mean of log w: the offset of the line S_eff = S + offset.
    public var offset: Double

    /// Most proposals kept for the S_eff against S scatter.
    public static let scatterPoints = 600
    /// Number of bins of the log-weight histogram.
    public static let bins = 40

    /// `logP` = -S and `logQ` of each proposal.
    public init(logP: [Double], logQ: [Double]) {
        precondition(logP.count == logQ.count)
        let logW = zip(logP, logQ).map { $0 - $1 }
        weights = WeightDiagnostics(logWeights: logW)
        let finite = logW.filter(\.isFinite)
        offset = finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
        if let lo = finite.min(), let hi = finite.max() {
            let width = hi > lo ? (hi - lo) / Double(Self.bins) : 1
            logWeightEdges = (0...Self.bins).map { lo + Double($0) * width }
            var counts = [Int](repeating: 0, count: Self.bins)
            for w in finite { counts[min(Self.bins - 1, Int((w - lo) / width))] += 1 }
            logWeightCounts = counts
        } else {
            logWeightEdges = []
            logWeightCounts = []
        }
        let stride = max(1, logP.count / Self.scatterPoints)
        let picks = Swift.stride(from: 0, to: logP.count, by: stride).prefix(Self.scatterPoints)
        action = picks.map { -logP[$0] }
        effectiveAction = picks.map { -logQ[$0] }
    }
}

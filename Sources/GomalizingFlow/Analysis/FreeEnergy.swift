import Foundation

/// The absolute free energy from a flow's proposals (Nicoli et al.,
/// arXiv:2007.07115): with i.i.d. proposals phi_i ~ q and w_i = exp(-S(phi_i)) / q(phi_i),
/// Z = integral of exp(-S) = E_q[w], so log Z ~ log((1/N) sum_i w_i) and the free
/// energy density is f = -log Z / V. Monte Carlo cannot give Z at all; the flow
/// gives it because q is normalised (the prior's log(2 pi)/2 per site included).
///
/// Error: the delta method, Var(Z_hat) / Z^2 = (E[w^2] / Z^2 - 1) / N, estimated by
/// the proposals themselves: sigma(log Z) = sqrt((1/ESS - 1) / N), ESS the
/// normalised effective sample size. That needs a finite variance of w, which
/// the Pareto k of the weights' tail judges: below 0.5 it holds; above, the
/// variance is infinite, log Z_hat is biased low (the largest weights are
/// rarely drawn) and its error cannot be trusted (`trusted` is false).
public struct FreeEnergy: Codable, Equatable, Sendable {
    /// log Z_hat.
    public var logZ: Double
    /// Its error (delta method), see the type's notes.
    public var logZError: Double
    /// -log Z_hat / V.
    public var density: Double
    /// logZError / V.
    public var densityError: Double
    /// Proposals used.
    public var proposals: Int
    /// Pareto k of the weights (`WeightDiagnostics.paretoK`).
    public var paretoK: Double
    /// Whether the error holds: k < 0.5 (a finite variance of the weights).
    public var trusted: Bool
    /// Whether the chain's configurations kept one sign of M (`VacuumDiagnostics.oneSided`):
    /// proposals of one vacuum miss the other's share of Z (log 2 for two equal vacua),
    /// whatever their weights say; nil where not judged.
    public var oneVacuum: Bool?

    /// The estimate from each proposal's log p = -S and log q, on V sites; nil
    /// with no proposal, or a log weight that is NaN or +inf (a proposal the flow
    /// cannot have drawn, or a broken table); -inf is a zero weight.
    public init?(logP: [Double], logQ: [Double], volume: Int, paretoK: Double) {
        precondition(logP.count == logQ.count)
        let logW = zip(logP, logQ).map { $0 - $1 }
        // A log weight of -inf (S overflowed) is a zero weight; NaN or +inf (log q of -inf: a
        // proposal the flow cannot have drawn) leaves no estimate.
        guard !logW.isEmpty, !logW.contains(where: { $0.isNaN || $0 == .infinity }), let top = logW.max(), top.isFinite else {
            return nil
        }
        let n = Double(logW.count)
        var s1 = 0.0, s2 = 0.0
        for w in logW {
            let e = Foundation.exp(w - top)
            s1 += e
            s2 += e * e
        }
        logZ = top + Foundation.log(s1 / n)
        let ess = s1 * s1 / (n * s2)
        logZError = (max(0, 1 / ess - 1) / n).squareRoot()
        density = -logZ / Double(volume)
        densityError = logZError / Double(volume)
        proposals = logW.count
        self.paretoK = paretoK
        trusted = paretoK.isFinite && paretoK < 0.5
    }

    /// In plain words: whether the estimate and its error can be believed.
    public var verdict: String {
        if oneVacuum == true {
            return "not the theory's: the chain kept one sign of M, so the proposals cover one vacuum and log Z misses the other's "
                + "share (log 2 for two equal vacua); sample with --z2 on"
        }
        return trusted ? "the weights have a finite variance (Pareto k < 0.5): the error holds"
            : String(format: "not to be trusted: Pareto k %.2f >= 0.5 (or too few proposals), so the weights' variance is infinite, "
                     + "log Z is biased low and its error too small; train further or draw more proposals", paretoK)
    }
}

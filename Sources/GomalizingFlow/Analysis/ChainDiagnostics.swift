/// What a Markov chain's accept/reject history says about its error bars: the
/// acceptance, the runs of consecutive rejections (a rejected step repeats the
/// configuration, so these are read off the chain itself) and the integrated
/// autocorrelation time of the accept series.
public struct ChainDiagnostics: Codable, Equatable {
    /// Steps between consecutive configurations: configurations - 1.
    public var transitions: Int
    /// Percent of transitions that moved the chain.
    public var acceptanceRate: Double
    /// Most consecutive rejected steps (0 if none).
    public var longestRejectionRun: Int
    /// Number of rejection runs of length in [2^k, 2^(k+1)), k = 0, 1, ...
    public var rejectionRunHistogram: [Int]
    /// Gamma-method tau_int of the accept series (1 accepted, 0 rejected); 0.5 with fewer than 2 transitions.
    public var acceptTauInt: Double

    /// `repeated[i]`: configuration i equals configuration i - 1 (false for i = 0).
    public init(repeated: [Bool]) {
        transitions = max(0, repeated.count - 1)
        let rejected = repeated.dropFirst().filter { $0 }.count
        acceptanceRate = transitions == 0 ? 0 : 100 * Double(transitions - rejected) / Double(transitions)
        var runs: [Int] = []
        var run = 0
        for r in repeated.dropFirst() {
            if r {
                run += 1
            } else if run > 0 {
                runs.append(run)
                run = 0
            }
        }
        if run > 0 { runs.append(run) }
        longestRejectionRun = runs.max() ?? 0
        var histogram = [Int](repeating: 0, count: runs.isEmpty ? 0 : (Int.bitWidth - longestRejectionRun.leadingZeroBitCount))
        for r in runs { histogram[Int.bitWidth - 1 - r.leadingZeroBitCount] += 1 }
        rejectionRunHistogram = histogram
        let accepts = repeated.dropFirst().map { $0 ? 0.0 : 1.0 }
        acceptTauInt = accepts.count >= 2 ? GammaMethod(accepts).tauInt : 0.5
    }
}

import Foundation

/// Whether a chain samples both signs of the magnetisation M, as the Z2
/// symmetry φ → −φ of the action requires (exactly ⟨M⟩ = 0). In the broken
/// phase the two vacua are separated by a barrier: a local sampler (HMC)
/// tunnels rarely, and a flow that has collapsed onto one vacuum never
/// proposes the other, so an independence chain over it never goes there and
/// its weights cannot show what it never reaches. Even observables (⟨|M|⟩,
/// V⟨M²⟩) are then still right; odd ones (⟨M⟩) and the connected correlators,
/// which subtract the chain's own ⟨M⟩², are not.
public struct VacuumDiagnostics: Codable, Equatable, Sendable {
    /// Fraction of configurations with M > 0.
    public var positiveFraction: Double
    /// Steps at which the sign of M changed (M = 0 counts as keeping the sign).
    public var signChanges: Int
    /// ⟨M⟩ in units of its error (Gamma method and binning, as every estimate here).
    public var magnetizationSigmas: Double
    /// Whether the chain evidently samples one vacuum (or mostly one): fewer
    /// than `minimumSignChanges` sign changes (in a chain of at least twenty
    /// times that many configurations), or ⟨M⟩ beyond `maximumSigmas` errors from 0.
    public var oneSided: Bool

    /// Fewer sign changes than this and the chain cannot have sampled both signs in proportion.
    public static let minimumSignChanges = 10
    /// |⟨M⟩| beyond this many errors contradicts ⟨M⟩ = 0.
    public static let maximumSigmas = 4.0

    /// The diagnostics of the series M (per-configuration magnetisation) with ⟨M⟩ estimated as `mean`.
    public init(magnetization M: [Double], mean: Estimate) {
        positiveFraction = M.isEmpty ? .nan : Double(M.filter { $0 > 0 }.count) / Double(M.count)
        var changes = 0
        var sign = 0.0
        for m in M where m != 0 {
            let s: Double = m > 0 ? 1 : -1
            if sign != 0 && s != sign { changes += 1 }
            sign = s
        }
        signChanges = changes
        magnetizationSigmas = mean.error > 0 ? mean.value / mean.error : (mean.value == 0 ? 0 : .nan)
        // A chain too short to change sign ten times is judged by <M> alone; a NaN <M> (overflowing
        // data) by its sign changes alone.
        let fewChanges = M.count >= 20 * Self.minimumSignChanges && changes < Self.minimumSignChanges
        oneSided = fewChanges || abs(magnetizationSigmas) > Self.maximumSigmas
    }

    /// How many of the `n` fields in `phi` ([n][V]) have M > 0 (the sum taken in
    /// Float, as the flow's passes hold the fields): the per-epoch evaluation's
    /// and the sampler's pilot count.
    public static func positiveCount(_ phi: UnsafePointer<Float>, n: Int, volume V: Int) -> Int {
        var positive = 0
        for b in 0..<n {
            var m: Float = 0
            for v in 0..<V { m += phi[b * V + v] }
            if m > 0 { positive += 1 }
        }
        return positive
    }

    /// One line for the analysis's warnings when the chain is one-sided, else nil.
    public var warning: String? {
        guard oneSided else { return nil }
        return String(format: "one vacuum: M > 0 in %.1f%% of the configurations, %d sign changes, <M> = %.1f errors from 0, "
            + "but the action is Z2 symmetric (<M> = 0 exactly): <M>, G(x), C(t), chi_2 and the pole mass subtract the chain's "
            + "own <M>^2 and are biased; read chi2_symmetric (<M> = 0 imposed) and chi2_abs, or sample both vacua "
            + "(sample --z2 on, or a z2_equivariant model)", 100 * positiveFraction, signChanges, magnetizationSigmas)
    }
}

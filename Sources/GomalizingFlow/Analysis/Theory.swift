import Foundation

/// The theory a chain samples: lattice size, dimension and the couplings of
/// the phi^4 action. An analysis records it, so that two analyses are
/// compared only when they describe the same theory.
public struct Theory: Codable, Equatable, Sendable {
    /// Sites per axis.
    public var L: Int
    /// Dimension.
    public var d: Int
    /// The bare mass squared m^2 (`[physical] M2`).
    public var M2: Double
    /// The quartic coupling lambda (`[physical] lam`).
    public var lam: Double

    /// A theory from its values.
    public init(L: Int, d: Int, M2: Double, lam: Double) {
        self.L = L
        self.d = d
        self.M2 = M2
        self.lam = lam
    }

    /// The theory of `action`.
    public init(_ action: Phi4Action) {
        self.init(L: action.lattice.L, d: action.lattice.d, M2: action.m2, lam: action.lam)
    }

    /// "L 8 here, 12 there" for each value on which `other` differs (exact
    /// comparison: both come from TOML numbers, stored exactly).
    public func differences(from other: Theory, here: String = "here", there: String = "there") -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) {
            if a != b { out.append("\(name) \(a) \(here), \(b) \(there)") }
        }
        check("L", L, other.L)
        check("d", d, other.d)
        check("M2", M2, other.M2)
        check("lam", lam, other.lam)
        return out
    }

    /// Refuses to compare the analysis in `file`, of this theory, with one of
    /// `other`, which `otherName` places ("here", "in cfgs/x.toml").
    /// - Throws: `InputError` naming `file` and every difference.
    public func requireSame(as other: Theory, file: String, otherName: String) throws {
        let d = differences(from: other, here: "there", there: otherName)
        guard d.isEmpty else {
            throw InputError(file: file, "is an analysis of another theory (\(d.joined(separator: "; "))): comparing them means nothing")
        }
    }

    /// "L = 8, d = 2, M2 = -4.0, lam = 8.0".
    public var description: String { "L = \(L), d = \(d), M2 = \(M2), lam = \(lam)" }
}

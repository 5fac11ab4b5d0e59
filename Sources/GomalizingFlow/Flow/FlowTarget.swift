import Foundation

/// What a flow's field is and the density it is trained against and sampled for.
///
/// - `full`: the field is the theory's configuration, log p = -S (the usual case).
/// - `oddSites`: the even sites are integrated out exactly (2-D, even L): the
///   field is the covering field of the odd sites (`OddSiteMarginal`), log p =
///   -S_odd, and a configuration of the theory is completed by drawing its even
///   sites from their exact conditionals. Every degree of freedom appears twice
///   in the covering field, so the flow's log-det and the prior's log-density
///   count it twice: `multiplicity` (2) divides them, and the prior draws are
///   made covering (`symmetrise`). The importance weight p/q then depends on the
///   odd sites only: the even sites' part cancels exactly (Rao-Blackwell).
public enum FlowTarget: Sendable {
    case full(Phi4Action)
    case oddSites(OddSiteMarginal)

    /// The lattice of the flow's field.
    public var lattice: Lattice {
        switch self {
        case let .full(a): return a.lattice
        case let .oddSites(m): return m.lattice
        }
    }

    /// How many times each degree of freedom appears in the field: 1, or 2 for the covering field.
    public var multiplicity: Double {
        switch self {
        case .full: return 1
        case .oddSites: return 2
        }
    }

    /// -log p (unnormalised) of the flow's field: S, or S_odd (half the covering action).
    public func action<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>) -> Double {
        switch self {
        case let .full(a): return a.action(phi)
        case let .oddSites(m): return m.action(phi) / multiplicity
        }
    }

    /// d(action)/d phi of the flow's field (for the covering field, half the
    /// covering force: each value's derivative, of which there are two copies), times `scale`.
    public func force<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>, into force: UnsafeMutablePointer<T>, scale: Double = 1) {
        switch self {
        case let .full(a): a.force(phi, into: force, scale: scale)
        case let .oddSites(m): m.force(phi, into: force, scale: scale / multiplicity)
        }
    }

    /// Prior draws first..<first + n of `step` from `draws` into z ([n][V]), made covering fields for `oddSites`.
    public func fill<T: BinaryFloatingPoint>(_ z: UnsafeMutablePointer<T>, from draws: PriorDraws, step: Int, first: Int, count n: Int,
                                             threads: Int) {
        draws.fill(z, step: step, first: first, count: n, threads: threads)
        symmetrise(z, count: n)
    }

    /// Makes n prior draws ([n][V]) covering fields: the copy of each odd site at
    /// (u + L/2, v + L/2) takes the value at (u, v), u < L/2. Nothing for `full`.
    public func symmetrise<T>(_ z: UnsafeMutablePointer<T>, count n: Int) {
        guard case .oddSites = self else { return }
        let L = lattice.L, V = lattice.volume, half = L / 2
        for b in 0..<n {
            let f = z + b * V
            for u in 0..<half {
                for v in 0..<L { f[(u + half) * L + (v + half) % L] = f[u * L + v] }
            }
        }
    }

    /// The theory's configuration of a flow field: itself, or the odd sites
    /// completed with exact draws of the even sites (`OddSiteMarginal.completed`).
    public func configuration(_ phi: [Float], using rng: inout Xoshiro256) -> [Float] {
        switch self {
        case .full: return phi
        case let .oddSites(m): return m.completed(phi, using: &rng)
        }
    }
}

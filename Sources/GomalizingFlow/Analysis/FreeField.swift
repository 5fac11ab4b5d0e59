import Foundation

/// Exact two-point function of the free theory (lam = 0, m2 > 0) in this
/// package's normalisation. S = phi^T K phi with K = -Laplacian + m2, so the
/// Gaussian exp(-S) = exp(-phi^T (2K) phi / 2) has covariance (2K)^-1 and
///
///   G(x) = (1/V) sum_p cos(p.x) / (2 (p_hat^2 + m2)),
///   p_hat^2 = sum_mu 4 sin^2(p_mu / 2),  p_mu = 2 pi n_mu / L.
///
/// The factor 2 is there because the action has no 1/2 in front of its
/// kinetic and mass terms.
public enum FreeField {
    /// G(x) for every separation x (indexed as a lattice site).
    public static func propagator(lattice: Lattice, m2: Double) -> [Double] {
        precondition(m2 > 0, "the free propagator needs m2 > 0")
        let V = lattice.volume, d = lattice.d, L = lattice.L
        var G = [Double](repeating: 0, count: V)
        for pIndex in 0..<V {
            let n = lattice.coordinates(pIndex)
            let weight = 1 / (2 * (momentumSquared(n, L: L) + m2) * Double(V))
            for x in 0..<V {
                let c = lattice.coordinates(x)
                var phase = 0.0
                for mu in 0..<d { phase += 2 * Double.pi * Double(n[mu] * c[mu]) / Double(L) }
                G[x] += Foundation.cos(phase) * weight
            }
        }
        return G
    }

    /// log Z of the free theory, Z = integral of exp(-phi^T K phi) d^V phi =
    /// prod_p sqrt(pi / (p_hat^2 + m2)): (V/2) log pi - (1/2) sum_p log(p_hat^2 + m2).
    public static func logZ(lattice: Lattice, m2: Double) -> Double {
        precondition(m2 > 0, "the free partition function needs m2 > 0")
        let V = lattice.volume
        var sumLog = 0.0
        for pIndex in 0..<V {
            sumLog += Foundation.log(momentumSquared(lattice.coordinates(pIndex), L: lattice.L) + m2)
        }
        return 0.5 * Double(V) * Foundation.log(Double.pi) - 0.5 * sumLog
    }

    /// p_hat^2 = sum_mu 4 sin^2(pi n_mu / L) of the momentum with integer coordinates n.
    static func momentumSquared(_ n: [Int], L: Int) -> Double {
        var p2 = 0.0
        for nu in n {
            let s = Foundation.sin(Double.pi * Double(nu) / Double(L))
            p2 += 4 * s * s
        }
        return p2
    }
}

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
            var p2 = 0.0
            for mu in 0..<d {
                let s = Foundation.sin(Double.pi * Double(n[mu]) / Double(L))
                p2 += 4 * s * s
            }
            let weight = 1 / (2 * (p2 + m2) * Double(V))
            for x in 0..<V {
                let c = lattice.coordinates(x)
                var phase = 0.0
                for mu in 0..<d { phase += 2 * Double.pi * Double(n[mu] * c[mu]) / Double(L) }
                G[x] += Foundation.cos(phase) * weight
            }
        }
        return G
    }
}

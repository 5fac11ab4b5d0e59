import Foundation

/// The mass matrix of Fourier-accelerated HMC: the circulant matrix with
/// symbol M(p) = 2 (p_hat^2 + mu2), p_hat^2 = sum_mu 4 sin^2(p_mu / 2).
///
/// Why this one: the quadratic part of the action, phi^T (-Laplacian + m2) phi,
/// has Hessian 2 (p_hat^2 + m2) in momentum space, so with mu2 = m2 every
/// free mode oscillates with the same frequency 1 under
/// H = pi^T M^-1 pi / 2 + S(phi): the long-wavelength modes, which plain HMC
/// (M = 1) moves slowest, move as fast as the short ones, and a trajectory of
/// length about pi/2 decorrelates them all. For an interacting theory mu2 is
/// a tuning parameter (the inverse correlation length squared is a good start).
public struct FourierMass {
    /// The lattice.
    public let lattice: Lattice
    /// mu2 in M(p) = 2 (p_hat^2 + mu2); > 0.
    public let mu2: Double
    let dft: LatticeDFT<Double>
    /// sqrt(M(p)) and 1/M(p), numbered as the lattice's sites.
    let root: [Double]
    let inverse: [Double]

    /// The mass matrix with parameter `mu2` (> 0, else the zero mode has no mass).
    public init(lattice: Lattice, mu2: Double) {
        precondition(mu2 > 0 && mu2.isFinite, "the Fourier mass needs mu2 > 0")
        self.lattice = lattice
        self.mu2 = mu2
        dft = LatticeDFT(lattice: lattice)
        var root = [Double](repeating: 0, count: lattice.volume)
        var inverse = root
        for p in 0..<lattice.volume {
            let m = 2 * (FreeField.momentumSquared(lattice.coordinates(p), L: lattice.L) + mu2)
            root[p] = m.squareRoot()
            inverse[p] = 1 / m
        }
        self.root = root
        self.inverse = inverse
    }

    /// field <- M^(1/2) field: white noise becomes a momentum drawn from N(0, M).
    /// M^(1/2) is the symmetric (circulant) root, so M^(1/2) M^(1/2) = M.
    public func multiplyByRoot(_ field: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) {
        root.withUnsafeBufferPointer { dft.multiply(field, bySymbol: $0.baseAddress!, scratch: scratch) }
    }

    /// field <- M^-1 field: the velocity dphi/dt of a momentum.
    public func multiplyByInverse(_ field: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) {
        inverse.withUnsafeBufferPointer { dft.multiply(field, bySymbol: $0.baseAddress!, scratch: scratch) }
    }
}

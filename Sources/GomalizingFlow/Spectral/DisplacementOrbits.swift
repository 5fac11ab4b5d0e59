/// The displacements r of the periodic lattice (Z/LZ)^d grouped into orbits of
/// the point group about a site: the 2^d d! permutations and reflections of
/// the axes (D4 in 2D).
///
/// A kernel constant on orbits makes a convolution equivariant under that
/// group; since -1 is in it, K(r) = K(-r) and the kernel's Fourier symbol is
/// real. Such weights are stored one per orbit: `unfold` spreads them over the
/// displacements and `fold` is its adjoint, the pullback.
public struct DisplacementOrbits: Sendable, Equatable {
    /// The lattice whose displacements these are (a displacement is numbered as a site).
    public let lattice: Lattice
    /// orbitOf[r]: the orbit of displacement r.
    public let orbitOf: [Int]
    /// Each orbit's representative: the sorted |r_mu|, |r_mu| = min(r_mu, L - r_mu).
    public let representatives: [[Int]]
    /// Displacements per orbit.
    public let sizes: [Int]

    /// The orbits of `lattice`'s displacements, numbered in the order the
    /// sites first meet them (orbit 0 is r = 0).
    public init(lattice: Lattice) {
        self.lattice = lattice
        var index: [[Int]: Int] = [:]
        var orbitOf = [Int](repeating: 0, count: lattice.volume)
        var representatives: [[Int]] = []
        var sizes: [Int] = []
        for r in 0..<lattice.volume {
            // The multiset of |r_mu| is what the permutations and reflections keep.
            let key = lattice.coordinates(r).map { Swift.min($0, lattice.L - $0) }.sorted()
            let o: Int
            if let known = index[key] {
                o = known
            } else {
                o = representatives.count
                index[key] = o
                representatives.append(key)
                sizes.append(0)
            }
            orbitOf[r] = o
            sizes[o] += 1
        }
        self.orbitOf = orbitOf
        self.representatives = representatives
        self.sizes = sizes
    }

    /// Number of orbits: the weights a tied kernel has.
    public var count: Int { sizes.count }

    /// Whether orbit o's displacements have an odd |r|_1, i.e. join sites of
    /// opposite checkerboard parity (well defined for even L only).
    public func isOdd(_ o: Int) -> Bool { representatives[o].reduce(0, +) & 1 == 1 }

    /// kernel[r] = weights[orbit of r] for every displacement r ([V] values written).
    public func unfold<T: BinaryFloatingPoint>(_ weights: UnsafePointer<T>, into kernel: UnsafeMutablePointer<T>) {
        for r in 0..<lattice.volume { kernel[r] = weights[orbitOf[r]] }
    }

    /// The pullback of `unfold`: dWeights[o] += sum over r in orbit o of dKernel[r].
    public func fold<T: BinaryFloatingPoint>(_ dKernel: UnsafePointer<T>, into dWeights: UnsafeMutablePointer<T>) {
        for r in 0..<lattice.volume { dWeights[orbitOf[r]] += dKernel[r] }
    }
}

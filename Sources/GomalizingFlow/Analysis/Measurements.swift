import Foundation

/// Per-configuration primary measurements of a Markov chain of phi^4
/// configurations, from which every observable and its error is derived.
public struct Measurements {
    /// The lattice of the configurations; each has `lattice.volume` sites.
    public let lattice: Lattice
    /// M_i = (1/V) sum_x phi_i(x).
    public private(set) var magnetization: [Double] = []
    /// c_i(x) = (1/V) sum_y phi_i(y) phi_i(y + x), stored as c[x][i].
    public private(set) var correlation: [[Double]]
    /// `repeated[i]`: configuration i equals configuration i - 1, a rejected
    /// Metropolis step (false for the first).
    public private(set) var repeated: [Bool] = []
    private var previous: [Double] = []
    private let coords: [[Int]]

    /// An empty set of measurements for configurations on `lattice`.
    public init(lattice: Lattice) {
        self.lattice = lattice
        correlation = Array(repeating: [], count: lattice.volume)
        coords = (0..<lattice.volume).map { lattice.coordinates($0) }
    }

    /// Number of configurations added.
    public var count: Int { magnetization.count }

    /// Measures one configuration (V values, sites in row-major order): M, c(x)
    /// for every x (O(V^2)), and whether it repeats the previous one.
    public mutating func add(_ phi: [Double]) {
        let V = lattice.volume, d = lattice.d, L = lattice.L
        repeated.append(phi == previous)
        previous = phi
        var m = 0.0
        for v in phi { m += v }
        magnetization.append(m / Double(V))
        var shifted = [Int](repeating: 0, count: V)
        for x in 0..<V {
            let cx = coords[x]
            // Index of y + x for every y, by coordinate arithmetic.
            for y in 0..<V {
                var idx = 0
                let cy = coords[y]
                for mu in 0..<d {
                    var c = cy[mu] + cx[mu]
                    if c >= L { c -= L }
                    idx += c * lattice.strides[mu]
                }
                shifted[y] = idx
            }
            var s = 0.0
            for y in 0..<V { s += phi[y] * phi[shifted[y]] }
            correlation[x].append(s / Double(V))
        }
    }
}

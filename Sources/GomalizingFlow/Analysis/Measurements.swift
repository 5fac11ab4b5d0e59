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
    /// shift[x * V + y] = index of y + x, built once when V <= the init's
    /// `tabulateShiftsUpTo` (default 4096, e.g. 8^4: 64 MB), so that `add` is V^2
    /// multiply-adds rather than V^2 d coordinate sums; larger lattices compute
    /// each row on the fly (same sums in the same order, so the same numbers).
    private let shift: [Int32]

    /// An empty set of measurements for configurations on `lattice`;
    /// `tabulateShiftsUpTo` is the largest volume whose V^2 shift table is kept.
    public init(lattice: Lattice, tabulateShiftsUpTo maxVolume: Int = 4096) {
        self.lattice = lattice
        correlation = Array(repeating: [], count: lattice.volume)
        coords = (0..<lattice.volume).map { lattice.coordinates($0) }
        let V = lattice.volume
        if V <= maxVolume {
            var table = [Int32](repeating: 0, count: V * V)
            var row = [Int](repeating: 0, count: V)
            for x in 0..<V {
                Self.shiftRow(x, lattice: lattice, coords: coords, into: &row)
                for y in 0..<V { table[x * V + y] = Int32(row[y]) }
            }
            shift = table
        } else {
            shift = []
        }
    }

    /// The index of y + x for every y, by coordinate arithmetic.
    private static func shiftRow(_ x: Int, lattice: Lattice, coords: [[Int]], into shifted: inout [Int]) {
        let V = lattice.volume, d = lattice.d, L = lattice.L
        let cx = coords[x]
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
    }

    /// Number of configurations added.
    public var count: Int { magnetization.count }

    /// Measures one configuration (V values, sites in row-major order): M, c(x)
    /// for every x (O(V^2)), and whether it repeats the previous one.
    public mutating func add(_ phi: [Double]) {
        let V = lattice.volume
        let same = phi == previous
        repeated.append(same)
        previous = phi
        var m = 0.0
        for v in phi { m += v }
        magnetization.append(m / Double(V))
        if same {
            // A rejected step repeats its configuration: the same c(x), no O(V^2) pass.
            for x in 0..<V { correlation[x].append(correlation[x][correlation[x].count - 1]) }
            return
        }
        if !shift.isEmpty {
            shift.withUnsafeBufferPointer { table in
                phi.withUnsafeBufferPointer { p in
                    for x in 0..<V {
                        let row = table.baseAddress! + x * V
                        var s = 0.0
                        for y in 0..<V { s += p[y] * p[Int(row[y])] }
                        correlation[x].append(s / Double(V))
                    }
                }
            }
            return
        }
        var shifted = [Int](repeating: 0, count: V)
        for x in 0..<V {
            Self.shiftRow(x, lattice: lattice, coords: coords, into: &shifted)
            var s = 0.0
            for y in 0..<V { s += phi[y] * phi[shifted[y]] }
            correlation[x].append(s / Double(V))
        }
    }
}

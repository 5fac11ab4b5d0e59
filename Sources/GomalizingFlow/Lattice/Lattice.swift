/// A periodic hypercubic lattice (Z/LZ)^d.
///
/// Sites are numbered in row-major order: axis 0 varies slowest and axis d-1
/// fastest, so a configuration stored as `[V]` has the memory layout of a NumPy
/// array of shape `(L, ..., L)`.
public struct Lattice: Equatable, Sendable {
    /// Side length: sites per axis.
    public let L: Int
    /// Number of dimensions.
    public let d: Int
    /// Number of sites, L^d.
    public let volume: Int
    /// strides[mu] = L^(d-1-mu): the index step of one hop along axis mu.
    public let strides: [Int]

    /// The lattice of side `L` in `d` dimensions (both at least 1).
    public init(L: Int, d: Int) {
        precondition(L >= 1 && d >= 1, "lattice needs L >= 1 and d >= 1")
        self.L = L
        self.d = d
        var s = [Int](repeating: 1, count: d)
        for mu in stride(from: d - 2, through: 0, by: -1) { s[mu] = s[mu + 1] * L }
        self.strides = s
        self.volume = s[0] * L
    }

    /// The array shape of a configuration: d entries of L.
    public var shape: [Int] { [Int](repeating: L, count: d) }

    /// Coordinates of site `v`.
    public func coordinates(_ v: Int) -> [Int] {
        (0..<d).map { (v / strides[$0]) % L }
    }

    /// Site index of coordinates `x`, each taken modulo L (negative ones wrap).
    public func index(_ x: [Int]) -> Int {
        var v = 0
        for mu in 0..<d { v += (((x[mu] % L) + L) % L) * strides[mu] }
        return v
    }

    /// Site reached from `v` by `offset[mu]` hops along each axis, wrapping periodically.
    public func shifted(_ v: Int, by offset: [Int]) -> Int {
        var x = coordinates(v)
        for mu in 0..<d { x[mu] += offset[mu] }
        return index(x)
    }

    /// neighbours[mu][v] = v + mu_hat; the backward neighbour is neighbours[d + mu][v].
    public func neighbourTable() -> [[Int32]] {
        var table: [[Int32]] = []
        for sign in [1, -1] {
            for mu in 0..<d {
                var off = [Int](repeating: 0, count: d)
                off[mu] = sign
                table.append((0..<volume).map { Int32(shifted($0, by: off)) })
            }
        }
        return table
    }

    /// Parity of the coordinate sum of site `v` (0 = even, 1 = odd).
    public func parity(_ v: Int) -> Int {
        coordinates(v).reduce(0, +) & 1
    }

    /// Checkerboard mask of the Albergo et al. reference code: with mask parity p,
    /// a site of coordinate parity q is frozen (mask 1) when p + q is odd.
    /// Layer i of the flow uses p = i mod 2, so consecutive layers alternate.
    public func checkerboard(parity p: Int) -> [Bool] {
        (0..<volume).map { (parity($0) + p) & 1 == 1 }
    }
}

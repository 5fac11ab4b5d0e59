/// The taps of a K-wide periodic convolution along a chosen subset of the
/// lattice axes (width 1 along the others), and for every tap the lattice site it
/// reads. Periodic ("circular") padding is free: the table wraps around.
///
/// Taps are numbered lexicographically over the offsets (-h...h)^k, h = K/2, the
/// last chosen axis fastest, which is the order of a PyTorch weight's trailing
/// kernel dimensions. Tap `T-1-t` is the mirror image of tap `t`. A cross
/// stencil (`init(crossOn:kernelSize:)`) keeps only the axis taps.
public struct ConvStencil: Sendable {
    /// The convolved lattice axes (all d for a cross).
    public let axes: [Int]
    /// Width K (odd) along each convolved axis.
    public let kernelSize: Int
    /// The nearest-neighbour ("cross") shape: the site and the sites up to
    /// K/2 steps away along each axis, 2d(K/2) + 1 taps, no diagonal taps.
    public let isCross: Bool
    /// Number of taps T: K^k for a box, 2d(K/2) + 1 for a cross.
    public let tapCount: Int
    /// Lattice volume V.
    public let volume: Int
    /// d and L of the lattice.
    public let latticeDimension: Int
    /// Side length L of the lattice.
    public let latticeSide: Int
    /// neighbour[t * V + v] = v + offset(t).
    public let neighbour: [Int32]

    /// The box (-h...h)^k along `axes`, h = K/2.
    public init(lattice: Lattice, axes: [Int], kernelSize K: Int) {
        self.init(lattice: lattice, axes: axes, kernelSize: K, cross: false,
                  offsets: ConvStencil.boxOffsets(d: lattice.d, axes: axes, kernelSize: K))
    }

    /// The offsets of the box's taps, in tap order; `axes` are distinct axes in 0..<d.
    public static func boxOffsets(d: Int, axes: [Int], kernelSize K: Int) -> [[Int]] {
        precondition(K >= 1 && K % 2 == 1, "kernel size must be odd")
        precondition(axes.allSatisfy { (0..<d).contains($0) } && Set(axes).count == axes.count, "axes must be distinct axes of the lattice")
        let h = K / 2
        var offsets: [[Int]] = []
        var count = 1
        for _ in axes { count *= K }
        for t in 0..<count {
            var offset = [Int](repeating: 0, count: d)
            var rest = t
            for a in axes.indices.reversed() {
                offset[axes[a]] = rest % K - h
                rest /= K
            }
            offsets.append(offset)
        }
        return offsets
    }

    /// The cross of arm K/2 along every axis. Its taps are the offsets in
    /// lexicographic order (axis 0 slowest), a set symmetric under negation,
    /// so tap `T-1-t` is again the mirror image of tap `t`.
    public init(crossOn lattice: Lattice, kernelSize K: Int) {
        self.init(lattice: lattice, axes: Array(0..<lattice.d), kernelSize: K, cross: true,
                  offsets: ConvStencil.crossOffsets(d: lattice.d, kernelSize: K))
    }

    /// The offsets of the cross's taps, in tap order.
    public static func crossOffsets(d: Int, kernelSize K: Int) -> [[Int]] {
        precondition(K >= 1 && K % 2 == 1, "kernel size must be odd")
        let h = K / 2
        var offsets: [[Int]] = [[Int](repeating: 0, count: d)]
        for axis in 0..<d where h >= 1 {
            for step in 1...h {
                for sign in [-1, 1] {
                    var o = [Int](repeating: 0, count: d)
                    o[axis] = sign * step
                    offsets.append(o)
                }
            }
        }
        offsets.sort { $0.lexicographicallyPrecedes($1) }
        return offsets
    }

    private init(lattice: Lattice, axes: [Int], kernelSize: Int, cross: Bool, offsets: [[Int]]) {
        self.axes = axes
        self.kernelSize = kernelSize
        self.isCross = cross
        self.volume = lattice.volume
        self.latticeDimension = lattice.d
        self.latticeSide = lattice.L
        self.tapCount = offsets.count
        var table = [Int32](repeating: 0, count: offsets.count * lattice.volume)
        for (t, offset) in offsets.enumerated() {
            for v in 0..<lattice.volume {
                table[t * lattice.volume + v] = Int32(lattice.shifted(v, by: offset))
            }
        }
        self.neighbour = table
    }

    /// Taps of the cross of kernel size K in d dimensions.
    public static func crossTapCount(d: Int, kernelSize K: Int) -> Int { 2 * d * (K / 2) + 1 }

    /// All k-element subsets of 0..<d in lexicographic order: (0,1), (0,2), ... for "dCk".
    public static func axisSubsets(d: Int, k: Int) -> [[Int]] {
        var out: [[Int]] = []
        func rec(_ start: Int, _ cur: [Int]) {
            if cur.count == k { out.append(cur); return }
            if start >= d { return }
            for a in start..<d { rec(a + 1, cur + [a]) }
        }
        rec(0, [])
        return out
    }
}

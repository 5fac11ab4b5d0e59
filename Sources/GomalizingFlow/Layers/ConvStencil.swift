/// The taps of a K-wide periodic convolution along a chosen subset of the
/// lattice axes (width 1 along the others), and for every tap the lattice site it
/// reads. Periodic ("circular") padding is free: the table wraps around.
///
/// Taps are numbered lexicographically over the offsets (-h...h)^k, h = K/2, the
/// last chosen axis fastest, which is the order of a PyTorch weight's trailing
/// kernel dimensions. Tap `T-1-t` is the mirror image of tap `t`.
public struct ConvStencil: Sendable {
    public let axes: [Int]
    public let kernelSize: Int
    public let tapCount: Int
    public let volume: Int
    /// d and L of the lattice.
    public let latticeDimension: Int
    public let latticeSide: Int
    /// neighbour[t * V + v] = v + offset(t).
    public let neighbour: [Int32]

    public init(lattice: Lattice, axes: [Int], kernelSize K: Int) {
        precondition(K >= 1 && K % 2 == 1, "kernel size must be odd")
        self.axes = axes
        self.kernelSize = K
        self.volume = lattice.volume
        self.latticeDimension = lattice.d
        self.latticeSide = lattice.L
        var count = 1
        for _ in axes { count *= K }
        self.tapCount = count
        let h = K / 2
        var table = [Int32](repeating: 0, count: count * lattice.volume)
        for t in 0..<count {
            var offset = [Int](repeating: 0, count: lattice.d)
            var rest = t
            for a in axes.indices.reversed() {
                offset[axes[a]] = rest % K - h
                rest /= K
            }
            for v in 0..<lattice.volume {
                table[t * lattice.volume + v] = Int32(lattice.shifted(v, by: offset))
            }
        }
        self.neighbour = table
    }

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

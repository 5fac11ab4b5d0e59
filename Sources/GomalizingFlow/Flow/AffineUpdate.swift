import Numerics

/// The update of a coupling in the forward direction: y = x e^s + t on the
/// active sites, y = x on the frozen ones, and log|det| += sum of s.
enum AffineUpdate {
    /// `st` holds (s, t) per site; `logJ` gets each configuration's sum of s,
    /// added in site order.
    static func forward<T: Real & BinaryFloatingPoint>(
        x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, st: UnsafePointer<T>, n: Int, volume V: Int,
        frozen: [Bool], active: [Int32], logJ: UnsafeMutablePointer<T>
    ) {
        for b in 0..<n {
            for v in 0..<V where frozen[v] { y[b * V + v] = x[b * V + v] }
        }
        if T.self == Float.self {
            forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                         y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                         st: UnsafeRawPointer(st).assumingMemoryBound(to: Float.self), n: n, volume: V,
                         active: active, logJ: UnsafeMutableRawPointer(logJ).assumingMemoryBound(to: Float.self))
            return
        }
        for b in 0..<n {
            var sum: T = 0
            for v in active {
                let k = b * V + Int(v)
                let s = st[2 * k], t = st[2 * k + 1]
                y[k] = x[k] * T.exp(s) + t
                sum += s
            }
            logJ[b] += sum
        }
    }

    /// Eight active sites at a time with the vector exp; a group with an s
    /// outside its range falls back to libm's.
    private static func forwardFloat(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, st: UnsafePointer<Float>, n: Int, volume V: Int,
        active: [Int32], logJ: UnsafeMutablePointer<Float>
    ) {
        let m = active.count
        for b in 0..<n {
            var sum: Float = 0
            var k0 = 0
            while k0 < m {
                let live = Swift.min(8, m - k0)
                var s = SIMD8<Float>.zero
                for l in 0..<live { s[l] = st[2 * (b * V + Int(active[k0 + l]))] }
                var e = VectorMath.exp(s)
                if !VectorMath.expInRange(s) {
                    for l in 0..<live { e[l] = Float.exp(s[l]) }
                }
                for l in 0..<live {
                    let k = b * V + Int(active[k0 + l])
                    y[k] = x[k] * e[l] + st[2 * k + 1]
                    sum += s[l]
                }
                k0 += live
            }
            logJ[b] += sum
        }
    }
}

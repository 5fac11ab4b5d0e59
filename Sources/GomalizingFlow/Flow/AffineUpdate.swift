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
        if T.self == Float.self {
            forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                         y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                         st: UnsafeRawPointer(st).assumingMemoryBound(to: Float.self), n: n, volume: V,
                         frozen: frozen, active: active, logJ: UnsafeMutableRawPointer(logJ).assumingMemoryBound(to: Float.self))
            return
        }
        for b in 0..<n {
            for v in 0..<V where frozen[v] { y[b * V + v] = x[b * V + v] }
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

    /// Eight sites at a time with the vector exp, over all sites (s and t
    /// deinterleaved from their pairs), then the frozen sites are put back; a
    /// group with an s outside the exp's range (garbage on an inactive site
    /// included) falls back to libm's.
    private static func forwardFloat(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, st: UnsafePointer<Float>, n: Int, volume V: Int,
        frozen: [Bool], active: [Int32], logJ: UnsafeMutablePointer<Float>
    ) {
        active.withUnsafeBufferPointer { act in
            frozen.withUnsafeBufferPointer { fz in
                for b in 0..<n {
                    let xb = x + b * V, yb = y + b * V, stb = st + 2 * b * V
                    var v = 0
                    while v + 8 <= V {
                        let pairs = UnsafeRawPointer(stb + 2 * v).loadUnaligned(as: SIMD16<Float>.self)
                        let s = pairs.evenHalf
                        var e = VectorMath.exp(s)
                        if !VectorMath.expInRange(s) {
                            for l in 0..<8 { e[l] = Float.exp(s[l]) }
                        }
                        let xv = UnsafeRawPointer(xb + v).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(yb + v).storeBytes(of: xv * e + pairs.oddHalf, as: SIMD8<Float>.self)
                        v += 8
                    }
                    while v < V {
                        yb[v] = xb[v] * Float.exp(stb[2 * v]) + stb[2 * v + 1]
                        v += 1
                    }
                    for u in 0..<V where fz[u] { yb[u] = xb[u] }
                    // log|det| in site order, as the generic path sums it.
                    var sum: Float = 0
                    for k in act { sum += stb[2 * Int(k)] }
                    logJ[b] += sum
                }
            }
        }
    }
}

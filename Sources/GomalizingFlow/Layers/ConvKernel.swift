/// The two loops every convolution reduces to, written for SIMD: output
/// channels are processed eight at a time in registers, leftovers one by one.
enum ConvKernel {
    /// y[s][:] (=|+=) bias + sum_t sum_ci x[nb(t, s)][ci] W[t][ci][:], s over n*V sites.
    // Pre-specialized so callers in other modules (tests in Float64) get the fast path too.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin: Int, _ y: UnsafeMutablePointer<T>, cout: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>?, accumulate: Bool,
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int
    ) {
        let blocks = cout / 8
        for s in 0..<sites {
            let base = s - s % V   // first site of this configuration
            let v = s - base
            let ys = y + s * cout
            for blk in 0..<blocks {
                let c0 = blk * 8
                var acc: SIMD8<T>
                if accumulate {
                    acc = UnsafeRawPointer(ys + c0).loadUnaligned(as: SIMD8<T>.self)
                } else if let bias {
                    acc = UnsafeRawPointer(bias + c0).loadUnaligned(as: SIMD8<T>.self)
                } else {
                    acc = .zero
                }
                for t in 0..<taps {
                    let xu = x + (base + Int(nb[t * V + v])) * cin
                    let wt = W + t * cin * cout + c0
                    for ci in 0..<cin {
                        let w = UnsafeRawPointer(wt + ci * cout).loadUnaligned(as: SIMD8<T>.self)
                        acc += w * xu[ci]
                    }
                }
                UnsafeMutableRawPointer(ys + c0).storeBytes(of: acc, as: SIMD8<T>.self)
            }
            for co in (blocks * 8)..<cout {
                var acc: T = accumulate ? ys[co] : (bias?[co] ?? 0)
                for t in 0..<taps {
                    let xu = x + (base + Int(nb[t * V + v])) * cin
                    let wt = W + t * cin * cout + co
                    for ci in 0..<cin { acc += xu[ci] * wt[ci * cout] }
                }
                ys[co] = acc
            }
        }
    }

    /// dW[t][ci][:] += sum_s x[nb(t, s)][ci] dy[s][:],  dB[:] += sum_s dy[s][:].
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    static func weightGradient<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin: Int, _ dy: UnsafePointer<T>, cout: Int,
        dW: UnsafeMutablePointer<T>, dB: UnsafeMutablePointer<T>,
        neighbour nb: UnsafePointer<Int32>, taps: Int, n: Int, volume V: Int
    ) {
        let blocks = cout / 8
        for blk in 0..<blocks {
            let c0 = blk * 8
            var accB = SIMD8<T>.zero
            for s in 0..<(n * V) {
                accB += UnsafeRawPointer(dy + s * cout + c0).loadUnaligned(as: SIMD8<T>.self)
            }
            let pb = UnsafeMutableRawPointer(dB + c0)
            pb.storeBytes(of: pb.loadUnaligned(as: SIMD8<T>.self) + accB, as: SIMD8<T>.self)
            for t in 0..<taps {
                let nbt = nb + t * V
                for ci in 0..<cin {
                    var acc = SIMD8<T>.zero
                    for b in 0..<n {
                        let xb = x + b * V * cin + ci
                        let dyb = dy + b * V * cout + c0
                        for v in 0..<V {
                            let g = UnsafeRawPointer(dyb + v * cout).loadUnaligned(as: SIMD8<T>.self)
                            acc += g * xb[Int(nbt[v]) * cin]
                        }
                    }
                    let p = UnsafeMutableRawPointer(dW + (t * cin + ci) * cout + c0)
                    p.storeBytes(of: p.loadUnaligned(as: SIMD8<T>.self) + acc, as: SIMD8<T>.self)
                }
            }
        }
        for co in (blocks * 8)..<cout {
            var accB: T = 0
            for s in 0..<(n * V) { accB += dy[s * cout + co] }
            dB[co] += accB
            for t in 0..<taps {
                let nbt = nb + t * V
                for ci in 0..<cin {
                    var acc: T = 0
                    for b in 0..<n {
                        let xb = x + b * V * cin + ci
                        let dyb = dy + b * V * cout + co
                        for v in 0..<V { acc += dyb[v * cout] * xb[Int(nbt[v]) * cin] }
                    }
                    dW[(t * cin + ci) * cout + co] += acc
                }
            }
        }
    }
}

/// The two loops every convolution reduces to, written for SIMD: output
/// channels are processed eight at a time in registers, leftovers one by one.
enum ConvKernel {
    /// y[s][:] (=|+=) bias + sum_t sum_ci x[nb(t, s)][ci] W[t][ci][:], s over n*V sites.
    @inline(__always)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin: Int, _ y: UnsafeMutablePointer<T>, cout: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>?, accumulate: Bool,
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int,
        transposedScratch: UnsafeMutablePointer<T>? = nil
    ) {
        let blocks = cout / 8
        // Leftover output channels with cin a multiple of 8 read the weights as
        // [co][t][ci], so that ci is contiguous; built once per call.
        var transposed: UnsafeMutablePointer<T>? = nil
        if cout % 8 != 0 && cin % 8 == 0, let buf = transposedScratch {
            for co in (blocks * 8)..<cout {
                for t in 0..<taps { for ci in 0..<cin { buf[(co * taps + t) * cin + ci] = W[(t * cin + ci) * cout + co] } }
            }
            transposed = buf
        }
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
            if cout % 8 == 0 { continue }
            if transposed != nil {
                // Few output channels from many input channels (the s,t layer, and
                // the input gradient of the first layer): SIMD dot products over cin.
                for co in (blocks * 8)..<cout {
                    var vacc = SIMD8<T>.zero
                    for t in 0..<taps {
                        let xu = x + (base + Int(nb[t * V + v])) * cin
                        let wt = transposed! + (co * taps + t) * cin
                        for c0 in stride(from: 0, to: cin, by: 8) {
                            let xv = UnsafeRawPointer(xu + c0).loadUnaligned(as: SIMD8<T>.self)
                            let wv = UnsafeRawPointer(wt + c0).loadUnaligned(as: SIMD8<T>.self)
                            vacc += xv * wv
                        }
                    }
                    let start: T = accumulate ? ys[co] : (bias?[co] ?? 0)
                    ys[co] = start + vacc.sum()
                }
                continue
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
    @inline(__always)
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
        if cout % 8 != 0 && cin % 8 == 0 {
            // Leftover output channels: accumulate over sites with ci as SIMD lanes.
            for co in (blocks * 8)..<cout {
                var accB: T = 0
                for s in 0..<(n * V) { accB += dy[s * cout + co] }
                dB[co] += accB
                for t in 0..<taps {
                    let nbt = nb + t * V
                    for c0 in stride(from: 0, to: cin, by: 8) {
                        var acc = SIMD8<T>.zero
                        for b in 0..<n {
                            let xb = x + b * V * cin + c0
                            let dyb = dy + b * V * cout + co
                            for v in 0..<V {
                                acc += UnsafeRawPointer(xb + Int(nbt[v]) * cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v * cout]
                            }
                        }
                        for l in 0..<8 { dW[(t * cin + c0 + l) * cout + co] += acc[l] }
                    }
                }
            }
            return
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

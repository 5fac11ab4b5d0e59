/// The two loops every convolution reduces to, written for SIMD: output
/// channels eight at a time in registers; leftover channels as SIMD dot
/// products over the input channels when there are a multiple of 8 of them,
/// else one by one.
enum ConvKernel {
    /// y[s][:] (=|+=) bias + sum_t sum_ci x[nb(t, s)][ci] W[t][ci][:], s over n*V sites.
    @inline(__always)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin: Int, _ y: UnsafeMutablePointer<T>, cout: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>?, accumulate: Bool,
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int,
        transposedScratch: UnsafeMutablePointer<T>? = nil, subset: UnsafeBufferPointer<Int32>? = nil
    ) {
        let blocks = cout / 8
        // With a subset, only those sites of every configuration are computed
        // (the s,t layer needs its output on the active sites alone).
        let count = subset.map { (sites / V) * $0.count } ?? sites
        @inline(__always) func site(_ i: Int) -> Int {
            guard let sub = subset else { return i }
            let m = sub.count
            return (i / m) * V + Int(sub[i % m])
        }
        // Leftover output channels with cin a multiple of 8 read the weights as
        // [co][t][ci], so that ci is contiguous; built once per call.
        var transposed: UnsafeMutablePointer<T>? = nil
        if cout % 8 != 0 && cin % 8 == 0, let buf = transposedScratch {
            for co in (blocks * 8)..<cout {
                for t in 0..<taps { for ci in 0..<cin { buf[(co * taps + t) * cin + ci] = W[(t * cin + ci) * cout + co] } }
            }
            transposed = buf
        }
        @inline(__always) func start(_ ys: UnsafeMutablePointer<T>, _ c0: Int) -> SIMD8<T> {
            if accumulate { return UnsafeRawPointer(ys + c0).loadUnaligned(as: SIMD8<T>.self) }
            if let bias { return UnsafeRawPointer(bias + c0).loadUnaligned(as: SIMD8<T>.self) }
            return .zero
        }
        // Site s of the batch is site v = s mod V of configuration s / V; the
        // division is done once per site, outside the tap loops.
        @inline(__always) func split(_ s: Int) -> (x: UnsafePointer<T>, nb: UnsafePointer<Int32>) {
            let v = s % V
            return (x + (s - v) * cin, nb + v)
        }
        // Four sites at a time: four independent accumulator chains hide the
        // add latency, and each weight load serves four multiply-adds.
        let quads = blocks > 0 ? count / 4 : 0
        for q in 0..<quads {
            let s0 = site(4 * q), s1 = site(4 * q + 1), s2 = site(4 * q + 2), s3 = site(4 * q + 3)
            for blk in 0..<blocks {
                let c0 = blk * 8
                let y0 = y + s0 * cout, y1 = y + s1 * cout, y2 = y + s2 * cout, y3 = y + s3 * cout
                var a0 = start(y0, c0), a1 = start(y1, c0), a2 = start(y2, c0), a3 = start(y3, c0)
                let p0 = split(s0), p1 = split(s1), p2 = split(s2), p3 = split(s3)
                for t in 0..<taps {
                    let o = t * V
                    let x0 = p0.x + Int(p0.nb[o]) * cin, x1 = p1.x + Int(p1.nb[o]) * cin
                    let x2 = p2.x + Int(p2.nb[o]) * cin, x3 = p3.x + Int(p3.nb[o]) * cin
                    let wt = W + t * cin * cout + c0
                    for ci in 0..<cin {
                        let w = UnsafeRawPointer(wt + ci * cout).loadUnaligned(as: SIMD8<T>.self)
                        a0 += w * x0[ci]
                        a1 += w * x1[ci]
                        a2 += w * x2[ci]
                        a3 += w * x3[ci]
                    }
                }
                UnsafeMutableRawPointer(y0 + c0).storeBytes(of: a0, as: SIMD8<T>.self)
                UnsafeMutableRawPointer(y1 + c0).storeBytes(of: a1, as: SIMD8<T>.self)
                UnsafeMutableRawPointer(y2 + c0).storeBytes(of: a2, as: SIMD8<T>.self)
                UnsafeMutableRawPointer(y3 + c0).storeBytes(of: a3, as: SIMD8<T>.self)
            }
        }
        for i in 0..<count {
            let s = site(i)
            let base = s - s % V   // first site of this configuration
            let v = s - base
            let ys = y + s * cout
            if i >= 4 * quads {
                for blk in 0..<blocks {
                    let c0 = blk * 8
                    var acc = start(ys, c0)
                    let p = split(s)
                    for t in 0..<taps {
                        let xu = p.x + Int(p.nb[t * V]) * cin
                        let wt = W + t * cin * cout + c0
                        for ci in 0..<cin {
                            acc += UnsafeRawPointer(wt + ci * cout).loadUnaligned(as: SIMD8<T>.self) * xu[ci]
                        }
                    }
                    UnsafeMutableRawPointer(ys + c0).storeBytes(of: acc, as: SIMD8<T>.self)
                }
            }
            if cout % 8 == 0 { continue }
            if let tr = transposed {
                // Few output channels from many input channels (the s,t layer, and
                // the input gradient of the first layer): SIMD dot products over cin,
                // two output channels at a time for independent accumulator chains.
                var co = blocks * 8
                while co < cout {
                    let pair = co + 1 < cout
                    var acc0 = SIMD8<T>.zero, acc1 = SIMD8<T>.zero
                    let w0 = tr + co * taps * cin
                    let w1 = pair ? w0 + taps * cin : w0
                    for t in 0..<taps {
                        let xu = x + (base + Int(nb[t * V + v])) * cin
                        for c0 in stride(from: 0, to: cin, by: 8) {
                            let xv = UnsafeRawPointer(xu + c0).loadUnaligned(as: SIMD8<T>.self)
                            acc0 += xv * UnsafeRawPointer(w0 + t * cin + c0).loadUnaligned(as: SIMD8<T>.self)
                            acc1 += xv * UnsafeRawPointer(w1 + t * cin + c0).loadUnaligned(as: SIMD8<T>.self)
                        }
                    }
                    ys[co] = (accumulate ? ys[co] : (bias?[co] ?? 0)) + acc0.sum()
                    if pair { ys[co + 1] = (accumulate ? ys[co + 1] : (bias?[co + 1] ?? 0)) + acc1.sum() }
                    co += 2
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
        neighbour nb: UnsafePointer<Int32>, taps: Int, n: Int, volume V: Int,
        subset: UnsafeBufferPointer<Int32>? = nil
    ) {
        // Sites of each configuration that carry gradient: all, or the subset
        // (dy must vanish elsewhere; only the leftover-channel loop, the s,t
        // layer's, uses it, the others stay correct by summing zeros).
        let m = subset?.count ?? V
        @inline(__always) func vAt(_ k: Int) -> Int { subset.map { Int($0[k]) } ?? k }
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
                    // Four partial sums break the add-latency chain over sites.
                    var acc0 = SIMD8<T>.zero, acc1 = SIMD8<T>.zero, acc2 = SIMD8<T>.zero, acc3 = SIMD8<T>.zero
                    for b in 0..<n {
                        let xb = x + b * V * cin + ci
                        let dyb = dy + b * V * cout + c0
                        var v = 0
                        while v + 4 <= V {
                            acc0 += UnsafeRawPointer(dyb + v * cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v]) * cin]
                            acc1 += UnsafeRawPointer(dyb + (v + 1) * cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v + 1]) * cin]
                            acc2 += UnsafeRawPointer(dyb + (v + 2) * cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v + 2]) * cin]
                            acc3 += UnsafeRawPointer(dyb + (v + 3) * cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v + 3]) * cin]
                            v += 4
                        }
                        while v < V {
                            acc0 += UnsafeRawPointer(dyb + v * cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v]) * cin]
                            v += 1
                        }
                    }
                    let acc = (acc0 + acc1) + (acc2 + acc3)
                    let p = UnsafeMutableRawPointer(dW + (t * cin + ci) * cout + c0)
                    p.storeBytes(of: p.loadUnaligned(as: SIMD8<T>.self) + acc, as: SIMD8<T>.self)
                }
            }
        }
        // Bias gradient of the leftover output channels, shared by both loops below.
        for co in (blocks * 8)..<cout {
            var accB: T = 0
            for s in 0..<(n * V) { accB += dy[s * cout + co] }
            dB[co] += accB
        }
        if cout % 8 != 0 && cin % 8 == 0 {
            // Leftover output channels: accumulate over sites with ci as SIMD lanes.
            for co in (blocks * 8)..<cout {
                for t in 0..<taps {
                    let nbt = nb + t * V
                    for c0 in stride(from: 0, to: cin, by: 8) {
                        var acc0 = SIMD8<T>.zero, acc1 = SIMD8<T>.zero
                        for b in 0..<n {
                            let xb = x + b * V * cin + c0
                            let dyb = dy + b * V * cout + co
                            var k = 0
                            while k + 2 <= m {
                                let v0 = vAt(k), v1 = vAt(k + 1)
                                acc0 += UnsafeRawPointer(xb + Int(nbt[v0]) * cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v0 * cout]
                                acc1 += UnsafeRawPointer(xb + Int(nbt[v1]) * cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v1 * cout]
                                k += 2
                            }
                            if k < m {
                                let v0 = vAt(k)
                                acc0 += UnsafeRawPointer(xb + Int(nbt[v0]) * cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v0 * cout]
                            }
                        }
                        let acc = acc0 + acc1
                        for l in 0..<8 { dW[(t * cin + c0 + l) * cout + co] += acc[l] }
                    }
                }
            }
            return
        }
        for co in (blocks * 8)..<cout {
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

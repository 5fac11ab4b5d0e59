import CKernels

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
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int, side: Int = 0,
        transposedScratch: UnsafeMutablePointer<T>? = nil, subset: UnsafeBufferPointer<Int32>? = nil,
        tapList: UnsafeBufferPointer<Int32>? = nil, activation: FusedActivation = .identity
    ) {
        if let tapList {
            apply(x, cin: cin, y, cout: cout, weight: W, bias: bias, accumulate: accumulate, neighbour: nb, taps: taps,
                  sites: sites, volume: V, side: side, transposedScratch: transposedScratch, subset: subset,
                  tapList: tapList, activation: activation)
            return
        }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: taps) { all in
            for t in 0..<taps { all[t] = Int32(t) }
            apply(x, cin: cin, y, cout: cout, weight: W, bias: bias, accumulate: accumulate, neighbour: nb, taps: taps,
                  sites: sites, volume: V, side: side, transposedScratch: transposedScratch, subset: subset,
                  tapList: UnsafeBufferPointer(all), activation: activation)
        }
    }

    /// `apply` summing only the taps in `tapList` (the others read zeros), with
    /// `activation` applied to each output as it is stored (not with `accumulate`).
    /// `side` (the lattice's L, 0 if unknown) lets the AVX2 kernels read rows.
    @inline(__always)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin cinArg: Int, _ y: UnsafeMutablePointer<T>, cout: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>?, accumulate: Bool,
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int, side: Int,
        transposedScratch: UnsafeMutablePointer<T>?, subset: UnsafeBufferPointer<Int32>?,
        tapList: UnsafeBufferPointer<Int32>, activation: FusedActivation = .identity
    ) {
        precondition(!accumulate || activation == .identity, "an accumulated output cannot be activated")
        // (A group with no taps has no tap list to pass: the loops below store its bias.)
        if T.self == Float.self && KernelPath.active == .avx2fma, let tapBase = tapList.baseAddress {
            let done = gf_conv_apply_f32(
                x.asFloat, cinArg, y.asFloat, cout, W.asFloat, bias?.asFloat, accumulate ? 1 : 0, nb, taps, sites / V, V,
                side, subset?.baseAddress, subset?.count ?? V, tapBase, tapList.count,
                activation == .leakyReLU ? 1 : 0, Float(Activation.leakySlope), transposedScratch?.asFloat)
            if done != 0 { return }
        }
        // Copies with the channel counts of the standard nets fixed at compile
        // time: the compiler then unrolls the channel loop and turns index
        // products into shifts. Generic specialisation makes the copies; a
        // nested function would be outlined once with cin captured.
        @inline(__always) func run<C: ChannelCounts, E: Epilogue>(_ c: C.Type, _ e: E.Type) {
            kernel(c, e, x, cin: cinArg, y, cout: cout, weight: W, bias: bias, accumulate: accumulate,
                   neighbour: nb, taps: taps, sites: sites, volume: V, transposedScratch: transposedScratch,
                   subset: subset, tapList: tapList)
        }
        @inline(__always) func run<C: ChannelCounts>(_ c: C.Type) {
            switch activation {
            case .identity: run(c, NoEpilogue.self)
            case .leakyReLU: run(c, LeakyReLUEpilogue.self)
            }
        }
        switch (cinArg, cout) {
        case (1, 8): run(Channels1x8.self)
        case (8, 8): run(Channels8x8.self)
        case (8, 2): run(Channels8x2.self)
        default: run(AnyChannels.self)
        }
    }

    /// The body of `apply`, with the channel counts of `C` where it fixes them
    /// and `E` applied to each output as it is stored.
    private static func kernel<T: BinaryFloatingPoint & SIMDScalar, C: ChannelCounts, E: Epilogue>(
        _: C.Type, _: E.Type, _ x: UnsafePointer<T>, cin cinArg: Int, _ y: UnsafeMutablePointer<T>, cout coutArg: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>?, accumulate: Bool,
        neighbour nb: UnsafePointer<Int32>, taps: Int, sites: Int, volume V: Int,
        transposedScratch: UnsafeMutablePointer<T>?, subset: UnsafeBufferPointer<Int32>?,
        tapList: UnsafeBufferPointer<Int32>
    ) {
        // Index arithmetic wraps (&*, &+) throughout: every index is bounded by
        // a buffer's size, and overflow checks in these loops cost several
        // percent of a training step (the library builds without -Ounchecked).
        let cin = C.cin ?? cinArg, cout = C.cout ?? coutArg
        let blocks = cout / 8
        let tapN = tapList.count
        @inline(__always) func tap(_ i: Int) -> Int { Int(tapList[i]) }
        let n = sites / V
        // With a subset, only those sites of every configuration are computed
        // (the s,t layer needs its output on the active sites alone).
        let m = subset?.count ?? V
        @inline(__always) func vAt(_ k: Int) -> Int { subset.map { Int($0[k]) } ?? k }
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
        @inline(__always) func initial(_ ys: UnsafeMutablePointer<T>, _ co: Int) -> T {
            accumulate ? ys[co] : (bias?[co] ?? 0)
        }
        let quads = blocks > 0 ? m / 4 : 0
        // Every input value splatted to four lanes once per configuration: each
        // is read by every tap of several output sites, and SSE has no
        // broadcast from memory, so this saves a shuffle per multiply-add pair.
        withUnsafeTemporaryAllocation(of: SIMD4<T>.self, capacity: quads > 0 ? V * cin : 1) { splatBuffer in
        let splat = splatBuffer.baseAddress!
        // Read again here: a closure's captures are run-time values to the
        // optimiser, the static counts are constants.
        let cin = C.cin ?? cinArg, cout = C.cout ?? coutArg
        // One configuration at a time, so that a site's neighbours are found
        // without integer division.
        for b in 0..<n {
            let xb = x + b &* V &* cin, yb = y + b &* V &* cout
            if quads > 0 {
                for i in 0..<(V * cin) { splat[i] = SIMD4(repeating: xb[i]) }
            }
            // Four sites at a time: four independent accumulator chains hide the
            // add latency, and each weight load serves four multiply-adds. The
            // eight output channels are two 4-lane halves.
            for q in 0..<quads {
                let v0 = vAt(4 &* q), v1 = vAt(4 &* q &+ 1), v2 = vAt(4 &* q &+ 2), v3 = vAt(4 &* q &+ 3)
                let y0 = yb + v0 &* cout, y1 = yb + v1 &* cout, y2 = yb + v2 &* cout, y3 = yb + v3 &* cout
                for blk in 0..<blocks {
                    let c0 = blk * 8
                    let i0 = start(y0, c0), i1 = start(y1, c0), i2 = start(y2, c0), i3 = start(y3, c0)
                    var l0 = i0.lowHalf, h0 = i0.highHalf, l1 = i1.lowHalf, h1 = i1.highHalf
                    var l2 = i2.lowHalf, h2 = i2.highHalf, l3 = i3.lowHalf, h3 = i3.highHalf
                    for ti in 0..<tapN {
                        let t = tap(ti)
                        let nbt = nb + t &* V
                        let x0 = splat + Int(nbt[v0]) &* cin, x1 = splat + Int(nbt[v1]) &* cin
                        let x2 = splat + Int(nbt[v2]) &* cin, x3 = splat + Int(nbt[v3]) &* cin
                        let wt = W + (t &* cin &* cout &+ c0)
                        for ci in 0..<cin {
                            let wl = UnsafeRawPointer(wt + ci &* cout).loadUnaligned(as: SIMD4<T>.self)
                            let wh = UnsafeRawPointer(wt + ci &* cout + 4).loadUnaligned(as: SIMD4<T>.self)
                            l0 += wl * x0[ci]; h0 += wh * x0[ci]
                            l1 += wl * x1[ci]; h1 += wh * x1[ci]
                            l2 += wl * x2[ci]; h2 += wh * x2[ci]
                            l3 += wl * x3[ci]; h3 += wh * x3[ci]
                        }
                    }
                    UnsafeMutableRawPointer(y0 + c0).storeBytes(of: E.apply(SIMD8(lowHalf: l0, highHalf: h0)), as: SIMD8<T>.self)
                    UnsafeMutableRawPointer(y1 + c0).storeBytes(of: E.apply(SIMD8(lowHalf: l1, highHalf: h1)), as: SIMD8<T>.self)
                    UnsafeMutableRawPointer(y2 + c0).storeBytes(of: E.apply(SIMD8(lowHalf: l2, highHalf: h2)), as: SIMD8<T>.self)
                    UnsafeMutableRawPointer(y3 + c0).storeBytes(of: E.apply(SIMD8(lowHalf: l3, highHalf: h3)), as: SIMD8<T>.self)
                }
            }
            // Sites left over from the quads.
            for k in (4 * quads)..<(blocks > 0 ? m : 0) {
                let v = vAt(k)
                let ys = yb + v &* cout
                for blk in 0..<blocks {
                    let c0 = blk * 8
                    var acc = start(ys, c0)
                    for ti in 0..<tapN {
                        let t = tap(ti)
                        let xu = xb + Int(nb[t &* V &+ v]) &* cin
                        let wt = W + (t &* cin &* cout &+ c0)
                        for ci in 0..<cin {
                            acc += UnsafeRawPointer(wt + ci &* cout).loadUnaligned(as: SIMD8<T>.self) * xu[ci]
                        }
                    }
                    UnsafeMutableRawPointer(ys + c0).storeBytes(of: E.apply(acc), as: SIMD8<T>.self)
                }
            }
            if cout % 8 == 0 { continue }
            if let tr = transposed {
                // Few output channels from many input channels (the s,t layer, and
                // the input gradient of the first layer): dot products over cin with
                // ci in SIMD lanes, two output channels of four sites at a time.
                // The two halves of each 8-channel product go into one 4-lane
                // accumulator, so the eight accumulators fit in registers.
                var co = blocks * 8
                while co < cout {
                    let pair = co + 1 < cout
                    let w0 = tr + co &* taps &* cin
                    let w1 = pair ? w0 + taps &* cin : w0
                    var k = 0
                    while k < m {
                        let live = Swift.min(4, m - k)
                        let v0 = vAt(k), v1 = live > 1 ? vAt(k &+ 1) : v0
                        let v2 = live > 2 ? vAt(k &+ 2) : v0, v3 = live > 3 ? vAt(k &+ 3) : v0
                        var a0 = SIMD4<T>.zero, a1 = SIMD4<T>.zero, a2 = SIMD4<T>.zero, a3 = SIMD4<T>.zero
                        var b0 = SIMD4<T>.zero, b1 = SIMD4<T>.zero, b2 = SIMD4<T>.zero, b3 = SIMD4<T>.zero
                        for ti in 0..<tapN {
                            let t = tap(ti)
                            let nbt = nb + t &* V
                            let x0 = xb + Int(nbt[v0]) &* cin, x1 = xb + Int(nbt[v1]) &* cin
                            let x2 = xb + Int(nbt[v2]) &* cin, x3 = xb + Int(nbt[v3]) &* cin
                            // A while loop: StrideTo's iterator is not always inlined,
                            // and a call here spills the accumulators.
                            var c0 = 0
                            while c0 < cin {
                                let wa = UnsafeRawPointer(w0 + (t &* cin &+ c0)).loadUnaligned(as: SIMD4<T>.self)
                                let wb = UnsafeRawPointer(w1 + (t &* cin &+ c0)).loadUnaligned(as: SIMD4<T>.self)
                                let u0 = UnsafeRawPointer(x0 + c0).loadUnaligned(as: SIMD4<T>.self)
                                let u1 = UnsafeRawPointer(x1 + c0).loadUnaligned(as: SIMD4<T>.self)
                                let u2 = UnsafeRawPointer(x2 + c0).loadUnaligned(as: SIMD4<T>.self)
                                let u3 = UnsafeRawPointer(x3 + c0).loadUnaligned(as: SIMD4<T>.self)
                                a0 += u0 * wa; b0 += u0 * wb
                                a1 += u1 * wa; b1 += u1 * wb
                                a2 += u2 * wa; b2 += u2 * wb
                                a3 += u3 * wa; b3 += u3 * wb
                                c0 &+= 4
                            }
                        }
                        @inline(__always) func store(_ v: Int, _ sa: SIMD4<T>, _ sb: SIMD4<T>) {
                            let ys = yb + v &* cout
                            ys[co] = E.apply(initial(ys, co) + sa.sum())
                            if pair { ys[co + 1] = E.apply(initial(ys, co + 1) + sb.sum()) }
                        }
                        store(v0, a0, b0)
                        if live > 1 { store(v1, a1, b1) }
                        if live > 2 { store(v2, a2, b2) }
                        if live > 3 { store(v3, a3, b3) }
                        k &+= 4
                    }
                    co += 2
                }
                continue
            }
            for k in 0..<m {
                let v = vAt(k)
                let ys = yb + v &* cout
                for co in (blocks * 8)..<cout {
                    var acc: T = initial(ys, co)
                    for ti in 0..<tapN {
                        let t = tap(ti)
                        let xu = xb + Int(nb[t &* V &+ v]) &* cin
                        let wt = W + (t &* cin &* cout &+ co)
                        for ci in 0..<cin { acc += xu[ci] * wt[ci &* cout] }
                    }
                    ys[co] = E.apply(acc)
                }
            }
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
        if T.self == Float.self && KernelPath.active == .avx2fma {
            let done = gf_conv_weight_gradient_f32(x.asFloat, cin, dy.asFloat, cout, dW.asFloat, dB.asFloat, nb, taps, n,
                                                   V, subset?.baseAddress, subset?.count ?? V)
            if done != 0 { return }
        }
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
                accB += UnsafeRawPointer(dy + (s &* cout &+ c0)).loadUnaligned(as: SIMD8<T>.self)
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
                        // Wrapping index arithmetic (the indices are bounded by the
                        // buffer sizes): overflow checks here cost 20% of a
                        // training step in a build with checks.
                        @inline(__always) func term(_ v: Int) -> SIMD8<T> {
                            UnsafeRawPointer(dyb + v &* cout).loadUnaligned(as: SIMD8<T>.self) * xb[Int(nbt[v]) &* cin]
                        }
                        var v = 0
                        while v &+ 4 <= V {
                            acc0 += term(v)
                            acc1 += term(v &+ 1)
                            acc2 += term(v &+ 2)
                            acc3 += term(v &+ 3)
                            v &+= 4
                        }
                        while v < V {
                            acc0 += term(v)
                            v &+= 1
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
            for s in 0..<(n * V) { accB += dy[s &* cout &+ co] }
            dB[co] += accB
        }
        if cout % 8 != 0 && cin % 8 == 0 {
            // Leftover output channels: accumulate over sites with ci as SIMD lanes.
            for co in (blocks * 8)..<cout {
                for t in 0..<taps {
                    let nbt = nb + t &* V
                    for c0 in stride(from: 0, to: cin, by: 8) {
                        var acc0 = SIMD8<T>.zero, acc1 = SIMD8<T>.zero
                        for b in 0..<n {
                            let xb = x + b &* V &* cin + c0
                            let dyb = dy + b &* V &* cout + co
                            var k = 0
                            while k &+ 2 <= m {
                                let v0 = vAt(k), v1 = vAt(k &+ 1)
                                acc0 += UnsafeRawPointer(xb + Int(nbt[v0]) &* cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v0 &* cout]
                                acc1 += UnsafeRawPointer(xb + Int(nbt[v1]) &* cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v1 &* cout]
                                k &+= 2
                            }
                            if k < m {
                                let v0 = vAt(k)
                                acc0 += UnsafeRawPointer(xb + Int(nbt[v0]) &* cin).loadUnaligned(as: SIMD8<T>.self) * dyb[v0 &* cout]
                            }
                        }
                        let acc = acc0 + acc1
                        for l in 0..<8 { dW[(t &* cin &+ c0 &+ l) &* cout &+ co] += acc[l] }
                    }
                }
            }
            return
        }
        for co in (blocks * 8)..<cout {
            for t in 0..<taps {
                let nbt = nb + t &* V
                for ci in 0..<cin {
                    var acc: T = 0
                    for b in 0..<n {
                        let xb = x + b &* V &* cin + ci
                        let dyb = dy + b &* V &* cout + co
                        for v in 0..<V { acc += dyb[v &* cout] * xb[Int(nbt[v]) &* cin] }
                    }
                    dW[(t * cin + ci) * cout + co] += acc
                }
            }
        }
    }
}

/// Channel counts fixed at compile time for `ConvKernel`'s copies (nil: read at run time).
protocol ChannelCounts {
    static var cin: Int? { get }
    static var cout: Int? { get }
}

/// The first layer of a standard net (one input channel to eight hidden).
enum Channels1x8: ChannelCounts {
    static var cin: Int? { 1 }
    static var cout: Int? { 8 }
}

/// A hidden layer of eight channels, and its input gradient.
enum Channels8x8: ChannelCounts {
    static var cin: Int? { 8 }
    static var cout: Int? { 8 }
}

/// The s,t layer (eight hidden channels to s and t).
enum Channels8x2: ChannelCounts {
    static var cin: Int? { 8 }
    static var cout: Int? { 2 }
}

enum AnyChannels: ChannelCounts {
    static var cin: Int? { nil }
    static var cout: Int? { nil }
}

/// The activations `ConvKernel` can apply as it stores its outputs (tanh is
/// not among them: the s,t layer stores single values, and the vector tanh
/// pays only on eight).
public enum FusedActivation: Sendable {
    /// No activation, or leaky ReLU with slope `Activation.leakySlope`.
    case identity, leakyReLU
}

/// What `ConvKernel` applies to its outputs before storing them; a type so
/// that each activation gets its own copy of the kernel.
protocol Epilogue {
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(_ v: SIMD8<T>) -> SIMD8<T>
    static func apply<T: BinaryFloatingPoint>(_ x: T) -> T
}

enum NoEpilogue: Epilogue {
    @inline(__always)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(_ v: SIMD8<T>) -> SIMD8<T> { v }
    @inline(__always)
    static func apply<T: BinaryFloatingPoint>(_ x: T) -> T { x }
}

/// LeakyReLU as max(y, a y); `Activation.apply` uses it too.
enum LeakyReLUEpilogue: Epilogue {
    @inline(__always)
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(_ v: SIMD8<T>) -> SIMD8<T> {
        // Comparisons on a generic SIMD type are compiled lane by lane through
        // memory; on SIMD8<Float> they are one instruction.
        if T.self == Float.self {
            let f = unsafeBitCast(v, to: SIMD8<Float>.self)
            let af = Float(Activation.leakySlope) * f
            return unsafeBitCast(f.replacing(with: af, where: f .< af), to: SIMD8<T>.self)
        }
        let av = T(Activation.leakySlope) * v
        return v.replacing(with: av, where: v .< av)
    }

    /// max(y, a y) equals LeakyReLU for 0 < a < 1 and vectorises without branches.
    @inline(__always)
    static func apply<T: BinaryFloatingPoint>(_ x: T) -> T { Swift.max(x, T(Activation.leakySlope) * x) }
}

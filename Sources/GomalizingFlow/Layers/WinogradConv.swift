import CKernels

/// The 3x3 periodic convolution of a 2D lattice by Winograd's F(2x2, 3x3)
/// algorithm: each 2x2 block of output sites ("tile") comes from its 4x4 input
/// patch through
///
///   Y = A^T [ (G g G^T) . (B^T d B) ] A,
///
/// so a tile costs 16 channel products (cin x cout each) instead of 36: the
/// products become 16 small matrix products over the tiles, one per entry xi of
/// the 4x4 transformed patch. The transforms use only additions and halvings,
/// so the result equals the direct sum up to rounding (a few ulp of the sum's
/// terms); it serves the passes without a pullback (sampling, evaluation), while
/// training uses `ConvKernel` so that its gradient is of the function it computed.
///
/// 1D F(2, 3) for the cross-correlation y_i = g0 x_(i-1) + g1 x_i + g2 x_(i+1),
/// tile outputs i = 0, 1 from d = x_(-1...2):
///   B^T d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3),
///   G g   = (g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2),
///   A^T m = (m0 + m1 + m2, m1 - m2 - m3).
enum WinogradConv {
    /// Whether a convolution can take this path: the full 3x3 stencil of a 2D
    /// lattice of even side, channel counts multiples of 8.
    /// A 3D lattice qualifies too for Float where the AVX2 kernels run
    /// (`CKernels` has the 3D transforms; elsewhere the direct sum stays).
    static func applies<T>(to stencil: ConvStencil, cin: Int, cout: Int, scalar: T.Type = Float.self,
                           path: KernelPath = KernelPath.active) -> Bool {
        let d = stencil.latticeDimension
        guard d == 2 || (d == 3 && T.self == Float.self && path == .avx2fma) else { return false }
        return !stencil.isCross && stencil.axes == Array(0..<d) && stencil.kernelSize == 3
            && stencil.latticeSide % 2 == 0 && cin % 8 == 0 && cout % 8 == 0
    }

    /// Scratch values `forward` needs: the transformed weights, and one
    /// configuration's padded input, transformed input and products.
    static func scratchCount(side L: Int, cin: Int, cout: Int) -> Int {
        16 * cin * cout + (L + 2) * (L + 2) * cin + 4 * L * L * (cin + cout)
    }

    /// y = activation(bias + conv(x)) for n configurations, channels-last [n][V][c];
    /// requires `applies(to:cin:cout:scalar:path:)` with the same `path`. Float on
    /// the AVX2 path runs `CKernels`' copy (2D and 3D), else the loops below (2D).
    static func apply<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, cin: Int, _ y: UnsafeMutablePointer<T>, cout: Int, weight W: UnsafePointer<T>,
        bias: UnsafePointer<T>, n: Int, side L: Int, dimension d: Int, activation: FusedActivation, path: KernelPath
    ) {
        if T.self == Float.self && path == .avx2fma {
            let done = withUnsafeTemporaryAllocation(of: Float.self,
                                                     capacity: gf_winograd_conv_scratch_count(cin, cout, Int32(d))) {
                gf_winograd_conv_f32(x.asFloat, cin, y.asFloat, cout, W.asFloat, bias.asFloat, n, Int32(d), L,
                                     activation == .leakyReLU ? 1 : 0, Float(Activation.leakySlope), $0.baseAddress!)
            }
            if done != 0 { return }
        }
        precondition(d == 2, "the portable Winograd loops are two-dimensional")
        withUnsafeTemporaryAllocation(of: T.self, capacity: scratchCount(side: L, cin: cin, cout: cout)) { buf in
            let scratch = buf.baseAddress!
            @inline(__always) func run<C: ChannelCounts, E: Epilogue>(_ c: C.Type, _ e: E.Type) {
                forward(c, e, x, cin: cin, y, cout: cout, weight: W, bias: bias, n: n, side: L, scratch: scratch)
            }
            @inline(__always) func run<C: ChannelCounts>(_ c: C.Type) {
                switch activation {
                case .identity: run(c, NoEpilogue.self)
                case .leakyReLU: run(c, LeakyReLUEpilogue.self)
                }
            }
            if cin == 8 && cout == 8 { run(Channels8x8.self) } else { run(AnyChannels.self) }
        }
    }

    /// The body of `apply`, with the channel counts of `C` where it fixes them.
    static func forward<T: BinaryFloatingPoint & SIMDScalar, C: ChannelCounts, E: Epilogue>(
        _: C.Type, _: E.Type, _ x: UnsafePointer<T>, cin cinArg: Int, _ y: UnsafeMutablePointer<T>, cout coutArg: Int,
        weight W: UnsafePointer<T>, bias: UnsafePointer<T>, n: Int, side L: Int, scratch: UnsafeMutablePointer<T>
    ) {
        let cin = C.cin ?? cinArg, cout = C.cout ?? coutArg
        let V = L * L, tiles = V / 4
        let U = scratch                        // [xi][ci][co]
        let P = U + 16 * cin * cout            // [L+2][L+2][ci], the input with a periodic halo
        let D = P + (L + 2) * (L + 2) * cin    // [tile][xi][ci]
        let M = D + 16 * tiles * cin           // [tile][xi][co]
        transformWeights(W, cin: cin, cout: cout, into: U)
        // Index arithmetic wraps (&*, &+) in the loops below, as in ConvKernel:
        // the indices are bounded by the buffers, and checks would cost time.
        for b in 0..<n {
            let xb = x + b &* V &* cin, yb = y + b &* V &* cout
            pad(xb, cin: cin, side: L, into: P)
            transformInput(C.self, P, cin: cin, side: L, into: D)
            for xi in 0..<16 {
                multiply(D + xi * cin, U + xi * cin * cout, M + xi * cout, tiles: tiles, cin: cin, cout: cout)
            }
            transformOutput(C.self, E.self, M, cout: cout, side: L, bias: bias, into: yb)
        }
    }

    /// P[r][c] = x[(r - 1) mod L][(c - 1) mod L] for r, c in 0...L+1, so that
    /// every tile's patch is a plain 4x4 block of P.
    @inline(__always)
    static func pad<T: BinaryFloatingPoint & SIMDScalar>(_ x: UnsafePointer<T>, cin: Int, side L: Int,
                                                        into P: UnsafeMutablePointer<T>) {
        for r in 0..<(L + 2) {
            let src = x + ((r + L - 1) % L) * L * cin, dst = P + r * (L + 2) * cin
            dst.update(from: src + (L - 1) * cin, count: cin)
            (dst + cin).update(from: src, count: L * cin)
            (dst + (L + 1) * cin).update(from: src, count: cin)
        }
    }

    /// U[xi][ci][co] = (G g G^T)[p][q], xi = 4p + q, g[a][b] = W[3a + b][ci][co].
    @inline(__always)
    static func transformWeights<T: BinaryFloatingPoint>(_ W: UnsafePointer<T>, cin: Int, cout: Int,
                                                         into U: UnsafeMutablePointer<T>) {
        @inline(__always) func g3(_ a: T, _ b: T, _ c: T) -> (T, T, T, T) {
            (a, (a + b + c) / 2, (a - b + c) / 2, c)
        }
        for ci in 0..<cin {
            for co in 0..<cout {
                @inline(__always) func g(_ a: Int, _ b: Int) -> T { W[((3 * a + b) * cin + ci) * cout + co] }
                // G along a (rows), for each column b.
                let c0 = g3(g(0, 0), g(1, 0), g(2, 0))
                let c1 = g3(g(0, 1), g(1, 1), g(2, 1))
                let c2 = g3(g(0, 2), g(1, 2), g(2, 2))
                // Then G along b, for each row p.
                @inline(__always) func put(_ p: Int, _ a: T, _ b: T, _ c: T) {
                    let r = g3(a, b, c)
                    U[((4 * p + 0) * cin + ci) * cout + co] = r.0
                    U[((4 * p + 1) * cin + ci) * cout + co] = r.1
                    U[((4 * p + 2) * cin + ci) * cout + co] = r.2
                    U[((4 * p + 3) * cin + ci) * cout + co] = r.3
                }
                put(0, c0.0, c1.0, c2.0)
                put(1, c0.1, c1.1, c2.1)
                put(2, c0.2, c1.2, c2.2)
                put(3, c0.3, c1.3, c2.3)
            }
        }
    }

    /// D[tile][xi][ci] = (B^T d B)[p][q] of each tile's 4x4 patch of P, four
    /// channels at a time and one row p of the result at a time, so that few
    /// vectors are live (sixteen would spill).
    @inline(__always)
    static func transformInput<T: BinaryFloatingPoint & SIMDScalar, C: ChannelCounts>(
        _: C.Type, _ P: UnsafePointer<T>, cin cinArg: Int, side L: Int, into D: UnsafeMutablePointer<T>
    ) {
        // Fixed channel counts make the sixteen patch offsets constants.
        let cin = C.cin ?? cinArg
        let R = L / 2, row = (L + 2) * cin
        for I in 0..<R {
            for J in 0..<R {
                let patch = P + (2 &* I &* (L &+ 2) &+ 2 &* J) &* cin
                let out = D + (I &* R &+ J) &* 16 &* cin
                var c0 = 0
                while c0 < cin {
                    @inline(__always) func d(_ r: Int, _ q: Int) -> SIMD4<T> {
                        UnsafeRawPointer(patch + (r &* row &+ q &* cin &+ c0)).loadUnaligned(as: SIMD4<T>.self)
                    }
                    // Row p of B^T d (a combination of two patch rows), then B along it.
                    @inline(__always) func transformed(_ p: Int, _ e: (Int) -> SIMD4<T>) {
                        let e0 = e(0), e1 = e(1), e2 = e(2), e3 = e(3)
                        @inline(__always) func store(_ q: Int, _ v: SIMD4<T>) {
                            UnsafeMutableRawPointer(out + ((4 &* p &+ q) &* cin &+ c0)).storeBytes(of: v, as: SIMD4<T>.self)
                        }
                        store(0, e0 - e2); store(1, e1 + e2); store(2, e2 - e1); store(3, e1 - e3)
                    }
                    // B^T rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3.
                    transformed(0) { d(0, $0) - d(2, $0) }
                    transformed(1) { d(1, $0) + d(2, $0) }
                    transformed(2) { d(2, $0) - d(1, $0) }
                    transformed(3) { d(1, $0) - d(3, $0) }
                    c0 += 4
                }
            }
        }
    }

    /// M[tile][xi][co] = sum_ci D[tile][xi][ci] U[xi][ci][co] for one xi (the
    /// pointers are offset to it): four tiles and eight output channels in
    /// registers, as in `ConvKernel`.
    @inline(__always)
    static func multiply<T: BinaryFloatingPoint & SIMDScalar>(
        _ D: UnsafePointer<T>, _ U: UnsafePointer<T>, _ M: UnsafeMutablePointer<T>, tiles: Int, cin: Int, cout: Int
    ) {
        let dStride = 16 * cin, mStride = 16 * cout
        var tile = 0
        while tile < tiles {
            let live = Swift.min(4, tiles - tile)
            let d0 = D + tile &* dStride
            let d1 = D + (tile &+ (live > 1 ? 1 : 0)) &* dStride
            let d2 = D + (tile &+ (live > 2 ? 2 : 0)) &* dStride
            let d3 = D + (tile &+ (live > 3 ? 3 : 0)) &* dStride
            var c0 = 0
            while c0 < cout {
                var l0 = SIMD4<T>.zero, h0 = SIMD4<T>.zero, l1 = SIMD4<T>.zero, h1 = SIMD4<T>.zero
                var l2 = SIMD4<T>.zero, h2 = SIMD4<T>.zero, l3 = SIMD4<T>.zero, h3 = SIMD4<T>.zero
                for ci in 0..<cin {
                    let w = U + (ci &* cout &+ c0)
                    let wl = UnsafeRawPointer(w).loadUnaligned(as: SIMD4<T>.self)
                    let wh = UnsafeRawPointer(w + 4).loadUnaligned(as: SIMD4<T>.self)
                    let x0 = SIMD4(repeating: d0[ci]), x1 = SIMD4(repeating: d1[ci])
                    let x2 = SIMD4(repeating: d2[ci]), x3 = SIMD4(repeating: d3[ci])
                    l0 += wl * x0; h0 += wh * x0
                    l1 += wl * x1; h1 += wh * x1
                    l2 += wl * x2; h2 += wh * x2
                    l3 += wl * x3; h3 += wh * x3
                }
                @inline(__always) func store(_ k: Int, _ l: SIMD4<T>, _ h: SIMD4<T>) {
                    UnsafeMutableRawPointer(M + ((tile &+ k) &* mStride &+ c0))
                        .storeBytes(of: SIMD8(lowHalf: l, highHalf: h), as: SIMD8<T>.self)
                }
                store(0, l0, h0)
                if live > 1 { store(1, l1, h1) }
                if live > 2 { store(2, l2, h2) }
                if live > 3 { store(3, l3, h3) }
                c0 += 8
            }
            tile += 4
        }
    }

    /// y at each tile's four sites = E(bias + A^T M A), eight channels at a time
    /// (as two halves, so that the eight partial sums stay in registers).
    @inline(__always)
    static func transformOutput<T: BinaryFloatingPoint & SIMDScalar, C: ChannelCounts, E: Epilogue>(
        _: C.Type, _: E.Type, _ M: UnsafePointer<T>, cout coutArg: Int, side L: Int, bias: UnsafePointer<T>,
        into y: UnsafeMutablePointer<T>
    ) {
        let cout = C.cout ?? coutArg
        let R = L / 2
        for tile in 0..<(R * R) {
            let I = tile / R, J = tile &- I &* R
            let mt = M + tile &* 16 &* cout
            var c0 = 0
            while c0 < cout {
                @inline(__always) func half(_ h: Int) -> (SIMD4<T>, SIMD4<T>, SIMD4<T>, SIMD4<T>) {
                    @inline(__always) func m(_ p: Int, _ q: Int) -> SIMD4<T> {
                        UnsafeRawPointer(mt + ((4 &* p &+ q) &* cout &+ c0 &+ h)).loadUnaligned(as: SIMD4<T>.self)
                    }
                    // A^T along q for each row p: (m0 + m1 + m2, m1 - m2 - m3).
                    @inline(__always) func z(_ p: Int) -> (SIMD4<T>, SIMD4<T>) {
                        let a = m(p, 1), b = m(p, 2)
                        return (m(p, 0) + a + b, a - b - m(p, 3))
                    }
                    let z0 = z(0), z1 = z(1), z2 = z(2), z3 = z(3)
                    // Then along p: output rows 0 and 1, at columns 0 and 1.
                    return (z0.0 + z1.0 + z2.0, z1.0 - z2.0 - z3.0, z0.1 + z1.1 + z2.1, z1.1 - z2.1 - z3.1)
                }
                let lo = half(0), hi = half(4)
                let b = UnsafeRawPointer(bias + c0).loadUnaligned(as: SIMD8<T>.self)
                @inline(__always) func store(_ r: Int, _ c: Int, _ l: SIMD4<T>, _ h: SIMD4<T>) {
                    UnsafeMutableRawPointer(y + (((2 &* I &+ r) &* L &+ 2 &* J &+ c) &* cout &+ c0))
                        .storeBytes(of: E.apply(b + SIMD8(lowHalf: l, highHalf: h)), as: SIMD8<T>.self)
                }
                store(0, 0, lo.0, hi.0); store(1, 0, lo.1, hi.1)
                store(0, 1, lo.2, hi.2); store(1, 1, lo.3, hi.3)
                c0 += 8
            }
        }
    }
}

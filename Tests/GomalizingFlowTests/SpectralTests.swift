import GomalizingFlow
import GomalizingRun
import XCTest

/// The Fourier building blocks of an equivariant flow (issue 17): displacement
/// orbits, the lattice DFT and the orbit-tied convolution with its pullback.
final class SpectralTests: XCTestCase {
    /// Every point-group element applied to coordinates: a permutation of the axes, then sign flips.
    func groupElements(d: Int) -> [(perm: [Int], signs: [Int])] {
        func permutations(_ a: [Int]) -> [[Int]] {
            a.count <= 1 ? [a] : a.indices.flatMap { i in permutations(Array(a[..<i] + a[(i + 1)...])).map { [a[i]] + $0 } }
        }
        let signs = (0..<(1 << d)).map { m in (0..<d).map { (m >> $0) & 1 == 1 ? -1 : 1 } }
        return permutations(Array(0..<d)).flatMap { p in signs.map { (p, $0) } }
    }

    func act(_ g: (perm: [Int], signs: [Int]), _ x: [Int]) -> [Int] { (0..<x.count).map { g.signs[$0] * x[g.perm[$0]] } }

    func testOrbitCountsClosureAndFoldIsTheAdjointOfUnfold() {
        // 2D even L: (L/2+1)(L/2+2)/2 orbits, of which those with odd |r|_1 join the checkerboard's halves.
        for (L, n, odd) in [(6, 10, 4), (12, 28, 12), (20, 66, 30), (32, 153, 72)] {
            let o = DisplacementOrbits(lattice: Lattice(L: L, d: 2))
            XCTAssertEqual(o.count, n, "L = \(L)")
            XCTAssertEqual((0..<o.count).filter(o.isOdd).count, odd, "L = \(L)")
        }
        XCTAssertEqual(DisplacementOrbits(lattice: Lattice(L: 4, d: 3)).count, 10)
        XCTAssertEqual(DisplacementOrbits(lattice: Lattice(L: 5, d: 2)).count, 6)
        for (L, d) in [(4, 2), (5, 2), (6, 2), (4, 3), (3, 4)] {
            let lattice = Lattice(L: L, d: d)
            let o = DisplacementOrbits(lattice: lattice)
            XCTAssertEqual(o.orbitOf[0], 0)
            XCTAssertEqual(o.sizes.reduce(0, +), lattice.volume)
            // Closed under the group, and -r is in the orbit of r.
            for r in 0..<lattice.volume {
                let x = lattice.coordinates(r)
                for g in groupElements(d: d) { XCTAssertEqual(o.orbitOf[lattice.index(act(g, x))], o.orbitOf[r]) }
            }
            // Distinct representatives name distinct orbits.
            XCTAssertEqual(Set(o.representatives).count, o.count)
            // <unfold(w), g> = <w, fold(g)>.
            let w = randomArray(o.count, seed: 1), g = randomArray(lattice.volume, seed: 2)
            var k = [Double](repeating: 0, count: lattice.volume), fw = [Double](repeating: 0.5, count: o.count)
            o.unfold(w, into: &k)
            o.fold(g, into: &fw)
            let lhs = zip(k, g).map(*).reduce(0, +)
            let rhs = zip(w, fw).map { $0 * ($1 - 0.5) }.reduce(0, +)  // fold adds to what is there
            XCTAssertEqual(lhs, rhs, accuracy: 1e-12)
        }
    }

    /// The DFT against its definition, and inverse(forward(f)) = f: every radix
    /// of the FFT (4, 2, 3, 5 and a dense prime: 7, 11, 13), alone and mixed.
    func testDFTMatchesTheDirectSumAndInverts() {
        for (L, d) in [(1, 1), (2, 1), (7, 1), (11, 1), (25, 1), (26, 1), (3, 2), (4, 2), (5, 2), (6, 2), (8, 2), (9, 2),
                       (12, 2), (14, 2), (20, 2), (32, 2), (3, 3), (4, 3), (6, 3), (2, 4), (3, 4)] {
            let lattice = Lattice(L: L, d: d)
            let V = lattice.volume
            let dft = LatticeDFT<Double>(lattice: lattice)
            let re0 = randomArray(V, seed: UInt64(L * 10 + d)), im0 = randomArray(V, seed: UInt64(L * 10 + d + 100))
            var re = re0, im = im0
            dft.forward(re: &re, im: &im)
            for p in 0..<V {
                let pc = lattice.coordinates(p)
                var sr = 0.0, si = 0.0
                for x in 0..<V {
                    let xc = lattice.coordinates(x)
                    let phase = -2 * Double.pi * Double(zip(pc, xc).map(*).reduce(0, +)) / Double(L)
                    sr += re0[x] * cos(phase) - im0[x] * sin(phase)
                    si += re0[x] * sin(phase) + im0[x] * cos(phase)
                }
                XCTAssertEqual(re[p], sr, accuracy: 1e-11, "L = \(L), d = \(d), p = \(pc)")
                XCTAssertEqual(im[p], si, accuracy: 1e-11, "L = \(L), d = \(d), p = \(pc)")
            }
            dft.inverse(re: &re, im: &im)
            for x in 0..<V {
                XCTAssertEqual(re[x], re0[x], accuracy: 1e-13)
                XCTAssertEqual(im[x], im0[x], accuracy: 1e-13)
            }
        }
    }

    /// In single precision the FFT's error grows like log L, not like L as a
    /// dense sum's: relative to the field's scale, 2e-6 at L = 32.
    /// Several fields transformed in one call give, bit for bit, what one call
    /// per field gives (the lines are batched, not the arithmetic changed).
    func testBatchedTransformIsBitIdenticalToOneFieldAtATime() {
        for (L, d) in [(6, 2), (5, 3), (12, 2), (4, 4)] {
            let dft = LatticeDFT<Float>(lattice: Lattice(L: L, d: d))
            let V = dft.lattice.volume, count = 3
            var re = randomNormal(count * V, seed: 3).map(Float.init), im = randomNormal(count * V, seed: 4).map(Float.init)
            var oneRe = re, oneIm = im
            dft.forward(re: &re, im: &im, count: count)
            oneRe.withUnsafeMutableBufferPointer { r in
                oneIm.withUnsafeMutableBufferPointer { i in
                    for f in 0..<count { dft.forward(re: r.baseAddress! + f * V, im: i.baseAddress! + f * V) }
                }
            }
            XCTAssertEqual(re, oneRe, "L = \(L), d = \(d)")
            XCTAssertEqual(im, oneIm)
            dft.inverse(re: &re, im: &im, count: count)
            oneRe.withUnsafeMutableBufferPointer { r in
                oneIm.withUnsafeMutableBufferPointer { i in
                    for f in 0..<count { dft.inverse(re: r.baseAddress! + f * V, im: i.baseAddress! + f * V) }
                }
            }
            XCTAssertEqual(re, oneRe)
            XCTAssertEqual(im, oneIm)
        }
    }

    func testFloatDFTIsAccurate() {
        for L in [12, 20, 32] {
            let lattice = Lattice(L: L, d: 2)
            let V = lattice.volume
            let re0 = randomArray(V, seed: UInt64(L)), im0 = [Double](repeating: 0, count: V)
            var reD = re0, imD = im0
            LatticeDFT<Double>(lattice: lattice).forward(re: &reD, im: &imD)
            var re = re0.map { Float($0) }, im = im0.map { Float($0) }
            let dft = LatticeDFT<Float>(lattice: lattice)
            dft.forward(re: &re, im: &im)
            let scale = Double(V).squareRoot()
            for p in 0..<V {
                XCTAssertEqual(Double(re[p]), reD[p], accuracy: 2e-6 * scale, "L = \(L)")
                XCTAssertEqual(Double(im[p]), imD[p], accuracy: 2e-6 * scale, "L = \(L)")
            }
            dft.inverse(re: &re, im: &im)
            for x in 0..<V { XCTAssertEqual(Double(re[x]), re0[x], accuracy: 2e-6) }
        }
    }

    /// v(x) = sum_r K(r) f(x + r) summed directly, K unfolded from orbit weights.
    func directConvolution(_ lattice: Lattice, _ orbits: DisplacementOrbits, weights: [Double], field: [Double]) -> [Double] {
        (0..<lattice.volume).map { x in
            (0..<lattice.volume).reduce(0.0) { s, r in
                s + weights[orbits.orbitOf[r]] * field[lattice.shifted(x, by: lattice.coordinates(r))]
            }
        }
    }

    func testConvolutionInFourierSpaceEqualsTheDirectSumAndIsEquivariant() {
        for (L, d) in [(2, 2), (3, 2), (4, 2), (5, 2), (6, 2), (7, 2), (4, 3), (3, 3)] {
            let lattice = Lattice(L: L, d: d)
            let V = lattice.volume
            let conv = SymmetricConvolution<Double>(lattice: lattice)
            let w = randomArray(conv.weightCount, seed: UInt64(L + 7 * d)), f = randomArray(V, seed: UInt64(L + 7 * d + 50))
            var symbol = [Double](repeating: 0, count: V)
            conv.symbol(w, into: &symbol)
            // The symbol is real: its DFT's imaginary part vanishes.
            var k = [Double](repeating: 0, count: V), im = [Double](repeating: 0, count: V)
            conv.orbits.unfold(w, into: &k)
            LatticeDFT<Double>(lattice: lattice).forward(re: &k, im: &im)
            XCTAssertLessThan(im.map(abs).max()!, 1e-12)
            var v = [Double](repeating: 0, count: V)
            conv.apply(symbol: symbol, f, into: &v)
            let direct = directConvolution(lattice, conv.orbits, weights: w, field: f)
            for x in 0..<V { XCTAssertEqual(v[x], direct[x], accuracy: 1e-12, "L = \(L), d = \(d)") }
            // v(g f) = g v(f) for every point-group element g about site 0, and for a translation.
            for g in groupElements(d: d) {
                let moved = (0..<V).map { x in f[lattice.index(act(g, lattice.coordinates(x)))] }
                var vMoved = [Double](repeating: 0, count: V)
                conv.apply(symbol: symbol, moved, into: &vMoved)
                for x in 0..<V { XCTAssertEqual(vMoved[x], v[lattice.index(act(g, lattice.coordinates(x)))], accuracy: 1e-12) }
            }
            let shift = (0..<d).map { $0 + 1 }
            let translated = (0..<V).map { f[lattice.shifted($0, by: shift)] }
            var vTranslated = [Double](repeating: 0, count: V)
            conv.apply(symbol: symbol, translated, into: &vTranslated)
            for x in 0..<V { XCTAssertEqual(vTranslated[x], v[lattice.shifted(x, by: shift)], accuracy: 1e-12) }
        }
    }

    /// The pullback against central finite differences of <c, K * f>, in f and in the orbit weights.
    func testPullbackMatchesFiniteDifferences() {
        for (L, d) in [(4, 2), (5, 2), (6, 2), (3, 3)] {
            let lattice = Lattice(L: L, d: d)
            let V = lattice.volume
            let conv = SymmetricConvolution<Double>(lattice: lattice)
            let P = conv.weightCount
            let w = randomArray(P, seed: 3), f = randomArray(V, seed: 4), c = randomArray(V, seed: 5)
            func loss(_ w: [Double], _ f: [Double]) -> Double {
                var s = [Double](repeating: 0, count: V), v = [Double](repeating: 0, count: V)
                conv.symbol(w, into: &s)
                conv.apply(symbol: s, f, into: &v)
                return zip(c, v).map(*).reduce(0, +)
            }
            var symbol = [Double](repeating: 0, count: V)
            conv.symbol(w, into: &symbol)
            var dF = [Double](repeating: 0, count: V), dW = [Double](repeating: 0, count: P)
            conv.pullback(symbol: symbol, field: f, dOut: c, dField: &dF, dWeights: &dW)
            let h = 1e-5
            let numericF = (0..<V).map { i -> Double in
                var a = f, b = f
                a[i] += h
                b[i] -= h
                return (loss(w, a) - loss(w, b)) / (2 * h)
            }
            let numericW = (0..<P).map { i -> Double in
                var a = w, b = w
                a[i] += h
                b[i] -= h
                return (loss(a, f) - loss(b, f)) / (2 * h)
            }
            // The loss is bilinear: the differences have no truncation error, 1e-7 is rounding.
            assertGradientsMatch(analytic: dF, numeric: numericF, tolerance: 1e-7, "field, L = \(L), d = \(d)")
            assertGradientsMatch(analytic: dW, numeric: numericW, tolerance: 1e-7, "weights, L = \(L), d = \(d)")
        }
    }

    /// In Float the transform round-trips to 1e-5 at the largest lattice of issue 17 (L = 32).
    func testFloatRoundTripAtL32() {
        let lattice = Lattice(L: 32, d: 2)
        let f = randomArray(lattice.volume, seed: 9).map(Float.init)
        var re = f, im = [Float](repeating: 0, count: lattice.volume)
        let dft = LatticeDFT<Float>(lattice: lattice)
        dft.forward(re: &re, im: &im)
        dft.inverse(re: &re, im: &im)
        XCTAssertLessThan(zip(re, f).map { abs($0 - $1) }.max()!, 1e-5)
        XCTAssertLessThan(im.map(abs).max()!, 1e-5)
    }
}

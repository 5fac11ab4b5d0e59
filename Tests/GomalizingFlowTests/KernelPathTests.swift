import CKernels
import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The AVX2 kernels (CKernels) against the exact sums they replace: every
/// convolution shape the flows use, with the options the callers pass (a site
/// subset, tap groups, accumulation, the fused activation), forward and pullback.
final class KernelPathTests: XCTestCase {
    /// The comparisons need both paths; the variable's tests run on any CPU.
    func requireAVX2() throws {
        try XCTSkipUnless(KernelPath.avx2fma.isAvailable, "this CPU has no AVX2 with FMA: only the portable path runs")
    }

    func conv(L: Int, d: Int, cin: Int, cout: Int, K: Int = 3, cross: Bool = false, axes: [Int]? = nil) -> PeriodicConv {
        let lat = Lattice(L: L, d: d)
        let st = cross ? ConvStencil(crossOn: lat, kernelSize: K)
            : ConvStencil(lattice: lat, axes: axes ?? Array(0..<d), kernelSize: K)
        return PeriodicConv(stencil: st, cin: cin, cout: cout, weightOffset: 0, biasOffset: st.tapCount * cin * cout)
    }

    /// Sites 0, 3, 4, 7, ... : not a multiple of 8 long, not contiguous.
    func subset(_ V: Int) -> [Int32] {
        var sites: [Int32] = []
        for v in 0..<V where v % 4 == 0 || v % 4 == 3 { sites.append(Int32(v)) }
        return sites
    }

    enum Mode: CaseIterable { case all, subset, groups }

    func forward<T: BinaryFloatingPoint & SIMDScalar>(_ c: PeriodicConv, n: Int, _: T.Type, mode: Mode,
                                                      activation: FusedActivation) -> [T] {
        let V = c.stencil.volume
        let params = randomArray(c.weightCount + c.cout, seed: 31).map { T($0) }
        let x = randomArray(n * V * c.cin, seed: 32, scale: 2).map { T($0) }
        // Marks the sites a subset leaves alone: they must keep this value.
        var y = [T](repeating: 7, count: n * V * c.cout)
        var scratch = [T](repeating: 0, count: 2 * c.weightCount)
        let sub = subset(V)
        let groups = c.stencil.tapGroups(support: (0..<V).map { $0 % 3 != 0 })
        x.withUnsafeBufferPointer { xp in params.withUnsafeBufferPointer { pp in y.withUnsafeMutableBufferPointer { yp in
            sub.withUnsafeBufferPointer { sp in
                c.forward(xp.baseAddress!, yp.baseAddress!, n: n, params: pp.baseAddress!, weightScratch: &scratch,
                          subset: mode == .subset ? sp : nil, groups: mode == .groups ? groups : nil,
                          activation: activation)
            }
        } } }
        return y
    }

    /// dx (accumulated onto ones) and the parameter gradient (accumulated onto
    /// twos). With `useSubset`, dy vanishes off the subset as the pullback's
    /// contract asks, unless `dyOffSubset`: then the rule of which sums skip the
    /// sites off the subset (the leftover channels' weight gradient) shows.
    func pullback<T: BinaryFloatingPoint & SIMDScalar>(_ c: PeriodicConv, n: Int, _: T.Type, useSubset: Bool,
                                                       dyOffSubset: Bool = false) -> (dx: [T], grads: [T]) {
        let V = c.stencil.volume
        let params = randomArray(c.weightCount + c.cout, seed: 41).map { T($0) }
        let x = randomArray(n * V * c.cin, seed: 42, scale: 2).map { T($0) }
        var dy = randomArray(n * V * c.cout, seed: 43).map { T($0) }
        let sub = subset(V)
        if useSubset && !dyOffSubset {
            let keep = Set(sub.map(Int.init))
            for b in 0..<n { for v in 0..<V where !keep.contains(v) { for co in 0..<c.cout { dy[(b * V + v) * c.cout + co] = 0 } } }
        }
        var dx = [T](repeating: 1, count: n * V * c.cin)
        var grads = [T](repeating: 2, count: params.count)
        var scratch = [T](repeating: 0, count: 2 * c.weightCount)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { dyp in params.withUnsafeBufferPointer { pp in
            dx.withUnsafeMutableBufferPointer { dxp in grads.withUnsafeMutableBufferPointer { gp in sub.withUnsafeBufferPointer { sp in
                c.pullback(xp.baseAddress!, dyp.baseAddress!, dx: dxp.baseAddress!, n: n, params: pp.baseAddress!,
                           grads: gp.baseAddress!, weightScratch: &scratch, subset: useSubset ? sp : nil)
            } } }
        } } }
        return (dx, grads)
    }

    /// Float on `path` against the Double sum (the portable loops in Double):
    /// within `tolerance` of the largest value. Returns the Float values.
    @discardableResult
    func assertClose(_ fast: [Float], _ exact: [Double], tolerance: Double = 1e-5, _ what: String) -> [Float] {
        XCTAssertEqual(fast.count, exact.count, what)
        let scale = max(1, exact.map(abs).max() ?? 0)
        let worst = zip(fast, exact).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(worst, tolerance * scale, what)
        return fast
    }

    /// The shapes of the affine and spline nets (1->8, 8->8, 8->2 and their input
    /// gradients 8->1, 2->8), wider ones, leftovers of both kinds, and a shape
    /// the C kernels decline (3->5: the portable loops run).
    /// (16, 10) has a block and leftovers, (16, 3) leftovers over two ci blocks and an odd one.
    let shapes = [(1, 8), (8, 8), (8, 2), (2, 8), (8, 1), (16, 8), (8, 16), (8, 3), (16, 24), (16, 10), (16, 3), (3, 5)]

    /// L = 5: an odd volume and subset, so every tail loop runs. L = 8, 12 and
    /// the 3-D L = 4 take the rows of a padded copy for all sites (groups of 8,
    /// and of 4 where L = 4 mod 8); L = 6 and 5 gather through the table.
    func testForwardMatchesTheExactSum() throws {
        try requireAVX2()
        // Besides 3-wide boxes: a cross (one row of three taps, the others alone),
        // a 5-wide box (h = 2: a row's middle three taps share, its ends do not),
        // and a stencil along axis 0 only (no step along the rows, h = 0).
        let stencils: [(L: Int, d: Int, K: Int, cross: Bool, axes: [Int]?)] = [
            (6, 2, 3, false, nil), (5, 2, 3, false, nil), (8, 2, 3, false, nil), (12, 2, 3, false, nil),
            (4, 3, 3, false, nil), (12, 2, 3, true, nil), (12, 2, 5, false, nil), (8, 2, 3, false, [0]),
        ]
        for (L, d, K, cross, axes) in stencils {
            for (cin, cout) in shapes {
                let c = conv(L: L, d: d, cin: cin, cout: cout, K: K, cross: cross, axes: axes)
                for mode in Mode.allCases {
                    for act in [FusedActivation.identity, .leakyReLU] {
                        let what = "d=\(d) L=\(L) K=\(K) cross=\(cross) axes=\(axes ?? []) \(cin)->\(cout) \(mode) \(act)"
                        let exact = forward(c, n: 3, Double.self, mode: mode, activation: act)
                        let fast = withKernelPath(.avx2fma) { forward(c, n: 3, Float.self, mode: mode, activation: act) }
                        let portable = withKernelPath(.portable) { forward(c, n: 3, Float.self, mode: mode, activation: act) }
                        assertClose(fast, exact, what)
                        assertClose(portable, exact, what + " (portable)")
                        // A fused multiply-add rounds once: some values differ from
                        // the portable loops unless those ran (3 -> 5).
                        if cin % 8 == 0 || cout % 8 == 0 {
                            XCTAssertNotEqual(fast, portable, "the AVX2 path was not taken: " + what)
                        } else {
                            XCTAssertEqual(fast, portable, "3 -> 5 runs the portable loops: " + what)
                        }
                    }
                }
            }
        }
    }

    func testPullbackMatchesTheExactSum() throws {
        try requireAVX2()
        let stencils: [(L: Int, d: Int, K: Int, cross: Bool)] = [
            (6, 2, 3, false), (5, 2, 3, false), (12, 2, 3, false), (4, 3, 3, false), (6, 2, 3, true), (12, 2, 3, true),
            (12, 2, 5, false),
        ]
        for (L, d, K, cross) in stencils {
            for (cin, cout) in shapes {
                let c = conv(L: L, d: d, cin: cin, cout: cout, K: K, cross: cross)
                for (useSubset, off) in [(false, false), (true, false), (true, true)] {
                    let what = "d=\(d) L=\(L) K=\(K) cross=\(cross) \(cin)->\(cout) subset=\(useSubset) dyOff=\(off)"
                    let exact = pullback(c, n: 3, Double.self, useSubset: useSubset, dyOffSubset: off)
                    let fast = withKernelPath(.avx2fma) { pullback(c, n: 3, Float.self, useSubset: useSubset, dyOffSubset: off) }
                    let portable = withKernelPath(.portable) { pullback(c, n: 3, Float.self, useSubset: useSubset, dyOffSubset: off) }
                    assertClose(fast.dx, exact.dx, what + " dx")
                    assertClose(fast.grads, exact.grads, what + " grads")
                    assertClose(portable.dx, exact.dx, what + " dx (portable)")
                    assertClose(portable.grads, exact.grads, what + " grads (portable)")
                    if cin % 8 == 0 || cout % 8 == 0 {
                        XCTAssertNotEqual(fast.grads, portable.grads, "the AVX2 path was not taken: " + what)
                    }
                }
            }
        }
    }

    /// The 3D Winograd transforms exist only in the C kernels; Float there
    /// equals the Double direct sum to rounding, with both activations and a
    /// partial block of tiles (L = 6: 27 tiles).
    func testWinograd3DMatchesTheDirectSum() throws {
        try requireAVX2()
        withKernelPath(.avx2fma) {
            for (L, cin, cout) in [(4, 8, 8), (6, 8, 16), (8, 16, 8), (2, 8, 8)] {
                let c = conv(L: L, d: 3, cin: cin, cout: cout)
                XCTAssertTrue(c.admitsWinograd, "L=\(L)")
                let V = c.stencil.volume, n = 2
                let params = randomArray(c.weightCount + c.cout, seed: 51)
                let x = randomArray(n * V * cin, seed: 52, scale: 2)
                for act in [FusedActivation.identity, .leakyReLU] {
                    func run<T: BinaryFloatingPoint & SIMDScalar>(_: T.Type, winograd: Bool) -> [T] {
                        let p = params.map { T($0) }, xs = x.map { T($0) }
                        var y = [T](repeating: 0, count: n * V * cout)
                        var scratch = [T](repeating: 0, count: 2 * c.weightCount)
                        xs.withUnsafeBufferPointer { xp in p.withUnsafeBufferPointer { pp in y.withUnsafeMutableBufferPointer { yp in
                            c.forward(xp.baseAddress!, yp.baseAddress!, n: n, params: pp.baseAddress!,
                                      weightScratch: &scratch, activation: act, winograd: winograd)
                        } } }
                        return y
                    }
                    let exact = run(Double.self, winograd: true)  // Double: the direct sum
                    let fast = run(Float.self, winograd: true)
                    let direct = run(Float.self, winograd: false)
                    assertClose(fast, exact, tolerance: 2e-5, "Winograd 3D L=\(L) \(cin)->\(cout) \(act)")
                    XCTAssertNotEqual(fast, direct, "the Winograd path was not taken")
                }
            }
        }
        withKernelPath(.portable) {
            XCTAssertFalse(conv(L: 4, d: 3, cin: 8, cout: 8).admitsWinograd, "no 3D Winograd in the portable loops")
        }
    }

    /// GOMALIZING_KERNELS: auto (or unset) picks the fastest path, a name picks
    /// that one, anything else is one line naming the variable and the choices.
    func testEnvironmentValue() throws {
        try requireAVX2()
        XCTAssertEqual(try KernelPath.requested(by: nil).get(), .avx2fma)
        XCTAssertEqual(try KernelPath.requested(by: " Auto ").get(), .avx2fma)
        XCTAssertEqual(try KernelPath.requested(by: "portable").get(), .portable)
        XCTAssertEqual(try KernelPath.requested(by: "avx2-fma").get(), .avx2fma)
        switch KernelPath.requested(by: "avx512") {
        case .success(let p): XCTFail("accepted avx512 as \(p)")
        case .failure(let e):
            XCTAssertEqual(e.description, "environment: GOMALIZING_KERNELS=avx512: expected one of auto, portable, avx2-fma")
        }
    }

    /// The command line reads GOMALIZING_KERNELS before anything else: a bad
    /// value is one line and status 2, a good one is what `bench` reports.
    func testCommandLineReadsTheVariable() throws {
        guard let exe = builtExecutable() else { throw XCTSkip("gomalizing executable not built") }
        let args = ["bench", "--filter", "no such case", "--seconds", "0.1"]
        for bad in ["avx512", "Portable2", "portable,avx2-fma"] {
            let r = try runCommand(exe, args, environment: ["GOMALIZING_KERNELS": bad])
            XCTAssertEqual(r.code, 2, bad)
            XCTAssertEqual(r.err, "error: environment: GOMALIZING_KERNELS=\(bad): expected one of auto, portable, avx2-fma\n")
            XCTAssertEqual(r.out, "", "nothing ran")
        }
        let portable = try runCommand(exe, args, environment: ["GOMALIZING_KERNELS": "portable"])
        XCTAssertEqual(portable.code, 0, portable.err)
        XCTAssertTrue(portable.out.contains("kernels portable"), portable.out)
        let auto = try runCommand(exe, args, environment: ["GOMALIZING_KERNELS": "auto"])
        XCTAssertEqual(auto.code, 0, auto.err)
        let best = KernelPath.avx2fma.isAvailable ? "avx2-fma" : "portable"
        XCTAssertTrue(auto.out.contains("kernels \(best)"), auto.out)
        if !KernelPath.avx2fma.isAvailable {
            let r = try runCommand(exe, args, environment: ["GOMALIZING_KERNELS": "avx2-fma"])
            XCTAssertEqual(r.code, 2)
            XCTAssertEqual(r.err, "error: environment: GOMALIZING_KERNELS=avx2-fma: this CPU lacks AVX2 with FMA\n")
        }
    }

    /// Every record of a run says which kernels set its rounding; records
    /// from before the field existed still read (as nil).
    func testProvenanceRecordsThePath() throws {
        let p = Provenance.current(command: "train", threads: 1)
        XCTAssertEqual(p.kernels, KernelPath.active.rawValue)
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(p)) as! [String: Any]
        XCTAssertEqual(json["kernels"] as? String, KernelPath.active.rawValue)
        json["kernels"] = nil
        let old = try JSONDecoder().decode(Provenance.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(old.kernels)
        XCTAssertEqual(old.cpu, p.cpu)
    }

    /// The rows of a padded copy (all sites, L a multiple of 4) are taken, and
    /// agree with the neighbour table: the C kernel with the lattice side and
    /// without it (side 0: the table) differ in rounding only, since the taps
    /// of a box row then share their broadcasts in another order of sums.
    func testRowsOfAPaddedCopyAreTaken() throws {
        try requireAVX2()
        for (L, d, K) in [(8, 2, 3), (12, 2, 3), (12, 2, 5), (4, 3, 3)] {
            let c = conv(L: L, d: d, cin: 8, cout: 8, K: K)
            let V = c.stencil.volume, n = 2, taps = c.stencil.tapCount
            let W = randomArray(c.weightCount, seed: 61).map { Float($0) }
            let bias = randomArray(8, seed: 62).map { Float($0) }
            let x = randomArray(n * V * 8, seed: 63, scale: 2).map { Float($0) }
            let tapList = (0..<taps).map { Int32($0) }
            func run(side: Int) -> [Float] {
                var y = [Float](repeating: 0, count: n * V * 8)
                let done = c.stencil.neighbour.withUnsafeBufferPointer { nb in
                    gf_conv_apply_f32(x, 8, &y, 8, W, bias, 0, nb.baseAddress!, taps, n, V, side, nil, V,
                                      tapList, taps, 1, 0.01, nil)
                }
                XCTAssertEqual(done, 1)
                return y
            }
            let rows = run(side: L), table = run(side: 0)
            XCTAssertNotEqual(rows, table, "L=\(L) K=\(K): the rows path was not taken")
            let scale = Double(table.map(abs).max()!)
            let worst = zip(rows, table).map { abs(Double($0) - Double($1)) }.max()!
            XCTAssertLessThan(worst, 1e-5 * scale, "L=\(L) K=\(K)")
        }
    }
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

// Finite-difference checks of a whole flow's passes, shared by every model
// family's tests (affine, cross, Z2, Fourier layer, splines, site maps, shears),
// and the CI-sized flow + MH against HMC check they share.

/// Runs the flow forward on `z` (n configurations): (phi, logJ).
func flowForward<T>(_ flow: Flow<T>, _ z: [T], n: Int) -> (phi: [T], logJ: [T]) {
    let V = flow.lattice.volume
    let tape = FlowTape<T>(architecture: flow.architecture, capacity: n)
    tape.input.update(from: z, count: n * V)
    flow.forward(tape: tape, n: n)
    return (Array(UnsafeBufferPointer(start: tape.output, count: n * V)), Array(UnsafeBufferPointer(start: tape.logJ, count: n)))
}

/// log q(phi) of one configuration through the inverse flow, unit normal prior.
func flowLogDensity(_ flow: Flow<Double>, at phi: [Double]) -> Double {
    let V = flow.lattice.volume
    let tape = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
    tape.output.update(from: phi, count: V)
    flow.inverse(tape: tape, n: 1)
    var s = -0.5 * Double(V) * log(2 * Double.pi)
    for i in 0..<V { s -= 0.5 * tape.input[i] * tape.input[i] }
    return s - tape.logJ[0]
}

/// Every `max(1, count / samples)`-th index below `count`: a spread over every tensor.
func spreadIndices(_ count: Int, samples: Int) -> [Int] {
    Array(stride(from: 0, to: count, by: max(1, count / samples)))
}

/// The flow's pullback against central differences (h = 1e-6) of
/// sum r phi + sum c logJ at z (n = 2 configurations, c = [0.7, -1.3]): in the
/// parameters `indices` and in every `zStride`-th entry of z. The pullback
/// that training uses (no dz) must give the same parameter gradient. The
/// pullback's tape holds `spare` configurations more than used (offsets must
/// follow n, not the capacity). Returns the analytic parameter gradient for further checks.
@discardableResult
func assertFlowPullbackMatchesFiniteDifferences(_ flow: Flow<Double>, z: [Double], r: [Double], parameters indices: [Int],
                                                zStride: Int = 1, tolerance: Double = 1e-5, spare: Int = 0, _ what: String,
                                                file: StaticString = #filePath, line: UInt = #line) -> [Double] {
    let n = 2, V = flow.lattice.volume, P = flow.parameters.count, h = 1e-6
    let c: [Double] = [0.7, -1.3]
    func objective(_ z: [Double]) -> Double {
        let (phi, logJ) = flowForward(flow, z, n: n)
        return zip(phi, r).map(*).reduce(0, +) + zip(logJ, c).map(*).reduce(0, +)
    }
    let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n + spare)
    tape.input.update(from: z, count: n * V)
    flow.forward(tape: tape, n: n)
    var grads = [Double](repeating: 0, count: P), dZ = [Double](repeating: 0, count: n * V)
    flow.pullback(tape: tape, n: n, dPhi: r, dLogJ: c, grads: &grads, dZ: &dZ)
    var trainingGrads = [Double](repeating: 0, count: P)
    flow.pullback(tape: tape, n: n, dPhi: r, dLogJ: c, grads: &trainingGrads)
    XCTAssertEqual(trainingGrads, grads, "the pullback without dz: " + what, file: file, line: line)
    var analytic: [Double] = [], numeric: [Double] = []
    for i in indices {
        let keep = flow.parameters[i]
        flow.parameters[i] = keep + h
        let lp = objective(z)
        flow.parameters[i] = keep - h
        let lm = objective(z)
        flow.parameters[i] = keep
        analytic.append(grads[i])
        numeric.append((lp - lm) / (2 * h))
    }
    assertGradientsMatch(analytic: analytic, numeric: numeric, tolerance: tolerance, floor: 1e-4, "parameters " + what,
                         file: file, line: line)
    var zAna: [Double] = [], zNum: [Double] = []
    for i in stride(from: 0, to: n * V, by: zStride) {
        var zp = z, zm = z
        zp[i] += h
        zm[i] -= h
        zNum.append((objective(zp) - objective(zm)) / (2 * h))
        zAna.append(dZ[i])
    }
    assertGradientsMatch(analytic: zAna, numeric: zNum, tolerance: tolerance, floor: 1e-4, "dz " + what, file: file, line: line)
    return grads
}

/// d log q / d phi (the path gradient's input, from `densityGradient`) at
/// phi = flow(z) against central differences of `flowLogDensity`, at every
/// `siteStride`-th site of each of the n configurations. Returns the analytic values checked.
@discardableResult
func assertDensityGradientMatchesFiniteDifferences(_ flow: Flow<Double>, z: [Double], n: Int, siteStride: Int = 1, _ what: String,
                                                   file: StaticString = #filePath, line: UInt = #line) -> [Double] {
    let V = flow.lattice.volume
    let (phi, _) = flowForward(flow, z, n: n)
    let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n)
    tape.input.update(from: z, count: n * V)
    flow.forward(tape: tape, n: n)
    var g = [Double](repeating: 0, count: n * V)
    flow.densityGradient(tape: tape, n: n, dLogQ0: z.map { -$0 }, into: &g)
    var analytic: [Double] = [], numeric: [Double] = []
    for b in 0..<n {
        let one = Array(phi[(b * V)..<((b + 1) * V)])
        for v in stride(from: 0, to: V, by: siteStride) {
            var p = one, m = one
            p[v] += 1e-6
            m[v] -= 1e-6
            numeric.append((flowLogDensity(flow, at: p) - flowLogDensity(flow, at: m)) / 2e-6)
            analytic.append(g[b * V + v])
        }
    }
    assertGradientsMatch(analytic: analytic, numeric: numeric, tolerance: 1e-5, floor: 1e-4, "d log q " + what, file: file, line: line)
    return analytic
}

/// The chain is exact: flow + MH with `flow` against HMC of `config`'s theory
/// (40 000 steps each, HMC after 500 trajectories of burn-in), chi_2 and the
/// Ising energy within 3 combined sigma, each measured to 5%, and the chain
/// accepting more than 30%. The CI-sized version of scripts/flow_vs_hmc.sh,
/// shared by the model families' tests.
func assertFlowAndHMCAgree(_ flow: Flow<Float>, config c: Config, file: StaticString = #filePath, line: UInt = #line) {
    let sampler = FlowSampler(flow: flow, target: c.target, batchSize: 256, seed: 9, threads: 2)
    let flowM = measureChain(sampler, steps: 40_000)
    var hmc = HMC(action: c.action, stepSize: 0.1, steps: 10, seed: 13)
    for _ in 0..<500 { hmc.trajectory() }
    var hmcM = Measurements(lattice: c.lattice)
    for _ in 0..<40_000 {
        hmc.trajectory()
        hmcM.add(hmc.phi)
    }
    let f = Observables(flowM), h = Observables(hmcM)
    for (name, a, b) in [("chi_2", f.susceptibility, h.susceptibility), ("E", f.isingEnergy, h.isingEnergy)] {
        let sigma = (a.error * a.error + b.error * b.error).squareRoot()
        XCTAssertLessThan(abs(a.value - b.value), 3 * sigma, "\(name): flow \(a.value) ± \(a.error) vs HMC \(b.value) ± \(b.error)",
                          file: file, line: line)
        XCTAssertLessThan(a.error, 0.05 * abs(a.value), "\(name) must be measured precisely enough to mean something",
                          file: file, line: line)
    }
    XCTAssertGreaterThan(sampler.chain.acceptanceRate, 30, file: file, line: line)
}

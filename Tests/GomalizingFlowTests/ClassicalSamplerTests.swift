import Foundation
import GomalizingFlow
import XCTest

/// Fourier-accelerated HMC and the Brower-Tamayo cluster update: the mass
/// matrix is the free kernel, the kinetic energy matches the dynamics, the
/// Wolff clusters sample the embedded Ising model with the right bond
/// probability, and both chains reproduce the free field and plain HMC.
final class ClassicalSamplerTests: XCTestCase {
    /// M^(1/2) M^(1/2) phi = 2 (-Laplacian + mu2) phi, which is the force of the
    /// free action with m2 = mu2, and M^-1 undoes it, on an odd and an even L.
    func testFourierMassIsTwiceTheFreeKernel() {
        for (L, d) in [(5, 2), (4, 3)] {
            let lattice = Lattice(L: L, d: d)
            let mass = FourierMass(lattice: lattice, mu2: 0.3)
            let phi = randomNormal(lattice.volume, seed: 7)
            var x = phi
            var scratch = phi
            x.withUnsafeMutableBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    mass.multiplyByRoot(x.baseAddress!, scratch: s.baseAddress!)
                    mass.multiplyByRoot(x.baseAddress!, scratch: s.baseAddress!)
                }
            }
            let kernel = Phi4Action(lattice: lattice, m2: 0.3, lam: 0).force(phi)
            for i in 0..<lattice.volume { XCTAssertEqual(x[i], kernel[i], accuracy: 1e-11, "L = \(L), d = \(d)") }
            x.withUnsafeMutableBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { mass.multiplyByInverse(x.baseAddress!, scratch: $0.baseAddress!) }
            }
            for i in 0..<lattice.volume { XCTAssertEqual(x[i], phi[i], accuracy: 1e-12) }
        }
    }

    /// Mean |dH| of an interacting theory over 200 trajectories from the same
    /// states, with and without the mass matrix.
    func meanAbsDeltaH(stepSize: Double, mass: FourierMass?) -> Double {
        let action = Phi4Action(lattice: Lattice(L: 6, d: 2), m2: -4, lam: 6.975)
        // The same trajectory length at every step size.
        var hmc = HMC(action: action, stepSize: stepSize, steps: Int((1.2 / stepSize).rounded()), seed: 5, mass: mass)
        var total = 0.0
        for _ in 0..<200 {
            hmc.trajectory()
            total += abs(hmc.lastDeltaH)
        }
        return total / 200
    }

    /// Leapfrog conserves H to second order: halving the step divides dH by
    /// about 4. A kinetic energy that does not belong to the dynamics (pi^2/2
    /// with momenta drawn from N(0, M), say) leaves dH of order one.
    func testTheKineticEnergyMatchesTheDynamics() {
        for mass in [nil, FourierMass(lattice: Lattice(L: 6, d: 2), mu2: 0.5)] {
            let coarse = meanAbsDeltaH(stepSize: 0.04, mass: mass)
            let fine = meanAbsDeltaH(stepSize: 0.02, mass: mass)
            XCTAssertLessThan(coarse, 0.1, "mass \(mass != nil)")
            XCTAssertEqual(coarse / fine, 4, accuracy: 1, "mass \(mass != nil): \(coarse) / \(fine)")
        }
    }

    /// <exp(-dH)> = 1 for an exact HMC (Creutz), checked where the acceptance is
    /// about 70%, so that exp(-dH) varies.
    func testFourierHMCSatisfiesTheCreutzIdentity() {
        let action = Phi4Action(lattice: Lattice(L: 6, d: 2), m2: -4, lam: 6.975)
        var hmc = HMC(action: action, stepSize: 0.45, steps: 3, seed: 9, mass: FourierMass(lattice: action.lattice, mu2: 0.5))
        for _ in 0..<200 { hmc.trajectory() }
        var values: [Double] = []
        for _ in 0..<20_000 {
            hmc.trajectory()
            values.append(Foundation.exp(-hmc.lastDeltaH))
        }
        XCTAssertLessThan(hmc.acceptanceRate, 85)
        XCTAssertGreaterThan(hmc.acceptanceRate, 50)
        let estimate = Jackknife.estimate([values], blockSize: 50) { $0[0] }
        XCTAssertLessThan(abs(estimate.value - 1), 3 * estimate.error, "<exp(-dH)> = \(estimate.value) ± \(estimate.error)")
    }

    /// Fourier-accelerated HMC with mu2 far from m2, a jittered step and about 75%
    /// acceptance gives the exact free propagator.
    func testFourierHMCReproducesTheFreePropagator() {
        let lattice = Lattice(L: 4, d: 2)
        var hmc = HMC(action: Phi4Action(lattice: lattice, m2: 0.5, lam: 0), stepSize: 0.6, steps: 3, seed: 11,
                      mass: FourierMass(lattice: lattice, mu2: 2))
        hmc.stepJitter = 0.3
        let observables = measured(&hmc, on: lattice, burnIn: 200, steps: 40_000)
        XCTAssertLessThan(hmc.acceptanceRate, 90)
        XCTAssertGreaterThan(hmc.acceptanceRate, 60)
        assertMatchesFreeField(observables, lattice: lattice, m2: 0.5, "Fourier HMC")
    }

    /// Clusters of a Gaussian field keep it Gaussian: HMC + Wolff gives the exact free propagator.
    func testClusterHMCReproducesTheFreePropagator() {
        let lattice = Lattice(L: 4, d: 2)
        let hmc = HMC(action: Phi4Action(lattice: lattice, m2: 0.5, lam: 0), stepSize: 0.15, steps: 8, seed: 12)
        var sampler = ClusterHMC(hmc: hmc, clusters: 2, seed: 13)
        let observables = measured(&sampler, on: lattice, burnIn: 200, steps: 20_000)
        XCTAssertGreaterThan(sampler.meanClusterFraction, 0.05)
        assertMatchesFreeField(observables, lattice: lattice, m2: 0.5, "HMC + clusters")
    }

    /// With the magnitudes fixed, Wolff clusters alone visit the 2^V sign patterns
    /// with the probabilities exp(-S) gives them, enumerated exactly on a 3 x 3
    /// lattice (and on 2 x 2, where each bond appears twice in the action). The
    /// same test rejects a bond probability with the coupling halved or doubled
    /// (1 - exp(-2 phi phi), 1 - exp(-8 phi phi)): their distributions lie at
    /// least 4 times the tolerance away.
    func testWolffClustersSampleTheEmbeddedIsingModel() {
        for L in [2, 3] {
            let lattice = Lattice(L: L, d: 2)
            let V = lattice.volume
            let magnitudes = randomNormal(V, seed: UInt64(20 + L)).map { 0.15 + 0.3 * abs($0) }
            func pattern(_ phi: [Double]) -> Int { (0..<V).reduce(0) { $0 | (phi[$1] < 0 ? 1 << $1 : 0) } }
            func field(_ s: Int) -> [Double] { (0..<V).map { s & (1 << $0) != 0 ? -magnitudes[$0] : magnitudes[$0] } }
            func exact(coupling: Double) -> [Double] {
                // Only the hopping term depends on the signs; scaling it scales the Ising couplings.
                let free = Phi4Action(lattice: lattice, m2: 0, lam: 0)
                let hop = (0..<(1 << V)).map { s -> Double in
                    let phi = field(s)
                    return free.action(phi) - 2 * Double(lattice.d) * phi.reduce(0) { $0 + $1 * $1 }
                }
                let w = hop.map { Foundation.exp(-coupling * ($0 - hop.min()!)) }
                let z = w.reduce(0, +)
                return w.map { $0 / z }
            }
            var ising = EmbeddedIsing(lattice: lattice)
            var rng = Xoshiro256(seed: 31)
            var phi = magnitudes
            var counts = [Double](repeating: 0, count: 1 << V)
            let draws = 400_000
            for _ in 0..<draws {
                for _ in 0..<3 { _ = ising.flipCluster(&phi, from: Int(rng.next() % UInt64(V)), rng: &rng) }
                counts[pattern(phi)] += 1
            }
            XCTAssertEqual(zip(phi, magnitudes).map { abs($0) - $1 }.map(abs).max()!, 0, "the magnitudes are untouched")
            func distance(_ p: [Double]) -> Double { 0.5 * zip(counts, p).reduce(0) { $0 + abs($1.0 / Double(draws) - $1.1) } }
            let tolerance = 0.035
            XCTAssertLessThan(distance(exact(coupling: 1)), tolerance, "L = \(L)")
            XCTAssertGreaterThan(distance(exact(coupling: 0.5)), 4 * tolerance, "L = \(L)")
            XCTAssertGreaterThan(distance(exact(coupling: 2)), 4 * tolerance, "L = \(L)")
        }
    }

    /// The bond probability: 1 - exp(-4 a b) for equal signs, 0 otherwise.
    func testBondProbability() {
        XCTAssertEqual(EmbeddedIsing.bondProbability(0.5, 0.7), 1 - Foundation.exp(-1.4), accuracy: 1e-15)
        XCTAssertEqual(EmbeddedIsing.bondProbability(-0.5, -0.7), 1 - Foundation.exp(-1.4), accuracy: 1e-15)
        XCTAssertEqual(EmbeddedIsing.bondProbability(0.5, -0.7), 0)
        XCTAssertEqual(EmbeddedIsing.bondProbability(0, 3), 0)
        XCTAssertEqual(EmbeddedIsing.bondProbability(1e-9, 1e-9), 4e-18, accuracy: 1e-30)
    }

    /// At E1 (L = 6, m2 = -4, lam = 6.975) Fourier-accelerated HMC and HMC with
    /// clusters agree with plain HMC within 3 combined sigma on chi_2, E, <|M|>
    /// and the pole mass (the 2-sigma comparison at E1-E3 with long chains is
    /// scripts/classical_validation.sh).
    func testAcceleratedChainsAgreeWithHMCAtE1() {
        let action = Phi4Action(lattice: Lattice(L: 6, d: 2), m2: -4, lam: 6.975)
        var plain = HMC(action: action, stepSize: 0.1, steps: 10, seed: 41)
        var fourier = HMC(action: action, stepSize: 0.2, steps: 8, seed: 42, mass: FourierMass(lattice: action.lattice, mu2: 0.5))
        var cluster = ClusterHMC(hmc: HMC(action: action, stepSize: 0.1, steps: 10, seed: 43), clusters: 1, seed: 44)
        let reference = measured(&plain, on: action.lattice, burnIn: 500, steps: 40_000)
        for (name, observables) in [("Fourier HMC", measured(&fourier, on: action.lattice, burnIn: 500, steps: 40_000)),
                                    ("HMC + clusters", measured(&cluster, on: action.lattice, burnIn: 500, steps: 40_000))] {
            for (what, a, b) in [("chi_2", observables.susceptibility, reference.susceptibility),
                                 ("E", observables.isingEnergy, reference.isingEnergy),
                                 ("<|M|>", observables.absMagnetization, reference.absMagnetization),
                                 ("pole mass", observables.poleMass, reference.poleMass)] {
                let sigma = (a.error * a.error + b.error * b.error).squareRoot()
                XCTAssertLessThan(abs(a.value - b.value), 3 * sigma, "\(name) \(what): \(a.value) ± \(a.error) vs HMC \(b.value) ± \(b.error)")
            }
        }
    }

    /// In a 2D broken phase (L = 8, m2 = -4, lam = 2.5) plain HMC stays in one
    /// vacuum for 5000 trajectories; with clusters the sign of M changes often
    /// and <M> is consistent with 0.
    func testClustersTunnelWhereHMCDoesNot() {
        let action = Phi4Action(lattice: Lattice(L: 8, d: 2), m2: -4, lam: 2.5)
        var plain = HMC(action: action, stepSize: 0.1, steps: 10, seed: 51)
        var cluster = ClusterHMC(hmc: HMC(action: action, stepSize: 0.1, steps: 10, seed: 52), clusters: 1, seed: 53)
        func signChanges<S: MarkovChainSampler>(_ s: inout S) -> (changes: Int, magnetisations: [Double]) {
            for _ in 0..<500 { _ = s.update() }
            var changes = 0, last = 0.0, m: [Double] = []
            for _ in 0..<5000 {
                _ = s.update()
                let M = s.phi.reduce(0, +) / Double(s.phi.count)
                if M * last < 0 { changes += 1 }
                last = M
                m.append(M)
            }
            return (changes, m)
        }
        let (plainChanges, plainM) = signChanges(&plain)
        let (clusterChanges, clusterM) = signChanges(&cluster)
        XCTAssertEqual(plainChanges, 0)
        XCTAssertGreaterThan(abs(plainM.reduce(0, +) / 5000), 0.5, "HMC's chain sits in one vacuum")
        XCTAssertGreaterThan(clusterChanges, 500)
        let estimate = Jackknife.estimate([clusterM], blockSize: 50) { $0[0] }
        XCTAssertLessThan(abs(estimate.value), 3 * estimate.error, "<M> = \(estimate.value) ± \(estimate.error)")
    }
}

/// Observables of `steps` updates after `burnIn` more.
private func measured<S: MarkovChainSampler>(_ sampler: inout S, on lattice: Lattice, burnIn: Int, steps: Int) -> Observables {
    for _ in 0..<burnIn { _ = sampler.update() }
    var m = Measurements(lattice: lattice)
    for _ in 0..<steps {
        _ = sampler.update()
        m.add(sampler.phi)
    }
    return Observables(m)
}

import Foundation
import GomalizingFlow
import GomalizingRun
import XCTest

/// The exactness checks every coupling family must pass, run over
/// `ModelSpec.Coupling.families` (the families a config can name): a new
/// `CouplingMap` conformer is tested here without a line of its own. Each
/// family runs in several shapes (full and cross convolutions, d = 2 and 3,
/// the Fourier layer, and the Z2 symmetrisation where the map has one).
final class CouplingFamilyConformanceTests: XCTestCase {
    /// The shapes each family is checked in.
    func specs(_ family: ModelSpec.Coupling) -> [ModelSpec] {
        var specs = [
            ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 3, coupling: family),
            ModelSpec(L: 5, d: 2, nLayers: 3, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 4,
                      fourierScaling: true, coupling: family),
            ModelSpec(L: 4, d: 3, nLayers: 2, hiddenSizes: [3], kernelSize: 3, convAxes: 2, seed: 5, coupling: family),
        ]
        if family.map.z2Parities != nil {
            specs.append(ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, seed: 6, z2Equivariant: true,
                                   coupling: family))
        }
        return specs
    }

    /// A flow of `spec` whose weights are scaled (by default doubled: a clearly
    /// non-trivial map, still where central differences measure), with random
    /// Fourier log-scales.
    func makeFlow(_ spec: ModelSpec, seed: UInt64 = 1, scale: Double = 2) -> Flow<Double> {
        let flow = Flow<Double>(spec: spec)
        flow.parameters = flow.parameters.map { scale * $0 }
        if let f = flow.architecture.fourier {
            let mu = randomArray(f.orbits.count, seed: seed, scale: 0.5)
            for o in 0..<f.orbits.count { flow.parameters[f.offset + o] = mu[o] }
        }
        return flow
    }

    func label(_ spec: ModelSpec) -> String {
        "\(spec.coupling.summary), L = \(spec.L), d = \(spec.d), conv \(spec.convName)"
            + (spec.fourierScaling ? ", Fourier layer" : "") + (spec.z2Equivariant ? ", Z2" : "")
    }

    /// The list the checks run over is the config's: each family's `type` parses
    /// to the family with its defaults, and names are distinct.
    func testTheFamiliesAreTheConfigsFamilies() throws {
        let families = ModelSpec.Coupling.families
        XCTAssertEqual(Set(families.map(\.typeName)).count, families.count, "distinct names")
        XCTAssertTrue(families.contains(.affine), "GomalizingFlow.jl's couplings")
        let base = tinyConfigText(epochs: 1, iterations: 3, batch: 8, hidden: [4]).replacingOccurrences(of: "use_final_tanh = true\n", with: "")
        for family in families {
            let text = base.replacingOccurrences(of: "[model]\n", with: "[model]\ntype = \"\(family.typeName)\"\n")
            XCTAssertEqual(try Config.parse(text, file: "f.toml", name: "f").model.coupling, family, family.summary)
            let spec = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, coupling: family)
            XCTAssertEqual(FlowArchitecture(spec: spec).couplings[0].net.last!.cout, family.map.parametersPerSite)
        }
        XCTAssertThrowsError(try Config.parse(base.replacingOccurrences(of: "[model]\n", with: "[model]\ntype = \"nvp\"\n"),
                                              file: "f.toml", name: "f"))
    }

    /// log|det J| equals the brute-force Jacobian's; inverse(forward(z)) = z
    /// with the same log-det.
    func testLogDetIsTheJacobiansAndTheInverseUndoesForward() {
        for family in ModelSpec.Coupling.families {
            for spec in specs(family) {
                let flow = makeFlow(spec)
                let V = flow.lattice.volume
                let z = randomNormal(V, seed: 11).map { 1.5 * $0 }
                let (phi, logJ) = flowForward(flow, z, n: 1)
                let brute = bruteForceLogDet(flow, at: z)
                XCTAssertGreaterThan(abs(brute), 0.5, "a non-trivial Jacobian: " + label(spec))
                // Relative: the difference Jacobian's error grows with the volume and, for a spline, at its knots.
                XCTAssertEqual(logJ[0], brute, accuracy: 1e-6 * max(1, abs(brute)), label(spec))
                let back = FlowTape<Double>(architecture: flow.architecture, capacity: 1)
                back.output.update(from: phi, count: V)
                flow.inverse(tape: back, n: 1)
                for i in 0..<V { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-10, label(spec)) }
                XCTAssertEqual(back.logJ[0], logJ[0], accuracy: 1e-9, label(spec))
            }
        }
    }

    /// The pullback (parameters and z) and the density gradient d log q / d phi
    /// against central differences. The tolerance allows for a spline's kinks:
    /// its second derivative jumps at the knots, which a difference step may straddle.
    func testBothGradientsMatchFiniteDifferences() {
        for family in ModelSpec.Coupling.families {
            for spec in specs(family) {
                let flow = makeFlow(spec, seed: 2)
                let V = flow.lattice.volume
                let indices = spreadIndices(flow.parameters.count, samples: 120)
                let grads = assertFlowPullbackMatchesFiniteDifferences(
                    flow, z: randomNormal(2 * V, seed: 21), r: randomArray(2 * V, seed: 22), parameters: indices, tolerance: 1e-4, spare: 1, label(spec))
                XCTAssertGreaterThan(indices.map { abs(grads[$0]) }.max()!, 1e-2, "the check must be able to fail: " + label(spec))
                assertDensityGradientMatchesFiniteDifferences(flow, z: randomNormal(2 * V, seed: 31), n: 2, label(spec))
            }
        }
    }

    /// Translations that keep the checkerboard commute with the flow (periodic
    /// convolutions, a momentum-diagonal Fourier layer); a Z2-equivariant flow
    /// is odd. Only even L has such translations: an odd L breaks the
    /// checkerboard where the lattice wraps.
    func testSymmetries() {
        for family in ModelSpec.Coupling.families {
            for spec in specs(family) where spec.L % 2 == 0 {
                let flow = makeFlow(spec, seed: 4)
                let lattice = flow.lattice, V = lattice.volume
                let z = randomNormal(V, seed: 41)
                let (phi, logJ) = flowForward(flow, z, n: 1)
                // One step along the first two axes keeps every site's parity.
                var offset = [Int](repeating: 0, count: spec.d)
                offset[0] = 1
                offset[1] = 1
                var zShifted = z
                for v in 0..<V { zShifted[lattice.shifted(v, by: offset)] = z[v] }
                let (phiShifted, logJShifted) = flowForward(flow, zShifted, n: 1)
                for v in 0..<V { XCTAssertEqual(phiShifted[lattice.shifted(v, by: offset)], phi[v], accuracy: 1e-10, label(spec)) }
                XCTAssertEqual(logJShifted[0], logJ[0], accuracy: 1e-9, label(spec))
                if spec.z2Equivariant {
                    let (phiMinus, logJMinus) = flowForward(flow, z.map { -$0 }, n: 1)
                    for v in 0..<V { XCTAssertEqual(phiMinus[v], -phi[v], accuracy: 1e-12, label(spec)) }
                    XCTAssertEqual(logJMinus[0], logJ[0], accuracy: 1e-10, label(spec))
                }
            }
        }
    }

    /// The Float passes (the specialised code training and sampling run, the
    /// Winograd sampling pass included) agree with Double to Float's rounding
    /// as the couplings amplify it, and invert themselves; a model file round
    /// trip gives back the spec and the parameters, and another family's flow
    /// refuses the file.
    func testFloatPassesAndModelFileRoundTrip() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for family in ModelSpec.Coupling.families {
            for spec in specs(family) {
                let double = makeFlow(spec, seed: 5, scale: 1)
                let arch = double.architecture, V = arch.lattice.volume, n = 3
                let flow = Flow<Float>(architecture: arch, parameters: double.parameters.map(Float.init))
                let z = randomNormal(n * V, seed: 51)
                let (phiD, logJD) = flowForward(double, z, n: n)
                for sampling in [false, true] {
                    let tape = FlowTape<Float>(architecture: arch, capacity: n)
                    tape.input.update(from: z.map(Float.init), count: n * V)
                    flow.forward(tape: tape, n: n, forPullback: !sampling)
                    var worst = 0.0
                    for i in 0..<(n * V) { worst = max(worst, abs(Double(tape.output[i]) - phiD[i])) }
                    XCTAssertLessThan(worst, 1e-3, label(spec))
                    for b in 0..<n { XCTAssertEqual(Double(tape.logJ[b]), logJD[b], accuracy: 1e-3 * max(1, abs(logJD[b])), label(spec)) }
                    let back = FlowTape<Float>(architecture: arch, capacity: n)
                    back.output.update(from: tape.output, count: n * V)
                    flow.inverse(tape: back, n: n)
                    var roundTrip = 0.0
                    for i in 0..<(n * V) { roundTrip = max(roundTrip, abs(Double(back.input[i]) - z[i])) }
                    XCTAssertLessThan(roundTrip, 1e-4, label(spec))
                }
                let url = dir.appendingPathComponent("m.safetensors")
                try ModelFile.save(flow, to: url)
                let (_, metadata) = try SafeTensors.load(path: url.path)
                let stored = try JSONDecoder().decode(ModelSpec.self, from: Data(metadata["model_spec"]!.utf8))
                XCTAssertEqual(stored, spec, label(spec))
                let state = try ModelFile.load(FlowArchitecture(spec: stored), from: url.path)
                XCTAssertEqual(state.parameters, flow.parameters, label(spec))
                // Another family's flow refuses the file in one line naming both.
                for other in ModelSpec.Coupling.families where other != family {
                    var otherSpec = spec
                    otherSpec.coupling = other
                    otherSpec.z2Equivariant = spec.z2Equivariant && other.map.z2Parities != nil
                    XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: otherSpec), from: url.path)) { error in
                        XCTAssertTrue("\(error)".contains(spec.coupling.summary) && !"\(error)".contains("\n"), "\(error)")
                    }
                }
            }
        }
    }
}

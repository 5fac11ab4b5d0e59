import XCTest
import GomalizingFlow
import GomalizingRun

/// `[model] identity_init`: every coupling's last net layer starts at zero, so
/// the flow starts as the identity (after its Fourier layer), and only those
/// layers differ from the seeded initialisation.
final class IdentityInitTests: XCTestCase {
    func spec(_ coupling: ModelSpec.Coupling = .affine, hidden: [Int], identity: Bool = true) -> ModelSpec {
        ModelSpec(L: 4, d: 2, nLayers: 3, hiddenSizes: hidden, kernelSize: 3, crossKernel: true,
                  useFinalTanh: coupling == .affine, fourierScaling: true, coupling: coupling,
                  siteMapFeatures: 2, shearFeatures: 2, identityInit: identity)
    }

    /// phi = z and log J = 0 at the start, for every family, with and without hidden layers.
    func testTheFlowStartsAsTheIdentity() {
        for coupling in ModelSpec.Coupling.families {
            for hidden in [[], [4]] {
                let flow = Flow<Double>(spec: spec(coupling, hidden: hidden))
                let V = flow.lattice.volume, n = 3
                let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n)
                let z = randomNormal(n * V, seed: 5)
                tape.input.update(from: z, count: n * V)
                flow.forward(tape: tape, n: n)
                let what = "\(coupling.typeName) \(hidden)"
                // The Fourier layer at mu = 0 is a transform and its inverse: equal up to rounding.
                for k in 0..<(n * V) { XCTAssertEqual(tape.output[k], z[k], accuracy: 1e-12, what) }
                for b in 0..<n { XCTAssertEqual(tape.logJ[b], 0, accuracy: 1e-12, what) }
                // The seeded flow is not the identity (the test would pass without the key otherwise).
                let seeded = Flow<Double>(spec: spec(coupling, hidden: hidden, identity: false))
                seeded.forward(tape: tape, n: n)
                XCTAssertGreaterThan((0..<(n * V)).map { abs(tape.output[$0] - z[$0]) }.max()!, 1e-3, what)
            }
        }
    }

    /// The last net layers are zero, every other value is the seeded one.
    func testOnlyTheLastLayersDiffer() {
        for hidden in [[], [4, 4]] {
            let arch = FlowArchitecture(spec: spec(hidden: hidden))
            let zeroed = arch.initialParameters(as: Double.self)
            let seeded = FlowArchitecture(spec: spec(hidden: hidden, identity: false)).initialParameters(as: Double.self)
            var last = Set<Int>()
            for t in arch.tensors where t.name.contains(".net.\(hidden.count).conv.") {
                last.formUnion(t.offset..<(t.offset + t.count))
            }
            XCTAssertEqual(last.count, 3 * (5 * (hidden.last ?? 1) * 2 + 2), "\(hidden)")
            for k in 0..<arch.parameterCount {
                XCTAssertEqual(zeroed[k], last.contains(k) ? 0 : seeded[k], "\(hidden) parameter \(k)")
            }
        }
    }

    /// The zero layers train: the loss gradient reaches them.
    func testTheZeroLayersGetGradients() {
        let flow = Flow<Double>(spec: spec(hidden: []))
        let arch = flow.architecture
        // The gradient of sum phi^4 - log J: non-zero through s and t at phi = z.
        let grads = lossGradient(flow) { 4 * pow($0, 3) }
        for i in 0..<3 {
            let t = arch.tensors.first { $0.name == "layers.\(i).net.0.conv.0.weight" }!
            XCTAssertGreaterThan(grads[t.offset..<(t.offset + t.count)].map(abs).max()!, 1e-6, "coupling \(i)")
        }
    }

    /// The key in configs, run definitions and model files.
    func testTheKeyIsParsedRecordedAndStored() throws {
        let text = tinyConfigText()
        XCTAssertFalse(try Config.parse(text, file: "ii.toml", name: "ii").model.identityInit)
        let on = try Config.parse(addingModelKeys("identity_init = true", to: text), file: "ii.toml", name: "ii")
        XCTAssertTrue(on.model.identityInit)
        assertConfigError(try Config.parse(addingModelKeys("identity_init = 1", to: text), file: "ii.toml", name: "ii"),
                          mentions: ["ii.toml", "identity_init", "true or false"])
        // With a batch norm after the zero layer the start would not stay the identity for a step.
        assertConfigError(try Config.parse(addingModelKeys("identity_init = true\nuse_bn = true", to: text), file: "ii.toml", name: "ii"),
                          mentions: ["ii.toml", "[model] identity_init", "use_bn = true"])
        // A run started without the key (or before it existed) is another run than one with it.
        var before = try Config.parse(text, file: "ii.toml", name: "ii").runDefinition
        before["[model] identity_init"] = nil
        XCTAssertEqual(Config.definitionDifferences(run: before, now: on.runDefinition),
                       ["[model] identity_init: false in the run, true now"])
        // Model files keep the spec's flag; files of models without it have no such entry.
        let encoded = String(decoding: try JSONEncoder().encode(on.model), as: UTF8.self)
        XCTAssertTrue(encoded.contains("\"identityInit\":true"), encoded)
        XCTAssertEqual(try JSONDecoder().decode(ModelSpec.self, from: Data(encoded.utf8)), on.model)
        let plain = String(decoding: try JSONEncoder().encode(spec(hidden: [], identity: false)), as: UTF8.self)
        XCTAssertFalse(plain.contains("identityInit"), plain)
    }
}

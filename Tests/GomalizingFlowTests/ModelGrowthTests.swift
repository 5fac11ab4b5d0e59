import XCTest
import GomalizingFlow
import GomalizingRun

/// Warm starts into a larger flow (`[training] grow_pretrained`, `ModelFile.grow`):
/// the grown flow is the file's map, its new weights can train, and every
/// refusal names both models.
final class ModelGrowthTests: XCTestCase {
    /// A small model's file, with every parameter moved off its initialisation
    /// (site maps, Fourier layer and shears included), and the file's flow.
    func smallModel(_ spec: ModelSpec, in dir: URL, name: String = "small") throws -> (URL, Flow<Double>) {
        let arch = FlowArchitecture(spec: spec)
        let p = zip(arch.initialParameters(as: Float.self), randomArray(arch.parameterCount, seed: 11, scale: 0.2))
            .map { $0 + Float($1) }
        let file = dir.appendingPathComponent(name + ".safetensors")
        try ModelFile.save(arch, parameters: p, buffers: [], to: file)
        return (file, Flow<Double>(architecture: arch, parameters: p.map(Double.init)))
    }

    func forward(_ flow: Flow<Double>, _ z: [Double], n: Int) -> (phi: [Double], logJ: [Double]) {
        let V = flow.lattice.volume
        let tape = FlowTape<Double>(architecture: flow.architecture, capacity: n)
        tape.input.update(from: z, count: n * V)
        flow.forward(tape: tape, n: n)
        return (Array(UnsafeBufferPointer(start: tape.output, count: n * V)), Array(UnsafeBufferPointer(start: tape.logJ, count: n)))
    }

    /// Wider hidden layers and more couplings, for both families, with the
    /// Fourier layer, site maps, shears and integrated even sites: the grown
    /// flow maps z to the same phi with the same log-det (to rounding), and
    /// its inverse is exact.
    func testGrownFlowIsTheFilesMap() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = [
            ModelSpec(L: 6, d: 2, nLayers: 2, hiddenSizes: [3, 2], kernelSize: 3, crossKernel: true, seed: 3,
                      fourierScaling: true, siteMapFeatures: 2, shearFeatures: 2),
            ModelSpec(L: 4, d: 2, nLayers: 3, hiddenSizes: [2], kernelSize: 3, seed: 4,
                      coupling: .spline(SplineCoupling(bins: 4, bound: 3))),
            ModelSpec(L: 8, d: 2, nLayers: 2, hiddenSizes: [4], kernelSize: 3, crossKernel: true, seed: 5,
                      fourierScaling: true, siteMapFeatures: 3, integrateEvenSites: true),
            ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 6, z2Equivariant: true),
            // Larger kernels (the last four cases; `kernels` below): a cross with longer arms (with the Fourier
            // layer, site maps and integrated even sites), a cross into a box, a larger box in 3-D, a 3-D cross.
            ModelSpec(L: 8, d: 2, nLayers: 2, hiddenSizes: [3], kernelSize: 3, crossKernel: true, seed: 7,
                      fourierScaling: true, siteMapFeatures: 2, integrateEvenSites: true),
            ModelSpec(L: 6, d: 2, nLayers: 2, hiddenSizes: [2, 2], kernelSize: 3, crossKernel: true, seed: 8),
            ModelSpec(L: 6, d: 3, nLayers: 2, hiddenSizes: [2], kernelSize: 3, seed: 9),
            ModelSpec(L: 6, d: 3, nLayers: 2, hiddenSizes: [2], kernelSize: 3, crossKernel: true, seed: 10),
        ]
        let kernels: [Int: (size: Int, cross: Bool)] = [4: (5, true), 5: (5, false), 6: (5, false), 7: (5, true)]
        for (k, spec) in small.enumerated() {
            let (file, flow) = try smallModel(spec, in: dir)
            var big = spec
            big.nLayers += 3
            big.hiddenSizes = spec.hiddenSizes.map { $0 + 3 }
            big.seed = 99
            if let kernel = kernels[k] {
                big.kernelSize = kernel.size
                big.crossKernel = kernel.cross
                big.convAxes = big.d
            }
            let arch = FlowArchitecture(spec: big)
            let state = try ModelFile.load(arch, from: file.path, growth: .allow)
            // A new coupling's inner layers have the seeded initialisation of the larger flow.
            let fresh: [Float] = arch.initialParameters()
            for t in arch.tensors where t.name.hasPrefix("layers.\(spec.nLayers + 1).net.0.") {
                XCTAssertEqual(state.parameters[t.offset..<(t.offset + t.count)], fresh[t.offset..<(t.offset + t.count)], t.name)
            }
            let grown = Flow<Double>(architecture: arch, parameters: state.parameters.map(Double.init))
            let V = flow.lattice.volume, n = 3
            let z = randomNormal(n * V, seed: UInt64(20 + k))
            let a = forward(flow, z, n: n), b = forward(grown, z, n: n)
            XCTAssertGreaterThan(a.logJ.map(abs).max()!, 0.1, "case \(k): the test needs a non-trivial map")
            for i in 0..<(n * V) { XCTAssertEqual(b.phi[i], a.phi[i], accuracy: 1e-12, "case \(k), value \(i)") }
            for j in 0..<n { XCTAssertEqual(b.logJ[j], a.logJ[j], accuracy: 1e-12, "case \(k), log-det \(j)") }
            let back = FlowTape<Double>(architecture: arch, capacity: n)
            back.output.update(from: b.phi, count: n * V)
            grown.inverse(tape: back, n: n)
            for i in 0..<(n * V) { XCTAssertEqual(back.input[i], z[i], accuracy: 1e-10, "case \(k), inverse \(i)") }
        }
    }

    /// Training can move the grown flow away from the file's map: the loss
    /// gradient reaches the zero weights of the new couplings' last layers and
    /// of the new channels' outputs.
    func testNewWeightsGetGradients() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [2], kernelSize: 3, crossKernel: true, seed: 3)
        let (file, _) = try smallModel(spec, in: dir)
        /// The grown flow's parameters and the gradient of a loss sum(phi^2 - logJ), not stationary at the file's map.
        func grownGradient(_ spec: ModelSpec) throws -> (parameters: [Float], grads: [Double]) {
            let arch = FlowArchitecture(spec: spec)
            let state = try ModelFile.load(arch, from: file.path, growth: .allow)
            let flow = Flow<Double>(architecture: arch, parameters: state.parameters.map(Double.init))
            return (state.parameters, lossGradient(flow) { 2 * $0 })
        }
        var big = spec
        big.nLayers = 4
        big.hiddenSizes = [4]
        let arch = FlowArchitecture(spec: big)
        let (parameters, grads) = try grownGradient(big)
        func gradient(_ name: String) -> [Double] {
            let t = arch.tensors.first { $0.name == name }!
            return Array(grads[t.offset..<(t.offset + t.count)])
        }
        for i in 2..<4 {
            XCTAssertGreaterThan(gradient("layers.\(i).net.1.conv.0.weight").map(abs).max()!, 1e-8, "new coupling \(i)")
        }
        // The old couplings' last layers read the new channels 2 and 3 through zero weights; those get gradients.
        let t = arch.tensors.first { $0.name == "layers.0.net.1.conv.0.weight" }!  // (cout 2, cin 4, taps 5)
        let w = parameters[t.offset..<(t.offset + t.count)]
        let g = gradient(t.name)
        let taps = 5, cin = 4, cout = 2
        var newInputs: [Double] = []
        for tap in 0..<taps { for ci in 2..<cin { for co in 0..<cout {
            let k = (tap * cin + ci) * cout + co  // internal layout [tap][cin][cout]
            XCTAssertEqual(w[t.offset + k], 0)
            newInputs.append(abs(g[k]))
        } } }
        XCTAssertGreaterThan(newInputs.max()!, 1e-8)
        // A larger kernel: the new taps (arms of length 2 of a cross) start at zero and get gradients.
        var wide = spec
        wide.kernelSize = 5
        let wideArch = FlowArchitecture(spec: wide)
        let (wideParameters, wideGrads) = try grownGradient(wide)
        let first = wideArch.tensors.first { $0.name == "layers.0.net.0.conv.0.weight" }!  // (cout 2, cin 1, taps 9)
        let offsets = ConvStencil.crossOffsets(d: 2, kernelSize: 5)
        var newTaps: [Double] = []
        for (tap, o) in offsets.enumerated() where o.map(abs).max()! == 2 {
            for co in 0..<2 {
                XCTAssertEqual(wideParameters[first.offset + tap * 2 + co], 0)  // internal layout [tap][cin 1][cout 2]
                newTaps.append(abs(wideGrads[first.offset + tap * 2 + co]))
            }
        }
        XCTAssertEqual(newTaps.count, 8)
        XCTAssertGreaterThan(newTaps.max()!, 1e-8)
    }

    /// Without the key a smaller file is refused with both sizes and the key
    /// to set; a larger file, another number of hidden layers or batch norms
    /// cannot be grown from, and say so.
    func testRefusalsNameBothModels() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [2], kernelSize: 3, crossKernel: true, seed: 3)
        let (file, _) = try smallModel(spec, in: dir)
        func refusal(_ change: (inout ModelSpec) -> Void, growth: ModelFile.Growth) -> String {
            var s = spec
            change(&s)
            do {
                _ = try ModelFile.load(FlowArchitecture(spec: s), from: file.path, growth: growth)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal({ $0.nLayers = 4 }, growth: .refuseNamingTheKey),
                       "\(file.path): model_spec: the file holds 2 layers with hidden [2]; this flow has 4 with hidden [2]; set [training] grow_pretrained = true to start the larger flow from it")
        // Outside a warm start (`sample`'s model, say) the key is not named.
        XCTAssertEqual(refusal({ $0.nLayers = 4 }, growth: .refuse),
                       "\(file.path): model_spec: the file holds 2 layers with hidden [2]; this flow has 4 with hidden [2]")
        XCTAssertTrue(refusal({ $0.nLayers = 3; $0.useBN = true }, growth: .refuseNamingTheKey).contains("batch norms"))
        XCTAssertTrue(refusal({ $0.hiddenSizes = [1] }, growth: .allow).contains("a warm start may add layers, widen hidden layers and enlarge the kernel, not remove"))
        // Kernels: the refusals name both; a box holds taps a cross lacks, and a smaller kernel lacks some of the file's.
        XCTAssertEqual(refusal({ $0.kernelSize = 5 }, growth: .refuseNamingTheKey),
                       "\(file.path): model_spec: the file holds 2 layers with hidden [2] and a cross kernel of size 3; this flow has 2 with hidden [2] and a cross kernel of size 5; set [training] grow_pretrained = true to start the larger flow from it")
        XCTAssertEqual(refusal({ $0.crossKernel = false }, growth: .refuse),
                       "\(file.path): model_spec: the file holds 2 layers with hidden [2] and a cross kernel of size 3; this flow has 2 with hidden [2] and a full kernel of size 3")
        XCTAssertTrue(refusal({ $0.kernelSize = 1 }, growth: .allow).contains("a cross kernel of size 3; this flow has 2 with hidden [2] and a cross kernel of size 1, which cannot start from it"))
        let (boxFile, _) = try smallModel(ModelSpec(L: 4, d: 2, nLayers: 2, hiddenSizes: [2], kernelSize: 3, seed: 3), in: dir, name: "box")
        var cross5 = spec
        cross5.kernelSize = 5
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: cross5), from: boxFile.path, growth: .allow)) {
            XCTAssertTrue("\($0)".contains("a full kernel of size 3; this flow has 2 with hidden [2] and a cross kernel of size 5, which cannot start from it"), "\($0)")
        }
        // A file whose conv weights contradict its own spec's kernel (a 3 x 3 box's 9 taps under a size-5 cross) is named.
        var liar = spec
        liar.kernelSize = 5
        let meta = ModelFile.metadata(of: FlowArchitecture(spec: liar))
        let boxTensors = try SafeTensors.load(path: boxFile.path).tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let liarFile = dir.appendingPathComponent("liar.safetensors")
        try SafeTensors.encode(boxTensors, metadata: meta).write(to: liarFile)
        var box5 = spec
        box5.crossKernel = false
        box5.kernelSize = 5
        XCTAssertThrowsError(try ModelFile.load(FlowArchitecture(spec: box5), from: liarFile.path, growth: .allow)) {
            XCTAssertEqual("\($0)", "\(liarFile.path): layers.0.net.0.conv.0.weight: shape [2, 1, 3, 3] does not match the file's own model_spec (kernel dimensions [9])")
        }
        // In 1-D a cross is the box of its size: the same model, no growth needed.
        let (line, _) = try smallModel(ModelSpec(L: 6, d: 1, nLayers: 2, hiddenSizes: [2], kernelSize: 3, crossKernel: true, seed: 3),
                                       in: dir, name: "line")
        XCTAssertNoThrow(try ModelFile.load(FlowArchitecture(spec: ModelSpec(L: 6, d: 1, nLayers: 2, hiddenSizes: [2], kernelSize: 3, seed: 3)),
                                            from: line.path))
        // A kernel change with a combinational convolution ("dCk", k < d) is another model: its first tensor is named.
        var axes = spec
        axes.crossKernel = false
        axes.convAxes = 1
        XCTAssertTrue(refusal({ $0 = axes }, growth: .allow).contains("layers.0.net.0.conv.0.weight"))
        XCTAssertTrue(refusal({ $0.hiddenSizes = [2, 2] }, growth: .allow).contains("this flow has 2 with hidden [2, 2], which cannot start from it"))
        XCTAssertTrue(refusal({ $0.nLayers = 1 }, growth: .allow).contains("cannot start from it"))
        XCTAssertTrue(refusal({ $0.nLayers = 3; $0.useBN = true }, growth: .allow).contains("batch norms"))
        // The same size loads with or without the key.
        XCTAssertEqual(refusal({ _ in }, growth: .allow), "no error")
    }

    /// The key in a config: a boolean, only with `pretrained`, recorded in the
    /// run's definition when set; a run grows from a smaller run's model and trains.
    func testConfigKeyAndTrainingFromAGrownModel() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        assertConfigError(try Config.parse(tinyConfigText(extra: "grow_pretrained = true"), file: "g.toml", name: "g"),
                          mentions: ["g.toml", "[training] grow_pretrained", "expected false without [training] pretrained"])
        assertConfigError(try Config.parse(tinyConfigText(extra: "pretrained = \"x\"\ngrow_pretrained = 1"), file: "g.toml", name: "g"),
                          mentions: ["g.toml", "[training] grow_pretrained"])
        func tiny(_ result: URL) throws -> Config {
            try testConfig(name: "tiny", result: result, L: 4, M2: -1, lam: 1, batch: 16, iterations: 20, epochs: 1,
                           lr: 0.001, layers: 2, hidden: [4], evalSamples: 64, seed: 7)
        }
        let small = try Trainer(config: tiny(dir))
        try small.train()
        var big = try tiny(dir.appendingPathComponent("big"))
        big.model.nLayers += 2
        big.model.hiddenSizes = big.model.hiddenSizes.map { 2 * $0 }
        big.training.pretrained = small.lastModelURL.path
        XCTAssertThrowsError(try Trainer(config: big)) { XCTAssertTrue("\($0)".contains("set [training] grow_pretrained = true"), "\($0)") }
        XCTAssertEqual(big.runDefinition["[training] grow_pretrained"], "false")
        big.training.growPretrained = true
        XCTAssertEqual(big.runDefinition["[training] grow_pretrained"], "true")
        // A checkpoint of before the key had none: it reads as false, and a run that grew is another run.
        var old = big.runDefinition
        old["[training] grow_pretrained"] = nil
        XCTAssertEqual(Config.definitionDifferences(run: old, now: big.runDefinition),
                       ["[training] grow_pretrained: false in the run, true now"])
        let t = try Trainer(config: big)
        try t.train()
        XCTAssertTrue(t.history.records[0].loss.isFinite)
    }
}

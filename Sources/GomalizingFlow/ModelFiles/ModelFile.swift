import Foundation
import Numerics

/// Saving and loading a flow as .safetensors: one named tensor per conv weight
/// and bias (weights in PyTorch's (cout, cin, K, ..., K) layout), batch-norm
/// scales, shifts and running statistics, and the model spec in the metadata
/// so a file says what it belongs to.
public enum ModelFile {
    /// A flow's Float32 parameters and buffers in the architecture's flat layout.
    public struct State: Equatable {
        /// Trainable parameters (`parameterCount` values).
        public var parameters: [Float]
        /// Batch-norm running statistics (`bufferCount` values, none without batch norms).
        public var buffers: [Float]
    }

    /// The named file tensors of flat parameter and buffer vectors, parameters first;
    /// conv weights go from [tap][cin][cout] to PyTorch's (cout, cin, K, ..., K).
    public static func tensors(of arch: FlowArchitecture, parameters p: [Float], buffers: [Float]) -> [(String, SafeTensors.Tensor)] {
        let params = arch.tensors.map { t in
            var values = [Float](repeating: 0, count: t.count)
            if let conv = t.conv {
                // internal [tap][ci][co] -> file [co][ci][tap]
                let taps = conv.stencil.tapCount, cin = conv.cin, cout = conv.cout
                for tap in 0..<taps { for ci in 0..<cin { for co in 0..<cout {
                    values[(co * cin + ci) * taps + tap] = p[t.offset + (tap * cin + ci) * cout + co]
                } } }
            } else {
                for i in 0..<t.count { values[i] = p[t.offset + i] }
            }
            return (t.name, SafeTensors.Tensor(shape: t.shape, values: values))
        }
        let bufs = arch.bufferTensors.map { t in
            (t.name, SafeTensors.Tensor(shape: t.shape, values: Array(buffers[t.offset..<(t.offset + t.count)])))
        }
        return params + bufs
    }

    /// `extra` plus "format": "gomalizing-flow" and "model_spec", the spec as JSON
    /// with sorted keys (`extra` wins a clash).
    public static func metadata(of arch: FlowArchitecture, extra: [String: String] = [:]) -> [String: String] {
        // Sorted keys: the same model gives the same bytes on every run.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let spec = String(data: try! encoder.encode(arch.spec), encoding: .utf8)!
        return extra.merging(["format": "gomalizing-flow", "model_spec": spec]) { a, _ in a }
    }

    /// Writes a model file atomically; `extra` adds metadata such as the epoch.
    /// - Throws: `InputError` naming `url` if it cannot be written.
    public static func save(_ arch: FlowArchitecture, parameters: [Float], buffers: [Float], to url: URL,
                            extra: [String: String] = [:]) throws {
        let data = SafeTensors.encode(tensors(of: arch, parameters: parameters, buffers: buffers),
                                      metadata: metadata(of: arch, extra: extra))
        try AtomicFile.write(data, to: url)
    }

    /// Writes `flow`'s parameters and buffers as a model file.
    /// - Throws: `InputError` naming `url` if it cannot be written.
    public static func save(_ flow: Flow<Float>, to url: URL, extra: [String: String] = [:]) throws {
        try save(flow.architecture, parameters: flow.parameters, buffers: flow.buffers, to: url, extra: extra)
    }

    /// Parameters and buffers for `arch` from named tensors; every tensor must be
    /// present with its shape and finite values.
    public static func state(for arch: FlowArchitecture, from tensors: [String: SafeTensors.Tensor], file: String) throws -> State {
        func source(_ t: FlowArchitecture.Tensor) throws -> SafeTensors.Tensor {
            guard let src = tensors[t.name] else {
                throw InputError(file: file, field: t.name, "missing tensor; the file does not match this model (type \(arch.spec.typeName), \(arch.spec.convName), \(arch.spec.nLayers) layers, hidden \(arch.spec.hiddenSizes), use_bn \(arch.spec.useBN))")
            }
            guard src.shape == t.shape else {
                throw InputError(file: file, field: t.name, "shape \(src.shape) does not match the model's \(t.shape)")
            }
            guard src.values.allSatisfy({ $0.isFinite }) else {
                throw InputError(file: file, field: t.name, "contains a non-finite value")
            }
            return src
        }
        var p = [Float](repeating: 0, count: arch.parameterCount)
        for t in arch.tensors {
            let src = try source(t)
            if let conv = t.conv {
                let taps = conv.stencil.tapCount, cin = conv.cin, cout = conv.cout
                for tap in 0..<taps { for ci in 0..<cin { for co in 0..<cout {
                    p[t.offset + (tap * cin + ci) * cout + co] = src.values[(co * cin + ci) * taps + tap]
                } } }
            } else {
                for i in 0..<t.count { p[t.offset + i] = src.values[i] }
            }
        }
        var b = [Float](repeating: 0, count: arch.bufferCount)
        for t in arch.bufferTensors {
            let src = try source(t)
            for i in 0..<t.count { b[t.offset + i] = src.values[i] }
        }
        return State(parameters: p, buffers: b)
    }

    /// Reads a model file's parameters and buffers for `arch`.
    /// - Throws: `InputError` if the file is unreadable or malformed, or a tensor is
    ///   missing, misshapen or not finite.
    ///
    /// The Fourier layer (`fourier_scaling`) as a warm start sees it: a model
    /// whose spec has no such layer starts one at the identity (mu = 0); a
    /// model with one, of another L and the same d, passes its log-scales on
    /// by momentum (`DisplacementOrbits.transferLogScales`), as the couplings'
    /// weights carry over unchanged; a model with one cannot start a flow without.
    /// Site maps likewise (`addIdentitySiteMaps`). A file with fewer layers,
    /// narrower hidden layers or a smaller kernel is refused by name, or with `growth = .allow`
    /// starts this larger flow as the same map (`grow(_:spec:tensors:file:growth:)`).
    public static func load(_ arch: FlowArchitecture, from path: String, growth: Growth = .refuse) throws -> State {
        var (tensors, metadata) = try SafeTensors.load(path: path)
        let name = FlowArchitecture.fourierTensorName
        let spec = metadata["model_spec"].flatMap { try? JSONDecoder().decode(ModelSpec.self, from: Data($0.utf8)) }
        if let spec, spec.coupling != arch.spec.coupling {
            // Another family or its settings change the nets' last layers or the map: name them, not a tensor.
            throw InputError(file: path, field: "model_spec",
                             "the file holds a model of \(spec.coupling.summary); this flow has \(arch.spec.coupling.summary), which cannot start from it")
        }
        if let spec, spec.integrateEvenSites != arch.spec.integrateEvenSites {
            // The same tensors, but a function of another field (the odd sites' covering field, or the whole lattice).
            func kind(_ on: Bool) -> String { on ? "the odd sites' covering field (integrate_even_sites = true)" : "the whole lattice (integrate_even_sites = false)" }
            throw InputError(file: path, field: "model_spec",
                             "the file holds a model of \(kind(spec.integrateEvenSites)); this flow models \(kind(arch.spec.integrateEvenSites)), which cannot start from it")
        }
        if let f = arch.fourier {
            if let spec, !spec.fourierScaling, tensors[name] == nil {
                tensors[name] = SafeTensors.Tensor(shape: [f.orbits.count], values: [Float](repeating: 0, count: f.orbits.count))
            } else if let spec, let src = tensors[name], spec.fourierScaling, spec.d == arch.lattice.d, spec.L != arch.lattice.L,
                      spec.L >= 1, spec.L <= arch.lattice.L * 64, src.values.allSatisfy({ $0.isFinite }) {
                // The source's orbit count is known before its orbits are built (no allocation for a bogus L).
                let count = (0..<spec.d).reduce(1) { $0 * (spec.L / 2 + spec.d - $1) / ($1 + 1) }
                guard src.shape == [count] else {
                    throw InputError(file: path, field: name, "shape \(src.shape) does not match the file's own model (L = \(spec.L): [\(count)])")
                }
                let from = DisplacementOrbits(lattice: Lattice(L: spec.L, d: spec.d))
                let moved = f.orbits.transferLogScales(src.values.map(Double.init), from: from,
                                                       covering: spec.integrateEvenSites)
                tensors[name] = SafeTensors.Tensor(shape: [f.orbits.count], values: moved.map(Float.init))
            }
        } else if tensors[name] != nil {
            throw InputError(file: path, field: name, "the model has a Fourier layer; a flow without one cannot start from it (set [model] fourier_scaling = true)")
        }
        try addIdentitySiteMaps(arch, spec: spec, to: &tensors, file: path)
        try carryShears(arch, spec: spec, to: &tensors, file: path)
        try grow(arch, spec: spec, tensors: &tensors, file: path, growth: growth)
        return try state(for: arch, from: tensors, file: path)
    }

    /// Shears as a warm start sees them: a model without them starts them at
    /// zero (the identity); one of another L passes each weight on to the orbit
    /// of the same displacement (the new lattice's other orbits start at zero,
    /// and so do the old orbits that reached half the old lattice, whose
    /// displacement wrapped around); one with them cannot start a flow without,
    /// nor one with another number of features.
    static func carryShears(_ arch: FlowArchitecture, spec: ModelSpec?, to tensors: inout [String: SafeTensors.Tensor],
                            file: String) throws {
        guard let spec else { return }
        let C = arch.spec.shearFeatures
        if spec.shearFeatures != C && spec.shearFeatures != 0 {
            throw InputError(file: file, field: "model_spec", "the file holds a model with shears of \(spec.shearFeatures) features; this flow has \(C == 0 ? "none" : "\(C)") ([model] shear_features), which cannot start from it")
        }
        guard let shears = arch.shears else { return }
        let weighted = OrbitShear<Double>.weightedOrbits(shears.orbits)
        if spec.shearFeatures == 0 {
            tensors.merge(initialTensors(arch, named: ".shear.")) { _, initial in initial }
            return
        }
        guard spec.L != arch.lattice.L, spec.d == arch.lattice.d, spec.L >= 2, spec.L <= arch.lattice.L * 64 else { return }
        // The shapes first, from the count alone: a bogus L in the file must not build its orbits.
        let oldCount = OrbitShear<Double>.weightedCount(L: spec.L, d: spec.d)
        for i in shears.offsets.indices {
            let name = FlowArchitecture.shearTensorName(i)
            if let src = tensors[name], src.shape.map(Double.init) != [Double(C), oldCount] {
                throw InputError(file: file, field: name, "shape \(src.shape) does not match the file's own model (L = \(spec.L): [\(C), \(Int(oldCount))])")
            }
        }
        let old = DisplacementOrbits(lattice: Lattice(L: spec.L, d: spec.d))
        let oldWeighted = OrbitShear<Double>.weightedOrbits(old)
        var slot: [[Int]: Int] = [:]
        for (k, o) in weighted.enumerated() { slot[shears.orbits.representatives[o]] = k }
        for i in shears.offsets.indices {
            let name = FlowArchitecture.shearTensorName(i)
            guard let src = tensors[name] else { continue }  // state(for:) names the missing tensor
            guard src.shape == [C, oldWeighted.count] else {
                throw InputError(file: file, field: name, "shape \(src.shape) does not match the file's own model (L = \(spec.L): [\(C), \(oldWeighted.count)])")
            }
            var values = [Float](repeating: 0, count: C * weighted.count)
            for (j, o) in oldWeighted.enumerated() {
                let rep = old.representatives[o]
                guard rep.allSatisfy({ 2 * $0 < spec.L }), let k = slot[rep] else { continue }
                for c in 0..<C { values[c * weighted.count + k] = src.values[c * oldWeighted.count + j] }
            }
            tensors[name] = SafeTensors.Tensor(shape: [C, weighted.count], values: values)
        }
    }

    /// Site maps as a warm start sees them: a model without them starts them
    /// at the identity (their parameters do not depend on L, so another L's
    /// carry over unchanged); a model with them cannot start a flow without,
    /// nor one with another number of terms.
    static func addIdentitySiteMaps(_ arch: FlowArchitecture, spec: ModelSpec?, to tensors: inout [String: SafeTensors.Tensor],
                                    file: String) throws {
        let A = arch.spec.siteMapFeatures
        guard let spec else { return }
        if spec.siteMapFeatures != A {
            guard spec.siteMapFeatures == 0 else {
                throw InputError(file: file, field: "model_spec", "the file holds a model with site maps of \(spec.siteMapFeatures) terms; this flow has \(A == 0 ? "none" : "\(A)") ([model] site_map_features), which cannot start from it")
            }
            tensors.merge(initialTensors(arch, named: ".site_map.")) { _, initial in initial }
        }
    }

    /// `arch`'s tensors whose names contain `part`, at their initial values
    /// (the identity, for site maps and shears): what a warm start adds for
    /// layers its file does not have, laid out as `FlowArchitecture` names them.
    static func initialTensors(_ arch: FlowArchitecture, named part: String) -> [String: SafeTensors.Tensor] {
        // In the files' layout, so that conv weights would come out right too.
        let all = ModelFile.tensors(of: arch, parameters: arch.initialParameters(), buffers: [])
        return Dictionary(uniqueKeysWithValues: all.filter { $0.0.contains(part) })
    }
}

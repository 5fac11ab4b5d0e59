import Foundation

/// Warm starts into a larger flow (`[training] grow_pretrained`): a model file
/// of the same family with fewer coupling layers, narrower hidden layers or a
/// smaller kernel starts a flow with more, as the same map.
///
/// - Wider hidden layers: the file's weights fill the first channels; a new
///   channel gets the seeded initialisation on its input side and zero weights
///   where the next layer reads it, so it adds nothing until training moves those.
/// - A larger kernel (a cross with longer arms, a cross inside a box, a larger
///   box; plain d-axis convolutions only): the file's taps keep their weights,
///   the new taps of the file's channels start at zero.
/// - More coupling layers: appended after the file's, with the seeded
///   initialisation except the last net layer, whose weights and biases are zero:
///   zero net outputs are the identity for every coupling family (e^0 x + 0; a
///   spline with equal bins and unit slopes), and so are new site maps and shears.
///
/// The grown flow's forward map, log-det and inverse are then those of the
/// file's flow, to rounding (wider sums may add their zero terms in another order).
extension ModelFile {
    /// What `load` does with a file of a smaller model of the same family.
    public enum Growth: Sendable {
        /// Refuse it, naming both models.
        case refuse
        /// Refuse it, naming both models and `[training] grow_pretrained` (a warm start's `pretrained`).
        case refuseNamingTheKey
        /// Start the larger flow as the file's map.
        case allow
    }

    /// Rewrites `tensors` (the file's, after the other warm-start transfers)
    /// into `arch`'s shapes. Does nothing when the file's layer count, hidden
    /// sizes and kernel are `arch`'s; otherwise `growth` decides: `.refuse` names both
    /// models, `.refuseNamingTheKey` adds the config key that allows it (a warm start).
    static func grow(_ arch: FlowArchitecture, spec: ModelSpec?, tensors: inout [String: SafeTensors.Tensor],
                     file: String, growth: Growth) throws {
        guard let spec else { return }
        let to = arch.spec
        // In 1-D a cross is the box of its size (the same taps, order and tensor shape).
        let sameKernel = spec.kernelSize == to.kernelSize && spec.convAxes == to.convAxes
            && (spec.crossKernel == to.crossKernel || spec.d == 1)
        guard spec.nLayers != to.nLayers || spec.hiddenSizes != to.hiddenSizes || !sameKernel else { return }
        // Another lattice dimension, or a kernel change outside plain d-axis convolutions, is
        // another model, not a smaller one: `state(for:from:file:)` names the first tensor that differs.
        guard spec.d == to.d, sameKernel || (spec.convAxes == spec.d && to.convAxes == to.d) else { return }
        func describe(_ s: ModelSpec, _ layers: String) -> String {
            "\(s.nLayers)\(layers) with hidden \(s.hiddenSizes)"
                + (sameKernel ? "" : " and a \(s.crossKernel ? "cross" : "full") kernel of size \(s.kernelSize)")
        }
        let sizes = "\(describe(spec, " layers")); this flow has \(describe(to, ""))"
        // The flow's tap of each of the file's taps (nil: the same stencil), and the kernel
        // dimensions the file's own spec gives its conv weights.
        let taps = (sameKernel ? nil : tapPositions(from: spec, to: to)).map {
            (positions: $0, kernel: spec.crossKernel ? [$0.count] : [Int](repeating: spec.kernelSize, count: spec.d))
        }
        let larger = spec.nLayers <= to.nLayers && spec.hiddenSizes.count == to.hiddenSizes.count
            && zip(spec.hiddenSizes, to.hiddenSizes).allSatisfy { $0 <= $1 } && (sameKernel || taps != nil)
        guard larger else {
            throw InputError(file: file, field: "model_spec",
                             "the file holds \(sizes), which cannot start from it (a warm start may add layers, widen hidden layers and enlarge the kernel, not remove or reorder them)")
        }
        guard !spec.useBN, !to.useBN else {
            throw InputError(file: file, field: "model_spec", "the file holds \(sizes); a flow with batch norms (use_bn) cannot be grown")
        }
        switch growth {
        case .refuse:
            throw InputError(file: file, field: "model_spec", "the file holds \(sizes)")
        case .refuseNamingTheKey:
            throw InputError(file: file, field: "model_spec",
                             "the file holds \(sizes); set [training] grow_pretrained = true to start the larger flow from it")
        case .allow: break
        }
        // The seeded initialisation in the files' layout (conv weights as (cout, cin, taps)); every net tensor is a layer's.
        let initial = initialTensors(arch, named: "layers.")
        let lastNet = to.hiddenSizes.count
        var grown: [String: SafeTensors.Tensor] = [:]
        for t in arch.tensors {
            if let layer = Self.couplingIndex(of: t.name), layer >= spec.nLayers {
                // A new coupling: seeded, and the identity through its zero last layer.
                var values = initial[t.name]!.values
                if t.conv != nil || t.name.hasSuffix(".bias"), t.name.hasPrefix("layers.\(layer).net.\(lastNet).") {
                    values = [Float](repeating: 0, count: t.count)
                }
                grown[t.name] = SafeTensors.Tensor(shape: t.shape, values: values)
                continue
            }
            guard let src = tensors[t.name] else {
                throw InputError(file: file, field: t.name, "missing tensor; the file does not match its own model_spec")
            }
            // Net tensors are widened; the Fourier layer, site maps and shears do not depend on the
            // nets and pass as they are (`state(for:from:file:)` checks their shapes and values).
            grown[t.name] = t.name.contains(".net.")
                ? SafeTensors.Tensor(shape: t.shape, values: try embed(src, into: initial[t.name]!.values, shape: t.shape,
                                                                       taps: t.conv == nil ? nil : taps,
                                                                       name: t.name, file: file))
                : src
        }
        tensors = grown
    }

    /// Where each tap of `from`'s plain d-axis kernel sits in `to`'s, or nil
    /// when one of them is not among `to`'s taps (a smaller kernel, a box into a cross).
    static func tapPositions(from: ModelSpec, to: ModelSpec) -> [Int]? {
        // The file's kernel size is checked before its taps are listed (no allocation for a bogus one).
        guard from.kernelSize >= 1, from.kernelSize % 2 == 1, from.kernelSize <= to.kernelSize else { return nil }
        func offsets(_ s: ModelSpec) -> [[Int]] {
            s.crossKernel ? ConvStencil.crossOffsets(d: s.d, kernelSize: s.kernelSize)
                : ConvStencil.boxOffsets(d: s.d, axes: Array(0..<s.d), kernelSize: s.kernelSize)
        }
        var position: [[Int]: Int] = [:]
        for (k, o) in offsets(to).enumerated() { position[o] = k }
        let mapped = offsets(from).map { position[$0] }
        return mapped.contains(nil) ? nil : mapped.map { $0! }
    }

    /// The coupling a tensor named "layers.<i>. ..." belongs to; nil for the Fourier layer's.
    static func couplingIndex(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count > 1, parts[0] == "layers" else { return nil }
        return Int(parts[1])
    }

    /// A file's conv weight (cout, cin, taps...) or bias (cout) laid into the
    /// first channels of a wider one whose initial values are `values`: the
    /// file's output channels read zero from the new input channels. With
    /// `taps` (the position of each file tap among the model's, and the kernel
    /// dimensions the file's spec gives its weights) the new taps start at zero.
    static func embed(_ src: SafeTensors.Tensor, into values: [Float], shape: [Int], taps: (positions: [Int], kernel: [Int])? = nil,
                      name: String, file: String) throws -> [Float] {
        // The kernel dimensions are compared, not multiplied: a file's bogus ones must not overflow.
        if let taps, shape.count > 1, !src.shape.dropFirst(2).elementsEqual(taps.kernel) {
            throw InputError(file: file, field: name, "shape \(src.shape) does not match the file's own model_spec (kernel dimensions \(taps.kernel))")
        }
        let fits = shape.count == 1 ? src.shape.count == 1
            : src.shape.count >= 2 && (taps != nil || src.shape.dropFirst(2) == shape.dropFirst(2))
        guard fits, zip(src.shape.prefix(2), shape.prefix(2)).allSatisfy({ $0 <= $1 }) else {
            throw InputError(file: file, field: name, "shape \(src.shape) does not fit into the model's \(shape)")
        }
        var out = values  // non-finite values are refused by `state(for:from:file:)` after growth
        if shape.count == 1 {
            for c in 0..<src.shape[0] { out[c] = src.values[c] }
            return out
        }
        let dstTaps = shape.dropFirst(2).reduce(1, *)
        let srcTaps = taps?.positions.count ?? dstTaps
        let position = taps?.positions ?? Array(0..<dstTaps)
        let (cin, srcCin) = (shape[1], src.shape[1])
        for co in 0..<src.shape[0] {
            for ci in 0..<cin {
                for tap in 0..<dstTaps { out[(co * cin + ci) * dstTaps + tap] = 0 }
                guard ci < srcCin else { continue }
                for (tap, at) in position.enumerated() {
                    out[(co * cin + ci) * dstTaps + at] = src.values[(co * srcCin + ci) * srcTaps + tap]
                }
            }
        }
        return out
    }
}

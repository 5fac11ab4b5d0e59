import Foundation

/// Warm starts into a larger flow (`[training] grow_pretrained`): a model file
/// of the same family with fewer coupling layers or narrower hidden layers
/// starts a flow with more, as the same map.
///
/// - Wider hidden layers: the file's weights fill the first channels; a new
///   channel gets the seeded initialisation on its input side and zero weights
///   where the next layer reads it, so it adds nothing until training moves those.
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
    /// into `arch`'s shapes. Does nothing when the file's layer count and hidden
    /// sizes are `arch`'s; otherwise `growth` decides: `.refuse` names both
    /// models, `.refuseNamingTheKey` adds the config key that allows it (a warm start).
    static func grow(_ arch: FlowArchitecture, spec: ModelSpec?, tensors: inout [String: SafeTensors.Tensor],
                     file: String, growth: Growth) throws {
        guard let spec else { return }
        let to = arch.spec
        guard spec.nLayers != to.nLayers || spec.hiddenSizes != to.hiddenSizes else { return }
        // Another lattice dimension or convolution is another model, not a smaller one:
        // `state(for:from:file:)` names the first tensor that differs.
        guard spec.d == to.d, spec.kernelSize == to.kernelSize, spec.crossKernel == to.crossKernel,
              spec.convAxes == to.convAxes else { return }
        let sizes = "\(spec.nLayers) layers with hidden \(spec.hiddenSizes); this flow has \(to.nLayers) with hidden \(to.hiddenSizes)"
        let larger = spec.nLayers <= to.nLayers && spec.hiddenSizes.count == to.hiddenSizes.count
            && zip(spec.hiddenSizes, to.hiddenSizes).allSatisfy { $0 <= $1 }
        guard larger else {
            throw InputError(file: file, field: "model_spec",
                             "the file holds \(sizes), which cannot start from it (a warm start may add layers and widen hidden layers, not remove or reorder them)")
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
                ? SafeTensors.Tensor(shape: t.shape, values: try embed(src, into: initial[t.name]!.values, shape: t.shape, name: t.name, file: file))
                : src
        }
        tensors = grown
    }

    /// The coupling a tensor named "layers.<i>. ..." belongs to; nil for the Fourier layer's.
    static func couplingIndex(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count > 1, parts[0] == "layers" else { return nil }
        return Int(parts[1])
    }

    /// A file's conv weight (cout, cin, taps...) or bias (cout) laid into the
    /// first channels of a wider one whose initial values are `values`: the
    /// file's output channels read zero from the new input channels.
    static func embed(_ src: SafeTensors.Tensor, into values: [Float], shape: [Int], name: String, file: String) throws -> [Float] {
        guard src.shape.count == shape.count, src.shape.dropFirst(2) == shape.dropFirst(2),
              zip(src.shape.prefix(2), shape.prefix(2)).allSatisfy({ $0 <= $1 }) else {
            throw InputError(file: file, field: name, "shape \(src.shape) does not fit into the model's \(shape)")
        }
        var out = values  // non-finite values are refused by `state(for:from:file:)` after growth
        if shape.count == 1 {
            for c in 0..<src.shape[0] { out[c] = src.values[c] }
            return out
        }
        let taps = shape.dropFirst(2).reduce(1, *)
        let (cin, srcCin) = (shape[1], src.shape[1])
        for co in 0..<src.shape[0] {
            for ci in 0..<cin {
                for tap in 0..<taps {
                    out[(co * cin + ci) * taps + tap] = ci < srcCin ? src.values[(co * srcCin + ci) * taps + tap] : 0
                }
            }
        }
        return out
    }
}

import Foundation

/// Saving and loading flow parameters as .safetensors with one named tensor per
/// conv weight and bias, weights in PyTorch's (cout, cin, K, ..., K) layout, and
/// the model spec in the metadata so a file says what it belongs to.
public enum ModelFile {
    public static func tensors(of arch: FlowArchitecture, parameters p: [Float]) -> [(String, SafeTensors.Tensor)] {
        arch.tensors.map { t in
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
    }

    public static func metadata(of arch: FlowArchitecture, extra: [String: String] = [:]) -> [String: String] {
        let spec = String(data: try! JSONEncoder().encode(arch.spec), encoding: .utf8)!
        return extra.merging(["format": "gomalizing-flow", "model_spec": spec]) { a, _ in a }
    }

    public static func save(_ arch: FlowArchitecture, parameters: [Float], to url: URL, extra: [String: String] = [:]) throws {
        let data = SafeTensors.encode(tensors(of: arch, parameters: parameters), metadata: metadata(of: arch, extra: extra))
        try AtomicFile.write(data, to: url)
    }

    /// Parameters for `arch` from named tensors; every tensor must be present with its shape.
    public static func parameters(for arch: FlowArchitecture, from tensors: [String: SafeTensors.Tensor], file: String) throws -> [Float] {
        var p = [Float](repeating: 0, count: arch.parameterCount)
        for t in arch.tensors {
            guard let src = tensors[t.name] else {
                throw InputError(file: file, field: t.name, "missing tensor; the file does not match this model (\(arch.spec.convName), \(arch.spec.nLayers) layers, hidden \(arch.spec.hiddenSizes))")
            }
            guard src.shape == t.shape else {
                throw InputError(file: file, field: t.name, "shape \(src.shape) does not match the model's \(t.shape)")
            }
            if let conv = t.conv {
                let taps = conv.stencil.tapCount, cin = conv.cin, cout = conv.cout
                for tap in 0..<taps { for ci in 0..<cin { for co in 0..<cout {
                    p[t.offset + (tap * cin + ci) * cout + co] = src.values[(co * cin + ci) * taps + tap]
                } } }
            } else {
                for i in 0..<t.count { p[t.offset + i] = src.values[i] }
            }
        }
        for (i, v) in p.enumerated() where !v.isFinite {
            let name = arch.tensors.first { $0.offset <= i && i < $0.offset + $0.count }?.name ?? "?"
            throw InputError(file: file, field: name, "contains a non-finite value")
        }
        return p
    }

    public static func load(_ arch: FlowArchitecture, from path: String) throws -> [Float] {
        try parameters(for: arch, from: SafeTensors.load(path: path).tensors, file: path)
    }
}

import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length
/// N, a JSON header of N bytes mapping tensor names to dtype, shape and byte
/// offsets (plus an optional "__metadata__" map of strings), then the raw
/// little-endian data. numpy/torch users read it with `safetensors.numpy.load_file`.
public enum SafeTensors {
    /// A tensor as Float32 values in C order, with its shape.
    public struct Tensor: Equatable {
        /// Dimensions, slowest first.
        public var shape: [Int]
        /// The values in C order (F64 tensors are rounded to Float32 when read).
        public var values: [Float]
        /// A tensor of `shape` holding `values`.
        public init(shape: [Int], values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    /// The bytes of a file holding `tensors` as F32, in the given order, and `metadata`.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            let bytes = t.values.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors {
            t.values.withUnsafeBufferPointer { buf in
                for v in buf {
                    var bits = v.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// Parses a safetensors file. Every inconsistency (short file, header length
    /// past the end, bad JSON, unknown dtype, offsets out of range or not
    /// matching the shape) is an `InputError` naming `file` and the tensor.
    public static func decode(_ data: Data, file: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw InputError(file: file, "not a safetensors file: shorter than its 8-byte header length") }
        let n64 = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n64 >= 2, n64 <= UInt64(data.count - 8) else {
            throw InputError(file: file, field: "header", "length \(n64) does not fit in a file of \(data.count) bytes")
        }
        let n = Int(n64)
        let headerData = data.subdata(in: 8..<(8 + n))
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw InputError(file: file, field: "header", "is not a JSON object")
        }
        let body = data.subdata(in: (8 + n)..<data.count)
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw InputError(file: file, field: "__metadata__", "expected a map of strings") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any] else { throw InputError(file: file, field: name, "expected an object with dtype, shape, data_offsets") }
            guard let dtype = info["dtype"] as? String else { throw InputError(file: file, field: name, "missing dtype") }
            guard let shapeAny = info["shape"] as? [Any], let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw InputError(file: file, field: name, "shape must be an array of non-negative integers")
            }
            guard let offAny = info["data_offsets"] as? [Any], let offs = intArray(offAny), offs.count == 2 else {
                throw InputError(file: file, field: name, "data_offsets must be two integers")
            }
            let (begin, end) = (offs[0], offs[1])
            guard begin >= 0, begin <= end, end <= body.count else {
                throw InputError(file: file, field: name, "data_offsets [\(begin), \(end)] out of range (data is \(body.count) bytes)")
            }
            var count = 1
            for s in shape {
                let (p, o) = count.multipliedReportingOverflow(by: s)
                guard !o, p <= body.count else { throw InputError(file: file, field: name, "shape \(shape) is too large for the file") }
                count = p
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F64": width = 8
            default: throw InputError(file: file, field: name, "dtype \(dtype) is not supported (expected F32 or F64)")
            }
            guard end - begin == count * width else {
                throw InputError(file: file, field: name, "holds \(end - begin) bytes but shape \(shape) of \(dtype) needs \(count * width)")
            }
            var values = [Float](repeating: 0, count: count)
            body.withUnsafeBytes { raw in
                let base = raw.baseAddress! + begin
                for i in 0..<count {
                    if width == 4 {
                        values[i] = Float(bitPattern: UInt32(littleEndian: (base + 4 * i).loadUnaligned(as: UInt32.self)))
                    } else {
                        values[i] = Float(Double(bitPattern: UInt64(littleEndian: (base + 8 * i).loadUnaligned(as: UInt64.self))))
                    }
                }
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Reads and parses the safetensors file at `path` (see `decode`).
    /// - Throws: `InputError` if the file is missing, unreadable or malformed.
    public static func load(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(data, file: path)
    }

    private static func intArray(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        for e in a {
            guard let n = e as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d == d.rounded(), abs(d) < 1e15 else { return nil }
            out.append(Int(d))
        }
        return out
    }
}

import Foundation
import GomalizingFlow

/// NumPy .npy files of little-endian float32 (format version 1.0), written as a
/// stream: the shape is fixed when the file is opened, rows are appended as they
/// are produced, and the file appears under its final name only when complete
/// (temporary file + rename), so an interrupted run leaves no half-written .npy.
public final class NpyWriter {
    /// Shape of the whole array, rows first; fixed when the file is opened.
    public let shape: [Int]
    private let file: StagedFile
    private var rowsWritten = 0
    private let rowSize: Int
    /// The final path; the file appears there on `finish()`.
    public var url: URL { file.url }

    /// Opens a temporary beside `url` and writes the header for `shape`.
    /// - Throws: `InputError` naming `url` if it cannot be created or written.
    public init(url: URL, shape: [Int]) throws {
        precondition(!shape.isEmpty)
        self.shape = shape
        rowSize = shape.dropFirst().reduce(1, *)
        file = try StagedFile(url: url)
        try file.write(NpyWriter.header(shape: shape))
    }

    static func header(shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        // Magic (6) + version (2) + length (2) + dict + newline, padded to 64 bytes.
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(dict.utf8.count)
        d.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        d.append(contentsOf: Array(dict.utf8))
        return d
    }

    /// Appends one row (a configuration) of shape.dropFirst() values.
    public func append<T: BinaryFloatingPoint>(_ row: UnsafePointer<T>) throws {
        let values = (0..<rowSize).map { Float(row[$0]) }
        try values.withUnsafeBufferPointer { try append($0.baseAddress!) }
    }

    /// Float rows as they are: the sampler's, without a generic conversion per value.
    public func append(_ row: UnsafePointer<Float>) throws {
        precondition(rowsWritten < shape[0], "more rows than the declared shape")
        var bytes = [UInt8](repeating: 0, count: 4 * rowSize)
        for i in 0..<rowSize {
            let bits = row[i].bitPattern
            for k in 0..<4 { bytes[4 * i + k] = UInt8(truncatingIfNeeded: bits >> (8 * k)) }
        }
        try file.write(bytes: bytes)
        rowsWritten += 1
    }

    /// Checks that every declared row was written and moves the file into place.
    public func finish() throws {
        guard rowsWritten == shape[0] else {
            file.abandon()
            throw InputError(file: url.path, "only \(rowsWritten) of \(shape[0]) rows were written")
        }
        try file.finish()
    }
}

/// Reads a float32 or float64 little-endian C-order .npy file, memory-mapped,
/// with one-line errors for anything else.
public struct NpyFile {
    /// The array's shape, from the header.
    public let shape: [Int]
    /// The file read.
    public let path: String
    private let data: Data
    private let offset: Int
    private let isDouble: Bool

    /// Maps the file and checks its header against its size.
    /// - Throws: `InputError` if it is missing, unreadable, truncated, or not a
    ///   little-endian C-order float32 or float64 .npy.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "no such file") }
        guard let d = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw InputError(file: path, "cannot be read")
        }
        data = d
        guard d.count >= 10, d.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else {
            throw InputError(file: path, "not a .npy file (bad magic)")
        }
        let major = d[6]
        let headerLen: Int
        let start: Int
        if major == 1 {
            headerLen = Int(d[8]) | Int(d[9]) << 8
            start = 10
        } else if major == 2 || major == 3, d.count >= 12 {
            headerLen = Int(d[8]) | Int(d[9]) << 8 | Int(d[10]) << 16 | Int(d[11]) << 24
            start = 12
        } else {
            throw InputError(file: path, "unsupported .npy version \(major)")
        }
        guard start + headerLen <= d.count, let header = String(data: d.subdata(in: start..<(start + headerLen)), encoding: .ascii) else {
            throw InputError(file: path, field: "header", "truncated")
        }
        offset = start + headerLen
        let compact = header.replacingOccurrences(of: " ", with: "")
        if compact.contains("'descr':'<f4'") {
            isDouble = false
        } else if compact.contains("'descr':'<f8'") {
            isDouble = true
        } else {
            throw InputError(file: path, field: "descr", "expected little-endian float32 ('<f4') or float64 ('<f8')")
        }
        guard compact.contains("'fortran_order':False") else {
            throw InputError(file: path, field: "fortran_order", "expected C order")
        }
        guard let open = compact.range(of: "'shape':("), let close = compact[open.upperBound...].firstIndex(of: ")") else {
            throw InputError(file: path, field: "shape", "missing")
        }
        let dims = compact[open.upperBound..<close].split(separator: ",").map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw InputError(file: path, field: "shape", "not a tuple of non-negative integers")
        }
        shape = dims.map { $0! }
        var count = 1
        for s in shape {
            let (p, o) = count.multipliedReportingOverflow(by: s)
            guard !o else { throw InputError(file: path, field: "shape", "too large") }
            count = p
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: isDouble ? 8 : 4)
        guard !overflow, d.count - offset >= bytes else {
            throw InputError(file: path, "truncated: shape \(shape) needs \(overflow ? "more than 2^63" : "\(bytes)") data bytes, the file has \(d.count - offset)")
        }
    }

    /// Rows (configurations): shape[0].
    public var rowCount: Int { shape[0] }
    /// Values per row: the product of the other dimensions.
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }

    /// Row `r` as Double values.
    public func row(_ r: Int, into out: inout [Double]) {
        let n = rowSize
        if out.count != n { out = [Double](repeating: 0, count: n) }
        data.withUnsafeBytes { raw in
            if isDouble {
                let base = raw.baseAddress! + offset + r * n * 8
                for i in 0..<n { out[i] = Double(bitPattern: UInt64(littleEndian: (base + 8 * i).loadUnaligned(as: UInt64.self))) }
            } else {
                let base = raw.baseAddress! + offset + r * n * 4
                for i in 0..<n { out[i] = Double(Float(bitPattern: UInt32(littleEndian: (base + 4 * i).loadUnaligned(as: UInt32.self)))) }
            }
        }
    }
}

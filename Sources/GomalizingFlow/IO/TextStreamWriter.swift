import Foundation

/// A text file written line by line into a temporary file and moved under its
/// final name by `finish()`, so readers never see a partial table.
public final class TextStreamWriter {
    public let url: URL
    private let tmp: URL
    private let handle: FileHandle
    private var buffer = ""

    public init(url: URL, header: String) throws {
        self.url = url
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil),
              let h = FileHandle(forWritingAtPath: tmp.path) else {
            throw InputError(file: url.path, "cannot create the output file")
        }
        handle = h
        try line(header)
    }

    public func line(_ s: String) throws {
        buffer += s
        buffer += "\n"
        if buffer.utf8.count > 1 << 20 { try flush() }
    }

    private func flush() throws {
        try handle.write(contentsOf: Data(buffer.utf8))
        buffer = ""
    }

    public func finish() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
        guard rename(tmp.path, url.path) == 0 else { throw InputError(file: url.path, "cannot move the finished file into place") }
    }

    deinit {
        if FileManager.default.fileExists(atPath: tmp.path) { try? FileManager.default.removeItem(at: tmp) }
    }
}

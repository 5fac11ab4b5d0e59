import Foundation
import GomalizingFlow

/// A file written as a stream into a temporary file beside its target and moved
/// under its final name by `finish()`, so readers never see a partial file and
/// an interrupted run leaves nothing under that name.
public final class StagedFile {
    /// The final path; the file appears there on `finish()`.
    public let url: URL
    private let tmp: URL
    private let handle: FileHandle
    private var buffer = Data()
    private var finished = false

    /// Creates the temporary beside `url`, and `url`'s folder if needed.
    /// - Throws: `InputError` naming `url` if it cannot be created.
    public init(url: URL) throws {
        self.url = url
        try AtomicFile.prepareFolder(of: url)
        tmp = StaleTemporaries.temporary(for: url)
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil),
              let h = FileHandle(forWritingAtPath: tmp.path) else {
            throw AtomicFile.writeError(url, errno)
        }
        handle = h
    }

    /// Appends bytes, buffered and flushed every MiB.
    /// - Throws: `InputError` naming the file if a flush fails.
    public func write(_ bytes: Data) throws {
        buffer.append(bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends bytes, buffered and flushed every MiB.
    /// - Throws: `InputError` naming the file if a flush fails.
    public func write<B: Sequence>(bytes: B) throws where B.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw InputError(file: url.path, "cannot write: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes to disk and renames into place; `abandon()` instead drops the file.
    public func finish() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
        finished = true
        guard rename(tmp.path, url.path) == 0 else {
            let code = errno
            abandon()
            throw AtomicFile.writeError(url, code)
        }
    }

    /// Closes and removes the temporary: nothing appears under `url`.
    public func abandon() {
        try? handle.close()
        finished = true
        try? FileManager.default.removeItem(at: tmp)
    }

    deinit {
        if !finished { abandon() }
    }
}

/// A text table written line by line through a `StagedFile`.
public final class TextStreamWriter {
    private let file: StagedFile
    /// The final path; the table appears there on `finish()`.
    public var url: URL { file.url }

    /// Starts the table with `header` as its first line.
    /// - Throws: `InputError` naming `url` if it cannot be created or written.
    public init(url: URL, header: String) throws {
        file = try StagedFile(url: url)
        try line(header)
    }

    /// Appends `s` and a newline.
    /// - Throws: `InputError` naming the file if a flush fails.
    public func line(_ s: String) throws {
        try file.write(bytes: s.utf8)
        try file.write(bytes: [0x0A])
    }

    /// Flushes to disk and moves the table under its final name.
    public func finish() throws { try file.finish() }
}

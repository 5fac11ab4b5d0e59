import Foundation

/// Writes files so that a reader, or a process killed at any instant, sees
/// either the old complete file or the new complete file, never a torn one:
/// the data goes to a temporary file in the same folder, is flushed to disk,
/// and is renamed over the target (rename is atomic within a file system).
/// A kill leaves at most the temporary, which `StaleTemporaries.clean` removes.
public enum AtomicFile {
    /// Writes `data` to `url` atomically (temporary, fsync, rename), creating the folder if needed.
    /// - Throws: `InputError` naming `url` if it cannot be written.
    public static func write(_ data: Data, to url: URL) throws {
        try prepareFolder(of: url)
        let tmp = StaleTemporaries.temporary(for: url)
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw writeError(url, errno) }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { failure = n < 0 ? errno : ENOSPC; break }
                off += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(tmp.path, url.path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(tmp.path)
            throw writeError(url, failure)
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    /// - Throws: `InputError` naming `url` if it cannot be written.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Creates the folder that will hold `url`; an error names the user's path, in words.
    public static func prepareFolder(of url: URL) throws {
        let dir = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw InputError(file: url.path, "is a folder; expected a file name to write")
        }
        if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw InputError(file: url.path, "cannot write: \(dir.path) is a file, not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw InputError(file: url.path, "cannot create its folder \(dir.path) (a path component is a file, or permission denied)")
        }
    }

    /// "cannot write: Permission denied", naming the target, not the temporary.
    public static func writeError(_ url: URL, _ code: Int32) -> InputError {
        InputError(file: url.path, "cannot write: \(String(cString: strerror(code)))")
    }
}

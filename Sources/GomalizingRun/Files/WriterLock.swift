import Foundation
import GomalizingFlow

/// One writer at a time for a result folder, a sweep folder or an output
/// file: an advisory `flock` on a lock file, which the kernel releases when
/// its holder ends in any way (a kill -9 included), so that a lock is never
/// left behind; a file a killed holder leaves is simply taken over. The file
/// names its holder (pid, host, command, start), which a refusal repeats.
///
/// Held by `Trainer` (the result folder, from the first check of its state to
/// the end of training), by `sweep` (its folder), and by `sample`, `hmc` and
/// `analyze` (their output file). Released on `release()` or when the object goes away.
public final class WriterLock {
    /// The lock file.
    public let url: URL
    private var fd: Int32

    /// The lock file of a folder: `.gomalizing.lock` inside it.
    public static func folderLockFile(_ dir: URL) -> URL { dir.appendingPathComponent(".gomalizing.lock") }

    /// The lock file of an output file: `.NAME.lock` beside it.
    public static func fileLockFile(_ file: URL) -> URL {
        file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).lock")
    }

    /// Takes the lock of folder `dir` (which must exist) for `what`, e.g. "training".
    /// - Throws: `InputError` naming `dir` and the other process if another holds it.
    public static func folder(_ dir: URL, for what: String) throws -> WriterLock {
        try WriterLock(lockFile: folderLockFile(dir), target: dir, what: what)
    }

    /// Takes the lock of output `file` (its folder must exist).
    /// - Throws: `InputError` naming `file` and the other process if another holds it.
    public static func file(_ file: URL, for what: String) throws -> WriterLock {
        try WriterLock(lockFile: fileLockFile(file), target: file, what: what)
    }

    /// The description another process holding `lockFile` wrote, or nil when nobody holds it.
    public static func holder(of lockFile: URL) -> String? {
        let fd = open(lockFile.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A shared lock is refused only while someone holds the exclusive one.
        guard flock(fd, LOCK_SH | LOCK_NB) != 0, errno == EWOULDBLOCK else { return nil }
        return readDescription(fd)
    }

    private init(lockFile: URL, target: URL, what: String) throws {
        url = lockFile
        fd = -1
        // A holder that releases unlinks the file; whoever locked the unlinked
        // file then retries on the new one (at most a few rounds under contention).
        for _ in 0..<16 {
            let f = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard f >= 0 else {
                throw InputError(file: target.path, "cannot create its lock file \(lockFile.lastPathComponent): "
                    + String(cString: strerror(errno)))
            }
            if flock(f, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                if code == EWOULDBLOCK {
                    let other = WriterLock.readDescription(f) ?? "another process"
                    close(f)
                    throw InputError(file: target.path, "is in use by another gomalizing (\(other)); "
                        + "wait for it to end or stop it (one writer at a time)")
                }
                // A file system without locks (some cluster mounts): go on, and say so once.
                close(f)
                WriterLock.warnNoLocks(target, code)
                return
            }
            var held = stat(), now = stat()
            if fstat(f, &held) == 0, stat(lockFile.path, &now) == 0, held.st_ino == now.st_ino, held.st_dev == now.st_dev {
                fd = f
                break
            }
            close(f)
        }
        guard fd >= 0 else { throw InputError(file: target.path, "cannot take its lock: other processes keep replacing it") }
        let line = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName): \(what), "
            + "\(CommandLine.arguments.map { URL(fileURLWithPath: $0).lastPathComponent == "gomalizing" ? "gomalizing" : $0 }.joined(separator: " ")), "
            + "since \(Provenance.timestamp(Date()))\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { release() }

    /// Releases the lock and removes its file; idempotent.
    public func release() {
        guard fd >= 0 else { return }
        // Unlinked while still held, so that nobody takes a file about to vanish unnoticed (see init).
        unlink(url.path)
        close(fd)
        fd = -1
    }

    private static func readDescription(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    nonisolated(unsafe) private static var warned = false
    private static func warnNoLocks(_ target: URL, _ code: Int32) {
        guard !warned else { return }
        warned = true
        FileHandle.standardError.write(Data(("warning: \(target.path): the file system does not support locks ("
            + "\(String(cString: strerror(code)))); one writer at a time is not checked here\n").utf8))
    }
}

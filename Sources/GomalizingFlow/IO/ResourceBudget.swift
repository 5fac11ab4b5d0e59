import Foundation

/// Memory and disk a command is about to use, checked before it allocates or
/// writes, so that a size typed by mistake is a one-line error rather than an
/// abort in malloc or a full disk.
public enum ResourceBudget {
    /// Share of the physical memory one run may plan to use.
    public static let memoryShare = 0.8
    /// Bytes in a GiB.
    public static let gib = 1_073_741_824.0

    /// This machine's physical memory in bytes.
    public static var physicalMemory: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// Throws when `bytes` exceed `memoryShare` of this machine's memory.
    /// `what` says what needs the memory, e.g. "a batch of 10^10 proposals".
    public static func requireMemory(_ bytes: Double, file: String, field: String?, for what: String) throws {
        guard !(bytes <= memoryShare * physicalMemory) else { return }
        throw InputError(file: file, field: field,
                         String(format: "%@ needs about %@ of memory; this machine has %.1f GiB",
                                what, describe(bytes), physicalMemory / gib))
    }

    /// Throws when `bytes` would not fit in the free space of the file system
    /// that will hold `url` (its nearest existing folder).
    public static func requireDisk(_ bytes: Double, at url: URL, file: String, field: String?, for what: String) throws {
        guard let free = freeSpace(near: url), !(bytes <= free) else { return }
        throw InputError(file: file, field: field,
                         String(format: "%@ needs about %@ on disk; %@ has %@ free", what, describe(bytes),
                                url.deletingLastPathComponent().path, describe(free)))
    }

    /// Free bytes for an unprivileged writer on the file system of `url`'s nearest existing ancestor.
    public static func freeSpace(near url: URL) -> Double? {
        var dir = url
        while !FileManager.default.fileExists(atPath: dir.path) {
            let up = dir.deletingLastPathComponent()
            if up.path == dir.path { return nil }
            dir = up
        }
        var s = statvfs()
        guard statvfs(dir.path, &s) == 0 else { return nil }
        return Double(s.f_bavail) * Double(s.f_frsize)
    }

    /// "3.2 GiB", "410 MiB", "1.2e+04 TiB".
    public static func describe(_ bytes: Double) -> String {
        if bytes >= 1024 * gib { return String(format: "%.3g TiB", bytes / (1024 * gib)) }
        if bytes >= gib { return String(format: "%.1f GiB", bytes / gib) }
        return String(format: "%.0f MiB", max(1, bytes / 1_048_576))
    }
}

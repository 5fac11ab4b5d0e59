import Foundation
import GomalizingFlow

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
        let (need, have) = describe(bytes, free)
        throw InputError(file: file, field: field,
                         "\(what) needs about \(need) on disk; \(url.deletingLastPathComponent().path) has \(have) free")
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

    /// Three significant digits in the largest binary unit below the value:
    /// "3.21 GiB", "410 MiB", "12.5 KiB", "512 bytes", "1.2e+04 TiB".
    public static func describe(_ bytes: Double) -> String { describe(bytes, digits: 3) }

    /// `bytes` with `digits` significant digits.
    static func describe(_ bytes: Double, digits: Int) -> String {
        guard bytes.isFinite else { return "\(bytes) bytes" }
        if bytes < 1024 { return "\(Int(bytes.rounded())) bytes" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = bytes / 1024, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return String(format: "%.\(digits)g %@", value, units[unit])
    }

    /// Two sizes with as many digits as it takes for them to read differently
    /// (up to 8), so that "needs" and "has" never print alike when they differ.
    public static func describe(_ a: Double, _ b: Double) -> (String, String) {
        for digits in 3...8 {
            let (x, y) = (describe(a, digits: digits), describe(b, digits: digits))
            if x != y || a == b { return (x, y) }
        }
        return ("\(Int(a)) bytes", "\(Int(b)) bytes")
    }
}

import Foundation

/// Temporary files of atomic writes: `.NAME.tmp-PID` beside their target. A
/// process killed mid-write leaves one behind; `clean(in:)` removes those whose
/// writer is no longer running, so that nothing accumulates in a result folder.
public enum StaleTemporaries {
    /// The temporary name this process uses for `url`.
    public static func temporary(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    }

    /// The writer's process id if `name` is such a temporary name.
    public static func writer(of name: String) -> pid_t? {
        guard name.hasPrefix("."), let r = name.range(of: ".tmp-", options: .backwards), r.lowerBound > name.index(after: name.startIndex)
        else { return nil }
        let digits = name[r.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let pid = pid_t(digits), pid > 0
        else { return nil }
        return pid
    }

    /// Removes the temporaries in `dir` left by processes that have ended
    /// (a live process, even another user's, keeps its file). Returns their names.
    @discardableResult
    public static func clean(in dir: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = writer(of: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed
    }
}

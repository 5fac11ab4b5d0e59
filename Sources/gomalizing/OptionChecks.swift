import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

/// Checks of option values that several commands share, before anything runs.
enum OptionChecks {
    /// `--threads`: 1 ... Config.maxThreads.
    static func threads(_ t: Int?) throws {
        if let t, !(1...Config.maxThreads).contains(t) {
            throw ValidationError("--threads must be in 1...\(Config.maxThreads), got \(t)")
        }
    }

    /// A count that sizes a run: 1 ... `limit`.
    static func count(_ value: Int, _ option: String, max limit: Int = Int.max, min lower: Int = 1) throws {
        guard value >= lower else { throw ValidationError("\(option) must be >= \(lower), got \(value)") }
        guard value <= limit else { throw ValidationError("\(option) must be <= \(limit), got \(value)") }
    }

    /// A file name a command will write: non-empty, with the given extension,
    /// and not an existing folder.
    static func outputFile(_ path: String, option: String, extension ext: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(option) needs a file name ending in .\(ext)") }
        guard path.hasSuffix(".\(ext)"), URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent != "" else {
            throw ValidationError("\(option) \(path): expected a file name ending in .\(ext)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("\(option) \(path) is a folder; expected a file name ending in .\(ext)")
        }
    }

    /// Refuses an output that would replace one of the command's inputs.
    static func distinct(_ output: URL, from input: URL, option: String, what: String = "the input file") throws {
        if output.standardizedFileURL.resolvingSymlinksInPath() == input.standardizedFileURL.resolvingSymlinksInPath() {
            throw InputError(file: "command line", field: option, "\(output.path) is \(what); it would be overwritten")
        }
    }
}

/// Counts on the command line (`--n`, `--epochs`, `--skip`, ...): an integer,
/// or an exact integer in scientific notation, so that `--n 1e5` and
/// `--n 2.5e4` work; `1.5e0` is refused with the reason.
enum Counts {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    @Sendable static func parse(_ text: String) throws -> Int {
        if let i = Int(text) { return i }
        let t = text.lowercased()
        guard let e = t.firstIndex(of: "e"), let exponent = Int(t[t.index(after: e)...]) else {
            throw Invalid(description: "expected a whole number, e.g. 100000 or 1e5")
        }
        var mantissa = Substring(t[..<e])
        var sign = 1
        if let first = mantissa.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            mantissa = mantissa.dropFirst()
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              parts.contains(where: { !$0.isEmpty }) else {
            throw Invalid(description: "expected a whole number, e.g. 100000 or 1e5")
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        // value = digits * 10^(exponent - fraction digits), exactly.
        var digits = String(parts[0] + fraction).drop { $0 == "0" }
        var shift = exponent - fraction.count
        while shift < 0, digits.last == "0" {
            digits = digits.dropLast()
            shift += 1
        }
        if digits.isEmpty { return 0 }
        guard shift >= 0 else { throw Invalid(description: "\(text) is not a whole number; counts are whole numbers, e.g. 1e5 or 2.5e4") }
        guard shift <= 18, var value = Int(digits) else { throw Invalid(description: "\(text) is too large for a count") }
        for _ in 0..<shift {
            let (v, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { throw Invalid(description: "\(text) is too large for a count") }
            value = v
        }
        return sign * value
    }
}

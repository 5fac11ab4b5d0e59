import ArgumentParser
import Foundation
import GomalizingFlow

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

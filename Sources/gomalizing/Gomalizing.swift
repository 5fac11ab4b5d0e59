import ArgumentParser
import Foundation
import GomalizingFlow

@main
struct Gomalizing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gomalizing",
        abstract: "Flow-based sampling for lattice scalar phi^4 theory.",
        subcommands: [Train.self, Sample.self, HMCCommand.self, Analyze.self, Report.self, Bench.self]
    )
}

/// Runs `body`, turning the project's input and training errors into one line
/// on stderr and a non-zero exit instead of a trap or a stack trace.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as InputError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(2)
    } catch let e as TrainingError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(3)
    } catch let e as ExitCode {
        throw e
    } catch {
        // File-system and other system errors: still one line, no trace.
        let text = "\(error.localizedDescription)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
        throw ExitCode(1)
    }
}

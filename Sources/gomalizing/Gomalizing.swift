import ArgumentParser
import Foundation
import GomalizingFlow

@main
struct Gomalizing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gomalizing",
        abstract: "Flow-based sampling for lattice scalar phi^4 theory.",
        subcommands: [Train.self]
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
    }
}

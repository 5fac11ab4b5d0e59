import ArgumentParser
import Foundation
import GomalizingFlow

@main
struct Gomalizing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gomalizing",
        abstract: "Flow-based sampling for lattice scalar phi^4 theory.",
        subcommands: [Train.self, Watch.self, Sample.self, HMCCommand.self, Analyze.self, Report.self, Bench.self]
    )
}

/// Runs `body`, turning the project's input and training errors into one line
/// on stderr and a non-zero exit instead of a trap or a stack trace. Under MPI
/// an input error (the same on every rank) is printed by rank 0 only, other
/// errors with their rank.
func reportingErrors(communicator: Communicator? = nil, _ body: () throws -> Void) throws {
    let rank = communicator?.rank ?? 0, ranks = communicator?.size ?? 1
    let prefix = ranks > 1 && rank > 0 ? "error (rank \(rank)): " : "error: "
    do {
        try body()
    } catch let e as InputError {
        if rank == 0 { FileHandle.standardError.write(Data("error: \(e.description)\n".utf8)) }
        throw ExitCode(2)
    } catch let e as TrainingError {
        if case .interrupted = e {
            if rank == 0 { FileHandle.standardError.write(Data("\(e.description)\n".utf8)) }
            throw ExitCode(130)
        }
        FileHandle.standardError.write(Data("\(prefix)\(e.description)\n".utf8))
        throw ExitCode(3)
    } catch let e as ExitCode {
        throw e
    } catch {
        // File-system and other system errors: still one line, no trace.
        let text = "\(error.localizedDescription)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("\(prefix)\(text)\n".utf8))
        throw ExitCode(1)
    }
}

/// Set by SIGINT (Ctrl-C); training polls it after every step.
nonisolated(unsafe) var interruptRequested: sig_atomic_t = 0

/// Routes Ctrl-C to `interruptRequested` instead of killing the process.
func catchInterrupts() {
    signal(SIGINT) { _ in interruptRequested = 1 }
}

/// `--device`: this build computes on the CPU; asking for anything else is an
/// error rather than a silent fallback.
func checkDevice(_ device: String) throws {
    guard device.lowercased() == "cpu" else {
        throw InputError(file: "command line", field: "--device \(device)",
                         "this build runs on the CPU only (no GPU backend is built); use --device cpu")
    }
}

import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

/// Runs `body`, turning the project's input and training errors into one line
/// on stderr and a non-zero exit instead of a trap or a stack trace: 2 for bad
/// input, 3 for a training fault, 128 + the signal's number for a run stopped
/// by a signal (130 SIGINT, 143 SIGTERM, 138 SIGUSR1). Under MPI an input
/// error (the same on every rank) is printed by rank 0 only, other errors with
/// their rank.
func reportingErrors(communicator: Communicator? = nil, _ body: () throws -> Void) throws {
    let rank = communicator?.rank ?? 0, ranks = communicator?.size ?? 1
    let prefix = ranks > 1 && rank > 0 ? "error (rank \(rank)): " : "error: "
    do {
        try body()
    } catch let e as InputError {
        if rank == 0 { FileHandle.standardError.write(Data("error: \(e.description)\n".utf8)) }
        throw ExitCode(2)
    } catch let e as TrainingError {
        if case let .interrupted(epoch, iteration, signal) = e {
            // The ranks agreed on the signal: every one exits with the same status.
            if rank == 0 {
                let line = "interrupted at epoch \(epoch), iteration \(iteration) by \(StopSignal.name(signal)); "
                    + "saved in \(Checkpoint.fileName): continue with --resume"
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
            throw ExitCode(StopSignal.exitStatus(signal))
        }
        let kept = if case .nonFinite = e { "; the last good checkpoint is kept" } else { "" }
        FileHandle.standardError.write(Data("\(prefix)\(e.description)\(kept)\n".utf8))
        throw ExitCode(3)
    } catch let e as StopSignal.Stopped {
        if rank == 0 {
            FileHandle.standardError.write(Data("interrupted by \(StopSignal.name(StopSignal.received)): \(e.what)\n".utf8))
        }
        throw ExitCode(StopSignal.exitStatus(StopSignal.received))
    } catch let e as ExitCode {
        throw e
    } catch {
        // File-system and other system errors: still one line, no trace.
        let text = "\(error.localizedDescription)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("\(prefix)\(text)\n".utf8))
        throw ExitCode(1)
    }
}

/// `--device`: this build computes on the CPU; asking for anything else is an
/// error rather than a silent fallback.
func checkDevice(_ device: String) throws {
    guard device.lowercased() == "cpu" else {
        throw InputError(file: "command line", field: "--device \(device)",
                         "this build runs on the CPU only (no GPU backend is built); use --device cpu")
    }
}

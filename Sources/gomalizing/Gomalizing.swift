import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

@main
struct Gomalizing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gomalizing",
        abstract: "Flow-based sampling for lattice scalar phi^4 theory.",
        version: "gomalizing \(Provenance.version) (\(Provenance.buildSource))",
        subcommands: [Train.self, SweepCommand.self, Watch.self, Sample.self, HMCCommand.self, ClusterCommand.self, Analyze.self, Report.self, Bench.self]
    )

    static var commandNames: [String] { configuration.subcommands.map { $0._commandName } }

    /// Parses and runs the command line. An argument error is one line on
    /// stderr and exit status 2, like every other input error; an unknown
    /// command gets a "did you mean". Help goes to stdout with status 0.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", !commandNames.contains(first) {
            let guess = Spelling.suggestion(for: first, among: commandNames).map { "did you mean '\($0)'? " } ?? ""
            failArguments("unknown command '\(first)'; \(guess)commands are \(commandNames.joined(separator: ", ")) (see gomalizing --help)")
        }
        // GOMALIZING_KERNELS chooses the convolution kernels for the whole process.
        switch KernelPath.requested(by: ProcessInfo.processInfo.environment[KernelPath.environmentVariable]) {
        case .success(let path): KernelPath.select(path)
        case .failure(let error): fail(error)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let name = arguments.first.flatMap { commandNames.contains($0) ? $0 : nil }
            let text = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            let cleaned = text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text
            failArguments(cleaned + " (see gomalizing \(name.map { "\($0) " } ?? "")--help)", command: name)
        }
    }

    /// One line, "error: command line (gomalizing CMD): WHAT", and exit status 2.
    static func failArguments(_ what: String, command: String? = nil) -> Never {
        fail(InputError(file: "command line", field: "gomalizing" + (command.map { " \($0)" } ?? ""), what))
    }

    /// "error: " and the error's line on stderr, and exit status 2.
    static func fail(_ error: InputError) -> Never {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        Foundation.exit(2)
    }
}

import Foundation

/// The machine a timing was taken on, as studies print it: CPU model, online
/// cores, and the threads a run used.
public struct MachineDescription: Sendable, Equatable {
    /// /proc/cpuinfo's model name ("unknown CPU" if absent).
    public var cpu: String
    /// Active processor count.
    public var cores: Int

    /// A machine description from its parts.
    public init(cpu: String, cores: Int) {
        self.cpu = cpu
        self.cores = cores
    }

    /// The machine this process runs on.
    public static func current() -> MachineDescription {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var cpu = "unknown CPU"
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let c = line.firstIndex(of: ":") { cpu = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces) }
            break
        }
        return MachineDescription(cpu: cpu, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// "CPU, N cores".
    public var description: String { "\(cpu), \(cores) cores" }
}

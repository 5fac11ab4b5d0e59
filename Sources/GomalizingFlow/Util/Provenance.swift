import Foundation

/// What produced a result: the program and its build, the machine, the
/// parallelism and the wall-clock times. A result folder keeps one per
/// `train` session in provenance.json (a resumed run may continue under
/// another build or machine); `sample` and `hmc` write one beside their .npy
/// (`<name>.provenance.json`: the .npy header admits no extra keys), and an
/// analysis carries the one that made it.
public struct Provenance: Codable, Equatable, Sendable {
    /// The library's version.
    public static let version = "0.10.0"

    /// "gomalizing" (or the calling program's name).
    public var program: String
    /// `Provenance.version` of the build that ran.
    public var version: String
    /// The git commit the library was built from; nil when not built from a git checkout.
    public var gitCommit: String?
    /// Whether tracked files differed from that commit at build time; nil when not built from git.
    public var gitTreeDirty: Bool?
    /// "release" or "debug".
    public var build: String
    /// /proc/cpuinfo's model name.
    public var cpu: String
    /// Online cores of the machine.
    public var cores: Int
    /// Worker threads the run used (per MPI rank).
    public var threads: Int
    /// MPI ranks (1 without MPI).
    public var ranks: Int
    /// The command, e.g. "train", "sample", "hmc", "analyze".
    public var command: String
    /// When the command started (ISO 8601, UTC).
    public var started: String
    /// When it ended; nil while it runs (or if it was killed before it could write it).
    public var ended: String?
    /// The convolution kernels (`KernelPath`: "portable" or "avx2-fma"), which
    /// set the rounding of every result; nil in records from before it was kept
    /// (those builds had the portable kernels only).
    public var kernels: String?
    /// What the command was given and made, where it matters for reading the
    /// result: for `sample` the model file, its epoch, the seed and the rows;
    /// for `hmc` the seed, step size, steps and rows.
    public var details: [String: String]?

    /// A record from its parts (`Provenance.current` in GomalizingRun makes this build's).
    public init(program: String, version: String, gitCommit: String?, gitTreeDirty: Bool?, build: String, cpu: String,
                cores: Int, threads: Int, ranks: Int, command: String, started: String, ended: String?,
                details: [String: String]?, kernels: String? = nil) {
        self.program = program
        self.version = version
        self.gitCommit = gitCommit
        self.gitTreeDirty = gitTreeDirty
        self.build = build
        self.cpu = cpu
        self.cores = cores
        self.threads = threads
        self.ranks = ranks
        self.command = command
        self.started = started
        self.ended = ended
        self.details = details
        self.kernels = kernels
    }

    /// The same record, ended at `date`.
    public func ended(at date: Date = Date()) -> Provenance {
        var p = self
        p.ended = Provenance.timestamp(date)
        return p
    }

    /// "git <commit>" with "(modified)" when the tree was dirty, or "not built from git".
    public var source: String { Provenance.describe(commit: gitCommit, dirty: gitTreeDirty) }

    public static func describe(commit: String?, dirty: Bool?) -> String {
        guard let commit else { return "not built from git" }
        return "git \(commit)" + (dirty == true ? " (modified)" : "")
    }

    /// ISO 8601 in UTC, to the second.
    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// The date of a `timestamp` string; nil if it is not one.
    public static func date(_ timestamp: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: timestamp)
    }
}

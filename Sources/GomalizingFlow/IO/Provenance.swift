import Foundation

/// What produced a result: the program and its build, the machine, the
/// parallelism and the wall-clock times. A result folder keeps one per
/// `train` session in provenance.json (a resumed run may continue under
/// another build or machine); `sample` and `hmc` write one beside their .npy
/// (`<name>.provenance.json`: the .npy header admits no extra keys), and an
/// analysis carries the one that made it.
public struct Provenance: Codable, Equatable, Sendable {
    /// The library's version.
    public static let version = "0.9.0"

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
    /// What the command was given and made, where it matters for reading the
    /// result: for `sample` the model file, its epoch, the seed and the rows;
    /// for `hmc` the seed, step size, steps and rows.
    public var details: [String: String]?

    /// The provenance of a command starting now in this process.
    public static func current(command: String, threads: Int, ranks: Int = 1, program: String = "gomalizing",
                               started: Date = Date()) -> Provenance {
        let machine = MachineDescription.current()
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return Provenance(program: program, version: version, gitCommit: buildGitCommit, gitTreeDirty: buildGitTreeDirty,
                          build: build, cpu: machine.cpu, cores: machine.cores, threads: threads, ranks: ranks,
                          command: command, started: timestamp(started), ended: nil, details: nil)
    }

    /// The same record, ended at `date`.
    public func ended(at date: Date = Date()) -> Provenance {
        var p = self
        p.ended = Provenance.timestamp(date)
        return p
    }

    /// "git <commit>" with "(modified)" when the tree was dirty, or "not built from git".
    public var source: String { Provenance.describe(commit: gitCommit, dirty: gitTreeDirty) }

    /// `source` of this build.
    public static var buildSource: String { describe(commit: buildGitCommit, dirty: buildGitTreeDirty) }

    static func describe(commit: String?, dirty: Bool?) -> String {
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

    /// The sidecar of a .npy (or any file): `x.npy` -> `x.provenance.json`.
    public static func sidecar(of url: URL) -> URL {
        url.deletingPathExtension().appendingPathExtension("provenance.json")
    }

    /// The record in `url`, nil if there is no such file.
    /// - Throws: `InputError` naming the file if it exists but is not a provenance record.
    public static func loadIfPresent(_ url: URL) throws -> Provenance? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw InputError(file: url.path, "cannot be read") }
        do {
            return try JSONDecoder().decode(Provenance.self, from: data)
        } catch {
            throw InputError(file: url.path, "is not a provenance record (expected the JSON object gomalizing writes beside a .npy)")
        }
    }

    /// Writes `self` as pretty JSON to `url`, atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Provenance.encoder.encode(self), to: url)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()
}

/// provenance.json of a result folder: one record per `train` session, oldest first.
public struct RunProvenance: Codable, Equatable, Sendable {
    /// The record's name in a result folder.
    public static let fileName = "provenance.json"

    /// The sessions that trained the run, with the epochs each finished.
    public var sessions: [Session]

    /// One `train` session: its provenance and the epochs it finished.
    public struct Session: Codable, Equatable, Sendable {
        /// What ran, where, when.
        public var provenance: Provenance
        /// The first epoch the session finished (nil before its first epoch).
        public var firstEpoch: Int?
        /// The last epoch it finished so far.
        public var lastEpoch: Int?
        /// When it finished `lastEpoch` (ISO 8601, UTC): with `provenance.ended`
        /// nil, how far a session that was killed got.
        public var lastEpochEnded: String?

        /// A session of `provenance` that finished epochs `firstEpoch` ... `lastEpoch`.
        public init(provenance: Provenance, firstEpoch: Int? = nil, lastEpoch: Int? = nil, lastEpochEnded: String? = nil) {
            self.provenance = provenance
            self.firstEpoch = firstEpoch
            self.lastEpoch = lastEpoch
            self.lastEpochEnded = lastEpochEnded
        }
    }

    /// A record of `sessions`.
    public init(sessions: [Session] = []) { self.sessions = sessions }

    /// The folder's record; an empty one if the folder has none (runs from
    /// versions before provenance was kept).
    /// - Throws: `InputError` naming the file if it exists but is not such a record.
    public static func load(in dir: URL) throws -> RunProvenance {
        let url = dir.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return RunProvenance() }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw InputError(file: url.path, "cannot be read") }
        do {
            return try JSONDecoder().decode(RunProvenance.self, from: data)
        } catch {
            throw InputError(file: url.path, "is not a provenance record (expected JSON with \"sessions\": [...]); "
                + "move it away to continue the run without the earlier sessions' record")
        }
    }

    /// A killed session may have saved its last epoch's checkpoint without
    /// noting the epoch here: the resumed checkpoint's `epoch` completes it.
    public mutating func settle(checkpointEpoch epoch: Int) {
        guard var last = sessions.popLast() else { return }
        if (last.lastEpoch ?? 0) < epoch {
            last.firstEpoch = last.firstEpoch ?? ((sessions.last?.lastEpoch ?? 0) + 1)
            last.lastEpoch = epoch
        }
        sessions.append(last)
    }

    /// Writes the record to `dir`/provenance.json, atomically.
    public func write(in dir: URL) throws {
        try AtomicFile.write(Provenance.encoder.encode(self), to: dir.appendingPathComponent(RunProvenance.fileName))
    }
}

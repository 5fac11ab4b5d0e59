import Foundation
import GomalizingFlow

/// This build's provenance (the commit the GitProvenance plugin records for
/// the run layer) and the records' files.
extension Provenance {
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
                          command: command, started: timestamp(started), ended: nil, details: nil,
                          kernels: KernelPath.active.rawValue)
    }

    /// `source` of this build.
    public static var buildSource: String { describe(commit: buildGitCommit, dirty: buildGitTreeDirty) }

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
        /// Wall seconds from the session's start to its last record (an epoch's
        /// end, or its own), by the process's clock: the training's cost
        /// (`TrainingCost`); nil in records written before it was kept.
        public var seconds: Double?

        /// A session of `provenance` that finished epochs `firstEpoch` ... `lastEpoch`.
        public init(provenance: Provenance, firstEpoch: Int? = nil, lastEpoch: Int? = nil, lastEpochEnded: String? = nil,
                    seconds: Double? = nil) {
            self.provenance = provenance
            self.firstEpoch = firstEpoch
            self.lastEpoch = lastEpoch
            self.lastEpochEnded = lastEpochEnded
            self.seconds = seconds
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

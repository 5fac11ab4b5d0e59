import Foundation
import GomalizingFlow

extension TrainingCost {
    /// The training recorded in result folders' provenance.json: every `train`
    /// session's wall seconds (its own clock; in older records, from its start
    /// to its end or, for a killed one, to the end of its last epoch), × threads × ranks. The whole run counts, not only the
    /// epochs up to the model sampled: training past it was paid for too.
    /// - Throws: `InputError` naming the folder when it records no session.
    public init(resultFolders: [String]) throws {
        var core = 0.0, sessions = 0, seen = Set<String>()
        // A folder named twice counts once.
        for folder in resultFolders where seen.insert(URL(fileURLWithPath: folder).standardizedFileURL.path).inserted {
            let dir = URL(fileURLWithPath: folder)
            let before = sessions
            let record = try RunProvenance.load(in: dir)
            guard !record.sessions.isEmpty else {
                throw InputError(file: dir.appendingPathComponent(RunProvenance.fileName).path,
                                 "records no training session (no such file, or an empty one): "
                                     + "--training expects a result folder written by `train`")
            }
            for s in record.sessions {
                let p = s.provenance
                let wall: Double
                if let seconds = s.seconds, seconds.isFinite, seconds >= 0 {
                    wall = seconds
                } else if let start = Provenance.date(p.started),
                          let end = (p.ended ?? s.lastEpochEnded).flatMap(Provenance.date), end >= start {
                    wall = end.timeIntervalSince(start)
                } else {
                    continue
                }
                core += wall * Double(max(1, p.threads)) * Double(max(1, p.ranks))
                sessions += 1
            }
            guard sessions > before else {
                throw InputError(file: dir.appendingPathComponent(RunProvenance.fileName).path,
                                 "records no session with a duration (no end, no finished epoch): its training cost is unknown")
            }
        }
        self.init(coreSeconds: core, sessions: sessions, sources: resultFolders)
    }
}

import Foundation

/// Which chain an analysis describes, recorded so that a report or a
/// comparison never shows the numbers of a chain that has since been replaced
/// or removed: the .npy's path (relative to the analysis's folder when it lies
/// inside it, so that a moved result folder still matches), its rows, and the
/// start of the command that wrote it (from its provenance record).
public struct AnalysedChain: Codable, Equatable, Sendable {
    /// The .npy, relative to the analysis's folder or absolute.
    public var path: String
    /// Rows (configurations) the file held, skipped ones included.
    public var rows: Int
    /// `started` of the chain's provenance record (`sample` or `hmc`); nil if it had none.
    public var writtenBy: String?
    /// The .npy's absolute path when analysed: where an analysis copied elsewhere finds it.
    public var absolutePath: String?

    /// The chain at `npy` with `rows` rows and provenance record `record`, for an analysis written to `analysis`.
    public init(npy: URL, rows: Int, record: Provenance?, analysis: URL) {
        let folder = analysis.deletingLastPathComponent().standardizedFileURL.path
        let file = npy.standardizedFileURL.path
        path = file.hasPrefix(folder + "/") ? String(file.dropFirst(folder.count + 1)) : file
        self.rows = rows
        writtenBy = record?.started
        absolutePath = file
    }

    /// The .npy's location, for an analysis stored at `analysis`: beside it as
    /// recorded (a moved folder), else where it was when analysed (a copied analysis).
    public func url(analysis: URL) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        let beside = analysis.deletingLastPathComponent().appendingPathComponent(path)
        if !FileManager.default.fileExists(atPath: beside.path), let absolutePath,
           FileManager.default.fileExists(atPath: absolutePath) {
            return URL(fileURLWithPath: absolutePath)
        }
        return beside
    }

    /// Why the chain on disk is no longer the one analysed, or nil while it is.
    public func staleness(analysis: URL) -> String? {
        let npy = url(analysis: analysis)
        guard FileManager.default.fileExists(atPath: npy.path) else {
            return "its chain \(npy.path) is no longer there"
        }
        guard let now = try? NpyFile(path: npy.path) else { return "its chain \(npy.path) is no longer readable" }
        if now.rowCount != rows {
            return "its chain \(npy.path) now holds \(now.rowCount) configurations, not the \(rows) analysed: it has been replaced"
        }
        let record = (try? Provenance.loadIfPresent(Provenance.sidecar(of: npy))) ?? nil
        if record?.started != writtenBy {
            return "its chain \(npy.path) has been replaced since (its provenance record is another command's)"
        }
        return nil
    }
}

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
}

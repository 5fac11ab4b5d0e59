import Foundation
import GomalizingFlow

/// Where an analysed chain is now, and whether it is still the chain analysed.
extension AnalysedChain {
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

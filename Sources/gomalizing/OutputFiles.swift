import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

/// Checks of the files a command is about to write, made before any work:
/// nothing is written over a command's input or an input's companion (a
/// chain's proposal table, its provenance record, a result folder's files),
/// and an existing file of another kind is replaced only with `--overwrite`.
enum OutputFiles {
    /// What a command writes, recognised in an existing file by its first bytes.
    enum Kind {
        /// A .npy chain (`sample`, `hmc`): an existing one is replaced only with --overwrite.
        case chain
        /// `sample`'s per-step table, "step,log_p,...".
        case chainTable
        /// `analyze`'s JSON.
        case analysisJSON
        /// `analyze`'s table, "observable,index,...".
        case analysisTable
        /// An SVG figure.
        case figure

        var words: String {
            switch self {
            case .chain: return "a chain"
            case .chainTable: return "a chain's proposal table"
            case .analysisJSON: return "an analysis"
            case .analysisTable: return "an analysis table"
            case .figure: return "a figure"
            }
        }

        func matches(_ url: URL) -> Bool {
            guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
            defer { try? h.close() }
            let head = String(decoding: (try? h.read(upToCount: 64)) ?? Data(), as: UTF8.self)
            switch self {
            case .chain: return false
            case .chainTable: return head.hasPrefix("step,log_p")
            case .analysisTable: return head.hasPrefix("observable,index")
            case .figure: return head.hasPrefix("<svg") || head.hasPrefix("<?xml")
            case .analysisJSON: return (try? Observables.load(path: url.path)) != nil
            }
        }
    }

    /// Names that belong to a result or sweep folder: never an output of another command.
    static let folderFiles: Set<String> = Set(ResultFolder.runFiles + ["config.toml", Config.settingsFileName, RunProvenance.fileName,
                                                                          "report.html", SweepTable.csvName, SweepTable.markdownName,
                                                                          SweepReport.fileName, "sweep.toml"])

    /// Refuses to write `url` if it is one of `inputs` (the command's inputs
    /// and their companions, with what each is), a result folder's file, or
    /// (without `overwrite`) an existing file that is not an earlier output of `kind`.
    static func check(_ url: URL, kind: Kind, option: String, inputs: [(URL, String)], overwrite: Bool) throws {
        for (input, what) in inputs {
            try OptionChecks.distinct(url, from: input, option: option, what: what)
        }
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        if folderFiles.contains(url.lastPathComponent) {
            throw InputError(file: "command line", field: option,
                             "\(url.path) is a result folder's \(url.lastPathComponent); it would be overwritten (choose another name)")
        }
        guard !overwrite else { return }
        if kind == .chain {
            let rows = (try? NpyFile(path: url.path)).map { " of \($0.rowCount) configurations" } ?? ""
            throw InputError(file: "command line", field: option,
                             "\(url.path) already holds a chain\(rows); replace it (its table, record and analyses go with it) "
                                + "with --overwrite, or choose another name")
        }
        if !kind.matches(url) {
            throw InputError(file: "command line", field: option,
                             "\(url.path) exists and is not \(kind.words); replace it with --overwrite, or choose another name")
        }
    }

    /// The files that describe the chain in `npy` and must not outlive it: its
    /// proposal table, its provenance record, and its analysis under the default names.
    static func chainCompanions(of npy: URL) -> [URL] {
        let base = npy.deletingPathExtension()
        let analysis = base.appendingPathExtension("analysis")
        return [base.appendingPathExtension("csv"), Provenance.sidecar(of: npy), analysis.appendingPathExtension("json"),
                analysis.appendingPathExtension("csv")]
            + ["C", "meff", "autocorr"].map { analysis.appendingPathExtension($0).appendingPathExtension("svg") }
    }

    /// Removes `chainCompanions(of:)` that are what they claim to be (a file of
    /// another kind under such a name is left alone), and says which analysis
    /// files went; call before the new chain appears.
    static func removeChainCompanions(of npy: URL) {
        let kinds: [Kind?] = [.chainTable, nil, .analysisJSON, .analysisTable, .figure, .figure, .figure]
        var analyses: [String] = []
        for (url, kind) in zip(chainCompanions(of: npy), kinds) where FileManager.default.fileExists(atPath: url.path) {
            if kind == nil || kind!.matches(url), (try? FileManager.default.removeItem(at: url)) != nil,
               [.analysisJSON, .analysisTable].contains(kind) {
                analyses.append(url.lastPathComponent)
            }
        }
        if !analyses.isEmpty { print("removed the earlier chain's analysis: \(analyses.joined(separator: ", "))") }
    }

    /// Makes sure `url` can be written, then takes its writer lock for `what`:
    /// what a command does before any work whose result it could not keep.
    static func claim(_ url: URL, option: String, for what: String) throws -> WriterLock {
        try requireWritableFolder(of: url, option: option)
        return try WriterLock.file(url, for: what)
    }

    /// Creates the folder of `url` and checks that a file can be created in it,
    /// before any work whose result would then be lost.
    static func requireWritableFolder(of url: URL, option: String) throws {
        try AtomicFile.prepareFolder(of: url)
        let probe = StaleTemporaries.temporary(for: url.deletingLastPathComponent().appendingPathComponent(".write-probe"))
        let fd = open(probe.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw InputError(file: "command line", field: option,
                             "cannot write in \(url.deletingLastPathComponent().path): \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe.path)
    }
}

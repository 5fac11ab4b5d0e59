import Foundation
import GomalizingFlow

/// The .csv that `sample` writes beside its .npy: per chain step the chain's
/// log p and log q, whether the step accepted, and the proposal's log p and
/// log q (files written before the proposal columns have only the first four).
public enum SampleTable {
    /// The proposals' log p and log q from step `skip` on; nil when the file
    /// has no proposal columns.
    public static func readProposals(path: String, skip: Int = 0) throws -> (logP: [Double], logQ: [Double])? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        var lines = text.split(whereSeparator: \.isNewline).makeIterator()
        guard let head = lines.next() else { throw InputError(file: path, "empty file; expected a CSV header") }
        let cols = head.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let ip = cols.firstIndex(of: "proposal_log_p"), let iq = cols.firstIndex(of: "proposal_log_q") else { return nil }
        var logP: [Double] = [], logQ: [Double] = []
        var row = 0
        while let line = lines.next() {
            row += 1
            guard row > skip else { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == cols.count else {
                throw InputError(file: path, field: "line \(row + 1)", "has \(cells.count) fields, header has \(cols.count)")
            }
            guard let p = Double(cells[ip]), let q = Double(cells[iq]) else {
                throw InputError(file: path, field: "line \(row + 1)", "proposal_log_p or proposal_log_q is not a number")
            }
            logP.append(p)
            logQ.append(q)
        }
        return (logP, logQ)
    }
}

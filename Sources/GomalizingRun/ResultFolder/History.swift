import Foundation
import GomalizingFlow

/// history.csv's columns and lines.
extension EpochRecord {
    /// The columns of earlier versions come first, in their order, so readers
    /// that count columns still find them.
    public static let header = "epoch,loss,loss_std,acceptance_rate,ess,best_acceptance_rate,lr,train_seconds,eval_seconds,total_seconds,best_ess,pareto_k,max_weight,positive_fraction"

    /// The record as a history.csv line in `header`'s column order, numbers as %.6g, no newline.
    public var csvLine: String {
        func f(_ x: Double) -> String { String(format: "%.6g", x) }
        return "\(epoch),\(f(loss)),\(f(lossStd)),\(f(acceptanceRate)),\(f(ess)),\(f(bestAcceptanceRate)),\(f(lr)),\(f(trainSeconds)),\(f(evalSeconds)),\(f(totalSeconds)),\(f(bestESS)),\(f(paretoK)),\(f(maxWeight)),\(f(positiveFraction))"
    }
}

/// The training history, rewritten whole and atomically after every epoch so the
/// file on disk is always a complete CSV.
public struct History {
    /// Where history.csv is written.
    public let url: URL
    /// One record per completed epoch, in order.
    public private(set) var records: [EpochRecord] = []

    /// An empty history to be written at `url`.
    public init(url: URL) { self.url = url }

    /// Replaces the records (those of a checkpoint being resumed) and rewrites the file.
    public mutating func restore(_ rs: [EpochRecord], write: Bool) throws {
        records = rs
        if write { try rewrite() }
    }

    /// Appends a record and rewrites the whole file atomically.
    /// - Throws: `InputError` naming the file if it cannot be written.
    public mutating func append(_ r: EpochRecord) throws {
        records.append(r)
        try rewrite()
    }

    /// Appends without writing (ranks other than 0 keep the history in memory only).
    public mutating func appendInMemory(_ r: EpochRecord) { records.append(r) }

    private func rewrite() throws {
        let text = ([EpochRecord.header] + records.map(\.csvLine)).joined(separator: "\n") + "\n"
        try AtomicFile.write(text, to: url)
    }

    /// Reads a history.csv: a table of doubles keyed by column name.
    public static func read(path: String) throws -> [String: [Double]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        let lines = text.split(whereSeparator: \.isNewline)
        guard let head = lines.first else { throw InputError(file: path, "empty file; expected a CSV header") }
        let cols = head.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard Set(cols).count == cols.count else { throw InputError(file: path, field: "header", "repeats a column name") }
        var table = [String: [Double]](uniqueKeysWithValues: cols.map { ($0, []) })
        for (i, line) in lines.dropFirst().enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == cols.count else { throw InputError(file: path, field: "line \(i + 2)", "has \(cells.count) fields, header has \(cols.count)") }
            for (c, cell) in zip(cols, cells) {
                guard let v = Double(cell) else { throw InputError(file: path, field: "line \(i + 2), column \(c)", "not a number: \(cell)") }
                table[c]!.append(v)
            }
        }
        return table
    }
}

import Foundation

/// One row of history.csv.
public struct EpochRecord: Equatable, Sendable {
    /// Epoch number, from 1.
    public var epoch: Int
    /// Mean and standard deviation of the reverse-KL loss over the epoch's iterations.
    public var loss: Double
    /// Standard deviation of the loss over the epoch's iterations.
    public var lossStd: Double
    /// Independence Metropolis-Hastings acceptance over the evaluation proposals, percent.
    public var acceptanceRate: Double
    /// (sum w)^2 / (N sum w^2) over the evaluation proposals.
    public var ess: Double
    /// Highest `acceptanceRate` up to this epoch, percent (that of model_best.safetensors).
    public var bestAcceptanceRate: Double
    /// Learning rate of the epoch, from the schedule.
    public var lr: Double
    /// Wall seconds of the epoch's optimisation steps.
    public var trainSeconds: Double
    /// Wall seconds of the epoch's evaluation.
    public var evalSeconds: Double
    /// Wall seconds of the run up to the end of this epoch, counted across
    /// resumes (the slowest rank's under MPI).
    public var totalSeconds: Double
    /// The largest `ess` so far (that of model_best_ess.safetensors).
    public var bestESS: Double
    /// Pareto shape of the evaluation weights' upper tail (see `WeightDiagnostics`).
    public var paretoK: Double
    /// The largest normalised evaluation weight, max w / sum w.
    public var maxWeight: Double

    /// A record from its columns; the last three default to NaN (records of earlier versions).
    public init(epoch: Int, loss: Double, lossStd: Double, acceptanceRate: Double, ess: Double, bestAcceptanceRate: Double,
                lr: Double, trainSeconds: Double, evalSeconds: Double, totalSeconds: Double, bestESS: Double = .nan,
                paretoK: Double = .nan, maxWeight: Double = .nan) {
        self.epoch = epoch
        self.loss = loss
        self.lossStd = lossStd
        self.acceptanceRate = acceptanceRate
        self.ess = ess
        self.bestAcceptanceRate = bestAcceptanceRate
        self.lr = lr
        self.trainSeconds = trainSeconds
        self.evalSeconds = evalSeconds
        self.totalSeconds = totalSeconds
        self.bestESS = bestESS
        self.paretoK = paretoK
        self.maxWeight = maxWeight
    }

    /// The columns of earlier versions come first, in their order, so readers
    /// that count columns still find them.
    public static let header = "epoch,loss,loss_std,acceptance_rate,ess,best_acceptance_rate,lr,train_seconds,eval_seconds,total_seconds,best_ess,pareto_k,max_weight"

    /// The record as a history.csv line in `header`'s column order, numbers as %.6g, no newline.
    public var csvLine: String {
        func f(_ x: Double) -> String { String(format: "%.6g", x) }
        return "\(epoch),\(f(loss)),\(f(lossStd)),\(f(acceptanceRate)),\(f(ess)),\(f(bestAcceptanceRate)),\(f(lr)),\(f(trainSeconds)),\(f(evalSeconds)),\(f(totalSeconds)),\(f(bestESS)),\(f(paretoK)),\(f(maxWeight))"
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

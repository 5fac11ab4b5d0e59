import Foundation
import GomalizingFlow

/// One run of a sweep as its result folder tells it: how far it got, how fast
/// a step was, and when it first reached each acceptance threshold. Everything
/// is read off history.csv and settings.txt, so a rerun tabulates the same.
public struct RunSummary: Sendable {
    /// How far a run got, as the sweep's tables and `--list` name it.
    public enum Status: String, Sendable {
        case notStarted = "not started"
        case incomplete
        case done
        case stoppedAtAcceptance = "stopped: acceptance"
        case stoppedAtTime = "stopped: wall time"
    }

    /// Epoch and total wall seconds at which acceptance first reached a threshold.
    public struct Reach: Sendable, Equatable {
        /// The first epoch with acceptance at or above the threshold.
        public var epoch: Int
        /// The run's total wall seconds (training and evaluation) at the end of that epoch.
        public var seconds: Double
    }

    /// Acceptance thresholds (percent) whose first epochs the tables report.
    public static let thresholds: [Double] = [25, 50, 70]

    /// A threshold as column names show it: "50", "42.5".
    public static func label(_ threshold: Double) -> String {
        threshold == threshold.rounded() ? "\(Int(threshold))" : "\(threshold)"
    }

    /// The sweep's run this summarises.
    public var run: SweepSpec.Run
    /// How far the run got, read against its stop rule and epochs.
    public var status: Status
    /// Its history, up to the epoch where the sweep's stop rule ends it.
    public var records: [EpochRecord]
    /// Threads the run's (latest) training used, from settings.txt.
    public var threads: Int?
    /// Trainable parameters of the run's model.
    public var parameters: Int
    /// Median over epochs of train seconds per step, in milliseconds.
    public var msPerStep: Double
    /// The acceptance thresholds `reached` was read for.
    public var thresholds: [Double]
    /// For each threshold reached, where it was first reached.
    public var reached: [Double: Reach]
    /// How the run in the folder differs from the sweep's run now (its
    /// checkpoint's definition against the config), empty when it does not.
    public var differences: [String]

    /// Epochs in `records`.
    public var epochsDone: Int { records.count }
    /// The highest acceptance (percent) and its epoch.
    public var bestAcceptance: (value: Double, epoch: Int)? { best(\.acceptanceRate) }
    /// The highest ESS and its epoch.
    public var bestESS: (value: Double, epoch: Int)? { best(\.ess) }
    /// Wall seconds at the end of the last epoch read (0 before any).
    public var totalSeconds: Double { records.last?.totalSeconds ?? 0 }

    private func best(_ key: KeyPath<EpochRecord, Double>) -> (value: Double, epoch: Int)? {
        var out: (value: Double, epoch: Int)? = nil
        for r in records where r[keyPath: key].isFinite && r[keyPath: key] > (out?.value ?? -.infinity) {
            out = (r[keyPath: key], r.epoch)
        }
        return out
    }

    /// Reads the run's result folder `folder/<run name>`: history.csv, settings.txt and the checkpoint;
    /// `thresholds` are the acceptances whose first epochs `reached` records.
    /// - Throws: `InputError` for a history or checkpoint that cannot be read.
    public init(run: SweepSpec.Run, folder: URL, thresholds: [Double] = RunSummary.thresholds) throws {
        self.run = run
        self.thresholds = thresholds
        let dir = folder.appendingPathComponent(run.name)
        let historyURL = dir.appendingPathComponent("history.csv")
        records = FileManager.default.fileExists(atPath: historyURL.path) ? try RunSummary.records(historyURL.path) : []
        let t = run.config.training
        if records.isEmpty {
            status = .notStarted
        } else if let stop = EarlyStop.check(records, t) {
            status = { if case .acceptance = stop { return .stoppedAtAcceptance } else { return .stoppedAtTime } }()
            // A run trained further than the sweep's stop rule now allows (the
            // budget was lowered) is read as far as the rule, so every run of
            // the table is measured alike.
            records.removeAll { $0.epoch > stop.epoch }
        } else {
            status = records.count >= t.epochs ? .done : .incomplete
        }
        threads = RunSummary.threads(in: dir.appendingPathComponent(Config.settingsFileName))
        parameters = Int(ModelFootprint(spec: run.config.model).parameters)
        let perStep = records.map { 1000 * $0.trainSeconds / Double(t.iterations) }.sorted()
        msPerStep = perStep.isEmpty ? .nan : perStep[perStep.count / 2]
        var reached: [Double: Reach] = [:]
        for th in thresholds {
            if let r = records.first(where: { $0.acceptanceRate >= th }) { reached[th] = Reach(epoch: r.epoch, seconds: r.totalSeconds) }
        }
        self.reached = reached
        let checkpoint = dir.appendingPathComponent(Checkpoint.fileName)
        if FileManager.default.fileExists(atPath: checkpoint.path),
           let recorded = try Checkpoint.definition(in: SafeTensors.load(path: checkpoint.path).metadata, file: checkpoint.path) {
            differences = Config.definitionDifferences(run: recorded, now: run.config.runDefinition)
        } else {
            differences = []
        }
    }

    /// Mean acceptance over the `n` epochs that end at `epoch` (fewer at the
    /// start), if the run got there: one evaluation's acceptance scatters by
    /// several percent, a mean over epochs much less.
    public func meanAcceptance(upTo epoch: Int, lastEpochs n: Int = 10) -> Double? {
        mean(\.acceptanceRate, upTo: epoch, lastEpochs: n)
    }

    /// Mean of a history column over the `n` epochs that end at `epoch` (fewer
    /// at the start), if the run got there.
    public func mean(_ column: KeyPath<EpochRecord, Double>, upTo epoch: Int, lastEpochs n: Int = 10) -> Double? {
        guard records.contains(where: { $0.epoch == epoch }) else { return nil }
        let window = records.filter { $0.epoch > epoch - n && $0.epoch <= epoch }
        return window.map { $0[keyPath: column] }.reduce(0, +) / Double(window.count)
    }

    /// Mean acceptance over the last `n` epochs of a run that used its whole
    /// budget (wall time or epochs): the level it trained to, steadier than
    /// the best single evaluation. Nil for a run still going or stopped at an
    /// acceptance threshold, whose last epochs say where it stopped instead.
    public func finalAcceptance(lastEpochs n: Int = 10) -> Double? { final(\.acceptanceRate, lastEpochs: n) }

    /// Mean ESS over the last `n` epochs of a run that used its whole budget
    /// (nil otherwise, as `finalAcceptance`).
    public func finalESS(lastEpochs n: Int = 10) -> Double? { final(\.ess, lastEpochs: n) }

    private func final(_ column: KeyPath<EpochRecord, Double>, lastEpochs n: Int) -> Double? {
        guard status == .done || status == .stoppedAtTime, let last = records.last else { return nil }
        return mean(column, upTo: last.epoch, lastEpochs: n)
    }

    /// Whether the sweep has nothing left to do for this run.
    public var isFinished: Bool { status != .notStarted && status != .incomplete }

    static func records(_ path: String) throws -> [EpochRecord] {
        let table = try History.read(path: path)
        func col(_ name: String) throws -> [Double] {
            guard let c = table[name] else { throw InputError(file: path, field: name, "missing column") }
            return c
        }
        let epoch = try col("epoch"), loss = try col("loss"), acc = try col("acceptance_rate"), ess = try col("ess")
        let train = try col("train_seconds"), eval = try col("eval_seconds"), total = try col("total_seconds")
        return epoch.indices.map { i in
            EpochRecord(epoch: Int(epoch[i]), loss: loss[i], lossStd: table["loss_std"]?[i] ?? .nan, acceptanceRate: acc[i],
                        ess: ess[i], bestAcceptanceRate: table["best_acceptance_rate"]?[i] ?? .nan, lr: table["lr"]?[i] ?? .nan,
                        trainSeconds: train[i], evalSeconds: eval[i], totalSeconds: total[i])
        }
    }

    /// "[device] threads = 2" from a settings.txt, if recorded.
    static func threads(in url: URL) -> Int? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("[device] threads = ") {
            return Int(line.dropFirst("[device] threads = ".count).prefix { $0.isNumber })
        }
        return nil
    }
}

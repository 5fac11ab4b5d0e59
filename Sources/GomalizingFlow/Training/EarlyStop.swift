/// Why a run ended before its last epoch: `[training] stop_at_acceptance` or
/// `stop_after_seconds` was reached. Read off the history, so a resumed run,
/// `train` and `sweep` agree on it without extra state; a continuation with a
/// higher threshold or a longer budget simply goes on.
public enum EarlyStop: Equatable, Sendable, CustomStringConvertible {
    /// The epoch's acceptance, `reached` percent, reached `threshold` (`stop_at_acceptance`).
    case acceptance(epoch: Int, reached: Double, threshold: Double)
    /// The run's wall time at the epoch's end, `seconds`, reached `limit` (`stop_after_seconds`).
    case wallTime(epoch: Int, seconds: Double, limit: Double)

    /// The epoch the run stopped after.
    public var epoch: Int {
        switch self {
        case let .acceptance(e, _, _), let .wallTime(e, _, _): return e
        }
    }

    /// The first epoch of `records` at which either criterion holds.
    public static func check(_ records: [EpochRecord], _ training: TrainingSettings) -> EarlyStop? {
        guard training.stopAtAcceptance != nil || training.stopAfterSeconds != nil else { return nil }
        // Compared as history.csv and the checkpoint hold them (6 digits), so
        // that a live run and a resumed or tabulated one decide alike.
        func recorded(_ x: Double) -> Double { Double(String(format: "%.6g", x)) ?? x }
        for r in records {
            if let a = training.stopAtAcceptance, recorded(r.acceptanceRate) >= a {
                return .acceptance(epoch: r.epoch, reached: recorded(r.acceptanceRate), threshold: a)
            }
            if let t = training.stopAfterSeconds, recorded(r.totalSeconds) >= t {
                return .wallTime(epoch: r.epoch, seconds: recorded(r.totalSeconds), limit: t)
            }
        }
        return nil
    }

    /// One line saying which criterion stopped the run after which epoch.
    public var description: String {
        switch self {
        case let .acceptance(e, reached, threshold):
            return "stopped after epoch \(e): acceptance \(String(format: "%.2f", reached))% reached stop_at_acceptance = \(threshold.formatted)"
        case let .wallTime(e, seconds, limit):
            return "stopped after epoch \(e): \(String(format: "%.0f", seconds)) s of training reached stop_after_seconds = \(limit.formatted)"
        }
    }
}

private extension Double {
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : "\(self)" }
}

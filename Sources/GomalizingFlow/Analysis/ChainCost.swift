import Foundation

/// What a chain cost to make, from the record of the command that made it
/// (`sample`, `hmc`): core-seconds = wall seconds × threads × MPI ranks, spread
/// evenly over its configurations. The cost of one independent sample of an
/// observable is then the cost of a configuration × 2 tau_int (tau_int in
/// configurations of this chain: 1/2 for independent ones).
public struct ChainCost: Codable, Equatable, Sendable {
    /// The command's wall time: from its start (model load, pilot, burn-in) to
    /// the last configuration written.
    public var wallSeconds: Double
    /// Worker threads per rank.
    public var threads: Int
    /// MPI ranks.
    public var ranks: Int
    /// Configurations the chain holds (all rows, before any `--skip`).
    public var configurations: Int
    /// "measured" (the command's own clock) or "timestamps" (its start and end
    /// times, whole seconds: records written before the clock was kept).
    public var clock: String

    /// A cost from its parts.
    public init(wallSeconds: Double, threads: Int, ranks: Int, configurations: Int, clock: String = "measured") {
        self.wallSeconds = wallSeconds
        self.threads = threads
        self.ranks = ranks
        self.configurations = configurations
        self.clock = clock
    }

    /// The cost a chain's record states: its `details["seconds"]`, or else its
    /// start and end times; nil where the record has neither, no rows, or
    /// values that are not a cost (a killed command's record has no end; whole-second
    /// timestamps that are equal say only "under a second").
    public init?(record: Provenance) {
        guard let rows = record.details?["rows"].flatMap(Int.init), rows > 0, record.threads > 0, record.ranks > 0 else { return nil }
        if let s = record.details?["seconds"].flatMap(Double.init), s.isFinite, s >= 0 {
            self.init(wallSeconds: s, threads: record.threads, ranks: record.ranks, configurations: rows)
        } else if let ended = record.ended, let a = Provenance.date(record.started), let b = Provenance.date(ended), b > a {
            // Whole seconds: a chain that started and ended within one second has no usable cost.
            self.init(wallSeconds: b.timeIntervalSince(a), threads: record.threads, ranks: record.ranks, configurations: rows,
                      clock: "timestamps")
        } else {
            return nil
        }
    }

    /// Wall seconds × threads × ranks.
    public var coreSeconds: Double { wallSeconds * Double(threads) * Double(ranks) }

    /// Core-seconds per configuration.
    public var perConfiguration: Double { coreSeconds / Double(configurations) }

    /// Core-seconds per independent sample of an observable with this tau_int.
    public func perIndependentSample(tauInt: Double) -> Double { perConfiguration * 2 * tauInt }
}

/// The training behind a flow chain, in core-seconds, to be amortised over the
/// independent samples drawn from it.
public struct TrainingCost: Codable, Equatable, Sendable {
    /// Core-seconds of all the training sessions counted.
    public var coreSeconds: Double
    /// Sessions counted.
    public var sessions: Int
    /// Where they were recorded (result folders), as given.
    public var sources: [String]
    /// The independent samples it is amortised over in the analysis that records it (`analyze --amortise`).
    public var amortisedOver: Int?

    /// A cost from its parts.
    public init(coreSeconds: Double, sessions: Int, sources: [String]) {
        self.coreSeconds = coreSeconds
        self.sessions = sessions
        self.sources = sources
    }

    /// Training amortised over `samples` independent samples, added to a chain's
    /// cost per independent sample.
    public func amortised(_ perIndependentSample: Double, over samples: Double) -> Double {
        perIndependentSample + coreSeconds / samples
    }

    /// The number of independent samples at which flow + training costs what the
    /// other chain does: training / (other − this); nil where this chain is not
    /// cheaper per sample (the training is never paid back).
    public func breakEven(this: Double, other: Double) -> Double? {
        guard this.isFinite, other.isFinite, other > this else { return nil }
        return coreSeconds / (other - this)
    }
}

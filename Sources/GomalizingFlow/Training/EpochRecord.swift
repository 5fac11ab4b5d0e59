import Foundation

/// What an epoch of training measured (a row of history.csv).
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
    /// Fraction of the evaluation proposals with M > 0: near 1/2 for a flow that
    /// covers both vacua of the Z2-symmetric action, near 0 or 1 for one that
    /// has collapsed onto one (NaN in records of earlier versions).
    public var positiveFraction: Double

    /// A record from its columns; the last four default to NaN (records of earlier versions).
    public init(epoch: Int, loss: Double, lossStd: Double, acceptanceRate: Double, ess: Double, bestAcceptanceRate: Double,
                lr: Double, trainSeconds: Double, evalSeconds: Double, totalSeconds: Double, bestESS: Double = .nan,
                paretoK: Double = .nan, maxWeight: Double = .nan, positiveFraction: Double = .nan) {
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
        self.positiveFraction = positiveFraction
    }
}

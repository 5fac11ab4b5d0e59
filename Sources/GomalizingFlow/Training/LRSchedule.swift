import Foundation

/// The learning rate per epoch ([training] lr_scheduler).
public indirect enum LRSchedule: Equatable, Sendable {
    /// base_lr throughout.
    case constant
    /// base_lr * decay^k in epoch e, k = how many of `epochs` lie before e:
    /// the rate is multiplied by `decay` after each listed epoch.
    case step(decay: Double, epochs: [Int])
    /// base_lr * decay^(e-1) (ParameterSchedulers.jl's `Exp(λ, γ)`).
    case exponential(decay: Double)
    /// Cosine decay from base_lr at epoch 1 to `min` at epoch `epochs` + 1,
    /// then `min`: min + (base_lr - min) (1 + cos(π min(e-1, epochs)/epochs)) / 2.
    case cosine(epochs: Int, min: Double)
    /// Linear warm-up, base_lr * e / epochs for e <= epochs, then `then` as if
    /// its epoch 1 came right after the warm-up.
    case warmup(epochs: Int, then: LRSchedule)

    /// The learning rate of `epoch` (counted from 1) for the base rate `base`.
    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant: return base
        case let .step(decay, epochs):
            var lr = base
            for b in epochs where epoch > b { lr *= decay }
            return lr
        case let .exponential(decay):
            return base * Foundation.pow(decay, Double(epoch - 1))
        case let .cosine(epochs, minimum):
            let t = Double(Swift.min(Swift.max(epoch - 1, 0), epochs)) / Double(epochs)
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * t)) / 2
        case let .warmup(epochs, then):
            return epoch <= epochs ? base * Double(epoch) / Double(epochs) : then.rate(base: base, epoch: epoch - epochs)
        }
    }
}

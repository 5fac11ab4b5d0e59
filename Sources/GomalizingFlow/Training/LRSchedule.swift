/// The learning rate per epoch ([training] lr_scheduler).
public enum LRSchedule: Equatable, Sendable {
    /// base_lr throughout.
    case constant
    /// base_lr * decay^k in epoch e, k = how many of `epochs` lie before e:
    /// the rate is multiplied by `decay` after each listed epoch.
    case step(decay: Double, epochs: [Int])

    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant: return base
        case let .step(decay, epochs):
            var lr = base
            for b in epochs where epoch > b { lr *= decay }
            return lr
        }
    }
}

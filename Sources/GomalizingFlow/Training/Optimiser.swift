import Foundation

/// `[training] opt`: GomalizingFlow.jl names a Flux optimiser and calls it
/// with `base_lr` (`opt = "AdamW"` means `AdamW(base_lr)`), so every other
/// hyperparameter is Flux's default.
public enum OptimiserKind: String, Equatable, Sendable, CaseIterable {
    /// Flux `Adam(η)`: β = (0.9, 0.999), ϵ = 1e-8, bias-corrected moments.
    case adam = "Adam"
    /// Flux `AdamW(η)` = Adam followed by `WeightDecay(0)`: with Flux's default
    /// decay of 0 it takes the same steps as Adam.
    case adamW = "AdamW"
    /// Flux `RMSProp(η)`: ρ = 0.9, ϵ = 1e-8; acc <- ρ acc + (1-ρ) g², p <- p - η g / (√acc + ϵ).
    case rmsProp = "RMSProp"
    /// Flux `Descent(η)`: p <- p - η g.
    case descent = "Descent"
    /// Flux `Momentum(η)`: ρ = 0.9; v <- ρ v - η g, p <- p + v.
    case momentum = "Momentum"
    /// Flux `Nesterov(η)`: ρ = 0.9; d = ρ² v - (1+ρ) η g, v <- ρ v - η g, p <- p + d.
    case nesterov = "Nesterov"

    /// The name as a config writes it, in any case; "ADAM" is Flux's older spelling.
    public static func parse(_ s: String) -> OptimiserKind? {
        allCases.first { $0.rawValue.lowercased() == s.lowercased() }
    }
}

/// The optimiser of a training run, with optional clipping of the whole
/// gradient's norm (as PyTorch's clip_grad_norm_: a gradient longer than
/// `clipNorm` is scaled to that length first; Flux's ClipNorm would clip each
/// parameter array on its own, and GomalizingFlow.jl has no clipping). Its state is kept in Float32 like the parameters, in two
/// vectors whose meaning depends on the kind: Adam's moments m and v,
/// RMSProp's accumulator in v, the velocity of Momentum and Nesterov in m.
public struct Optimiser: Sendable {
    /// Which Flux update rule `update` applies.
    public let kind: OptimiserKind
    /// Learning rate η; the trainer sets it each epoch from the schedule.
    public var lr: Double
    /// Largest L2 norm of the whole gradient, or nil for no clipping.
    public var clipNorm: Double?
    /// Per parameter, the factor its learning rate is lr times (nil: 1 for all):
    /// a parameter group's own rate, such as `[training] shear_lr`. Not state:
    /// the trainer sets it from the settings, also on a resumed run.
    public var rateScale: [Float]? = nil
    /// Adam's decay of the first moment.
    public let beta1 = 0.9
    /// Adam's decay of the second moment.
    public let beta2 = 0.999
    /// ρ of RMSProp, Momentum and Nesterov.
    public let rho = 0.9
    /// ϵ of Adam and RMSProp.
    public let eps = 1e-8
    /// Updates applied so far (Adam's t of the bias correction).
    public private(set) var step = 0
    /// Adam's first moment, or the velocity of Momentum and Nesterov; one per parameter.
    public var m: [Float]
    /// Adam's second moment, or RMSProp's accumulator; one per parameter.
    public var v: [Float]

    /// A fresh optimiser, zero state, for `parameterCount` parameters.
    public init(kind: OptimiserKind = .adam, parameterCount: Int, lr: Double, clipNorm: Double? = nil) {
        self.kind = kind
        self.lr = lr
        self.clipNorm = clipNorm
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores a saved state.
    public init(kind: OptimiserKind = .adam, lr: Double, step: Int, m: [Float], v: [Float], clipNorm: Double? = nil) {
        self.kind = kind
        self.lr = lr
        self.step = step
        self.m = m
        self.v = v
        self.clipNorm = clipNorm
    }

    /// The factor the gradient is scaled by: 1 unless it is longer than clipNorm.
    static func clipScale(_ g: [Float], _ clip: Double?) -> Float {
        guard let clip else { return 1 }
        var s = 0.0
        for x in g { s += Double(x) * Double(x) }
        let norm = s.squareRoot()
        return norm > clip ? Float(clip / norm) : 1
    }

    /// One step: scales `raw` to `clipNorm` if it is longer, then updates `params`
    /// in place by `kind`'s rule.
    public mutating func update(_ params: inout [Float], gradient raw: [Float]) {
        precondition(params.count == raw.count && raw.count == m.count)
        precondition(rateScale.map { $0.count == m.count } ?? true, "one rate factor per parameter")
        step += 1
        let scale = Optimiser.clipScale(raw, clipNorm)
        // Unclipped, the gradient is used as it is (bit for bit the unclipped arithmetic).
        let g = scale == 1 ? raw : raw.map { $0 * scale }
        switch kind {
        case .adam, .adamW: adamStep(&params, g)
        case .rmsProp: rmsPropStep(&params, g)
        case .descent:
            let lr = Float(self.lr), rates = rateScale
            for i in params.indices { params[i] -= Optimiser.rate(lr, rates, i) * g[i] }
        case .momentum, .nesterov: momentumStep(&params, g, nesterov: kind == .nesterov)
        }
    }

    /// Parameter i's rate: lr, or lr times its `rateScale` (without one the
    /// arithmetic is the plain rule's, bit for bit).
    @inline(__always)
    private static func rate(_ lr: Float, _ rates: [Float]?, _ i: Int) -> Float {
        guard let rates else { return lr }
        return lr * rates[i]
    }

    /// m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g², p <- p - lr (m/(1-b1^t)) / (√(v/(1-b2^t)) + eps).
    private mutating func adamStep(_ params: inout [Float], _ g: [Float]) {
        let b1 = Float(beta1), b2 = Float(beta2)
        let c1 = Float(1 - Foundation.pow(beta1, Double(step)))
        let c2 = Float(1 - Foundation.pow(beta2, Double(step)))
        let lr = Float(self.lr), eps = Float(self.eps), rates = rateScale
        let n = g.count
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        let gi = g[i]
                        m[i] = b1 * m[i] + (1 - b1) * gi
                        v[i] = b2 * v[i] + (1 - b2) * gi * gi
                        let mh = m[i] / c1
                        let vh = v[i] / c2
                        p[i] -= Optimiser.rate(lr, rates, i) * mh / (vh.squareRoot() + eps)
                    }
                }
            }
        }
    }

    private mutating func rmsPropStep(_ params: inout [Float], _ g: [Float]) {
        let rho = Float(self.rho), lr = Float(self.lr), eps = Float(self.eps), rates = rateScale
        for i in params.indices {
            v[i] = rho * v[i] + (1 - rho) * g[i] * g[i]
            params[i] -= g[i] * (Optimiser.rate(lr, rates, i) / (v[i].squareRoot() + eps))
        }
    }

    private mutating func momentumStep(_ params: inout [Float], _ g: [Float], nesterov: Bool) {
        let rho = Float(self.rho), lr = Float(self.lr), rates = rateScale
        for i in params.indices {
            let li = Optimiser.rate(lr, rates, i)
            let d = rho * rho * m[i] - (1 + rho) * li * g[i]
            m[i] = rho * m[i] - li * g[i]
            params[i] += nesterov ? d : m[i]
        }
    }
}

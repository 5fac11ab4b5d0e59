/// Which distribution the flow's input z is drawn from ([training] prior).
public enum PriorSpec: Equatable, Sendable {
    /// Independent standard normal per site (the default).
    case normal
    /// GomalizingFlow.jl's Potential: exp(-(m2 x^2 + lam x^4)) on [xmin, xmax] per site.
    case potential(m2: Double, lam: Double, xmin: Double, xmax: Double)

    /// Short text form, e.g. "normal"; part of the run definition.
    public var description: String {
        switch self {
        case .normal: return "normal"
        case let .potential(m2, lam, xmin, xmax): return "potential(m2=\(m2), lam=\(lam), x in [\(xmin), \(xmax)])"
        }
    }
}

/// The prior of a whole configuration of `volume` sites: log density and exact draws.
public struct Prior: Sendable {
    /// Sites per configuration.
    public let volume: Int
    /// Which distribution every site follows.
    public let spec: PriorSpec
    private let normal: NormalPrior
    private let potential: PotentialPrior?

    /// The prior `spec` over `volume` sites (a potential prior's log Z is computed here).
    public init(_ spec: PriorSpec = .normal, volume: Int) {
        self.volume = volume
        self.spec = spec
        normal = NormalPrior(volume: volume)
        if case let .potential(m2, lam, xmin, xmax) = spec {
            potential = PotentialPrior(m2: m2, lam: lam, xmin: xmin, xmax: xmax)
        } else {
            potential = nil
        }
    }

    /// log q0(z) of one configuration of `volume` values, in Float64 (-inf outside
    /// a potential prior's interval).
    public func logDensity<T: BinaryFloatingPoint>(_ z: UnsafePointer<T>) -> Double {
        guard let potential else { return normal.logDensity(z) }
        var s = 0.0
        for i in 0..<volume { s += potential.logDensity(Double(z[i])) }
        return s
    }

    /// d log q0 / dz of one configuration into `g`: -z for the normal prior,
    /// -(2 m2 z + 4 lam z^3) for the potential one (inside its box).
    public func logDensityGradient<T: BinaryFloatingPoint>(_ z: UnsafePointer<T>, into g: UnsafeMutablePointer<T>) {
        guard case let .potential(m2, lam, _, _) = spec else {
            for i in 0..<volume { g[i] = -z[i] }
            return
        }
        for i in 0..<volume {
            let x = Double(z[i])
            g[i] = T(-(2 * m2 * x + 4 * lam * x * x * x))
        }
    }

    /// Fills `count` configurations of `volume` sites.
    public func sample<T: BinaryFloatingPoint>(into z: UnsafeMutablePointer<T>, count: Int, rng: inout Xoshiro256) {
        guard let potential else { return normal.sample(into: z, count: count, rng: &rng) }
        for i in 0..<(count * volume) {
            z[i] = T(potential.sample(&rng))
        }
    }
}

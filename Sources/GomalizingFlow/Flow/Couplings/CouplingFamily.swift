extension ModelSpec {
    /// The model family of a flow's couplings, with its settings: the one
    /// place that lists the `CouplingMap` conformers. A new family is a case
    /// here, its conformer's file, and its keys in the config.
    public enum Coupling: Equatable, Sendable {
        /// y = x e^s + t (GomalizingFlow.jl's real NVP), the default.
        case affine
        /// Rational-quadratic spline couplings.
        case spline(SplineCoupling)

        /// The conformer that runs the family's passes.
        public var map: any CouplingMap {
            switch self {
            case .affine: return AffineCoupling()
            case let .spline(s): return s
            }
        }

        /// Every family once, with its default settings (the config's
        /// defaults): the shared exactness tests run over this list.
        public static let families: [Coupling] = [.affine, .spline(SplineCoupling(bins: 8, bound: 5))]

        /// The config's name of the family, `[model] type`.
        public var typeName: String { map.typeName }

        /// The family and its settings as a config gives them, for messages.
        public var summary: String {
            switch self {
            case .affine: return "type = \"affine\""
            case let .spline(s): return "type = \"spline\" with \(s.bins) bins on [-\(s.bound), \(s.bound)]"
            }
        }
    }
}

import GomalizingFlow
/// The `[model]` keys of each coupling family (`ModelSpec.Coupling`): the
/// config's one place per family.
public enum ConfigCoupling {
    /// `type` and the family's own keys; refuses keys of another family and
    /// settings the family does not have.
    static func parse(_ mod: inout TOMLSection) throws -> ModelSpec.Coupling {
        let family = try mod.string("type", default: "affine", "\"affine\" (GomalizingFlow.jl's couplings) or \"spline\"").lowercased()
        guard let chosen = ModelSpec.Coupling.families.first(where: { $0.typeName == family }) else {
            throw mod.fail("type", "expected \"affine\" (y = x e^s + t, GomalizingFlow.jl's couplings) or \"spline\" (rational-quadratic spline couplings), got \"\(family)\"")
        }
        for other in ModelSpec.Coupling.families where other.typeName != family {
            for key in ownKeys(other) where mod.raw(key) != nil {
                throw mod.fail(key, "applies to type = \"\(other.typeName)\" only; remove it or set type = \"\(other.typeName)\"")
            }
        }
        // Exhaustive: a new case of ModelSpec.Coupling does not compile until it is read here.
        switch chosen {
        case .spline:
            let bins = try mod.int("spline_bins", default: 8, "an integer from 2 to 64") { $0 >= 2 && $0 <= 64 }
            // Bounded both ways: the knots' rounding in Float grows with B, and B -> 0 leaves no bins.
            let bound = try mod.double("spline_bound", default: 5.0, "a half-width from 0.01 to 100, e.g. 5.0") { $0 >= 0.01 && $0 <= 100 }
            for key in ["use_bn", "z2_equivariant", "use_final_tanh"] where mod.raw(key) != nil {
                if try mod.bool(key) {
                    throw mod.fail(key, "does not apply to type = \"spline\" (its nets end in a linear layer, without batch norms or the Z2 symmetrisation); remove it or set it false")
                }
            }
            return .spline(SplineCoupling(bins: bins, bound: bound))
        case .affine:
            return .affine
        }
    }

    /// The family as `train`'s start line names it before "couplings": nothing for the default.
    public static func label(_ coupling: ModelSpec.Coupling) -> String {
        switch coupling {
        case .affine: return ""
        case let .spline(s): return "spline (\(s.bins) bins) "
        }
    }

    /// The `[model]` keys only this family reads.
    static func ownKeys(_ coupling: ModelSpec.Coupling) -> [String] {
        switch coupling {
        case .affine: return []
        case .spline: return ["spline_bins", "spline_bound"]
        }
    }

    /// What `outC` must be, in words.
    static func outputsExpected(_ coupling: ModelSpec.Coupling) -> String {
        switch coupling {
        case .affine: return "2 (the s and t channels)"
        case .spline: return "\(coupling.map.parametersPerSite) (3 spline_bins - 1 spline parameters per site)"
        }
    }

    /// The family's keys in a run definition (`Config.runDefinition`), beside `[model] type`.
    static func definition(_ coupling: ModelSpec.Coupling) -> [String: String] {
        switch coupling {
        case .affine: return [:]
        case let .spline(s): return ["[model] spline_bins": "\(s.bins)", "[model] spline_bound": "\(s.bound)"]
        }
    }
}

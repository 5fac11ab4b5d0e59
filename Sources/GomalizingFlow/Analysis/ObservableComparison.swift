import Foundation

/// Two analyses of the same theory side by side, e.g. a flow chain against HMC:
/// for each scalar observable and each C(t), the difference in units of the
/// combined error sqrt(e_a^2 + e_b^2). The chains are independent, so the
/// differences of a correct sampler scatter like a standard normal.
public struct ObservableComparison: Equatable {
    /// One observable of both analyses.
    public struct Row: Equatable {
        /// The observable's name, e.g. "chi_2" or "C(3)".
        public var name: String
        /// Its estimate in the first analysis.
        public var a: Estimate
        /// Its estimate in the second analysis.
        public var b: Estimate
        /// (a - b) / sqrt(error_a^2 + error_b^2); NaN where either value is not finite.
        public var sigmas: Double {
            let s = (a.error * a.error + b.error * b.error).squareRoot()
            return a.value.isFinite && b.value.isFinite && s > 0 ? (a.value - b.value) / s : .nan
        }
    }

    /// chi_2, E, <|M|>, the pole mass, then C(t) for t = 0 ... L-1, then <M>,
    /// chi2_symmetric, chi2_abs, E_symmetric and pole_mass_symmetric where both analyses have them.
    public var rows: [Row]

    /// Compares `a` with `b`; `file` names b in the error when the two come from
    /// different lattices.
    /// - Throws: `InputError` if the lattices differ (a different number of separations or time slices),
    ///   or if both record their theory and it differs (L, d, M2 or lam).
    public init(_ a: Observables, _ b: Observables, file: String) throws {
        if let ta = a.theory, let tb = b.theory { try tb.requireSame(as: ta, file: file, otherName: "here") }
        guard a.G.count == b.G.count, a.C.count == b.C.count else {
            throw InputError(file: file, "is an analysis of \(b.G.count) sites and \(b.C.count) time slices, "
                + "the other of \(a.G.count) and \(a.C.count): not the same lattice")
        }
        rows = [Row(name: "chi_2", a: a.susceptibility, b: b.susceptibility),
                Row(name: "E (Ising energy)", a: a.isingEnergy, b: b.isingEnergy),
                Row(name: "<|M|>", a: a.absMagnetization, b: b.absMagnetization),
                Row(name: "pole mass", a: a.poleMass, b: b.poleMass)]
            + zip(a.C, b.C).enumerated().map { t, p in Row(name: "C(\(t))", a: p.0, b: p.1) }
        // The symmetric forms, where both analyses have them (older ones do not).
        for (name, x, y) in [("<M>", a.magnetization, b.magnetization),
                             ("chi2_symmetric", a.symmetricSusceptibility, b.symmetricSusceptibility),
                             ("chi2_abs", a.absSusceptibility, b.absSusceptibility),
                             ("E_symmetric", a.symmetricIsingEnergy, b.symmetricIsingEnergy),
                             ("pole_mass_symmetric", a.symmetricPoleMass, b.symmetricPoleMass)] {
            if let x, let y { rows.append(Row(name: name, a: x, b: y)) }
        }
    }

    /// The rows with a finite difference.
    public var finite: [Row] { rows.filter { $0.sigmas.isFinite } }

    /// The largest |difference| / sigma over the finite rows (0 if there are none).
    public var largestSigmas: Double { finite.map { abs($0.sigmas) }.max() ?? 0 }

    /// A chi-squared-like summary: the mean of (difference / sigma)^2 over the
    /// finite rows. About 1 for agreeing samplers; C(t) at different t are
    /// correlated, so this is a guide, not a test with a known distribution.
    public var meanSquaredSigmas: Double {
        let f = finite
        return f.isEmpty ? 0 : f.map { $0.sigmas * $0.sigmas }.reduce(0, +) / Double(f.count)
    }
}

extension ObservableComparison {
    /// A comparison as an analysis stores it: the other analysis, its theory,
    /// and per observable both estimates and the difference in sigmas.
    public struct Record: Codable, Equatable {
        /// One observable of both analyses.
        public struct Row: Codable, Equatable {
            /// The observable's name, e.g. "chi_2" or "C(3)".
            public var name: String
            /// Its estimate in this analysis.
            public var value: Estimate
            /// Its estimate in the other.
            public var other: Estimate
            /// (value - other) / sqrt(error^2 + error_other^2); nil where not finite.
            public var sigmas: Double?
            /// This chain's cost per independent sample over the other's (each
            /// chain's core-seconds per configuration × 2 tau_int); nil where either
            /// records no cost.
            public var costRatio: Double?
            /// With this chain's training: the independent samples at which chain +
            /// training costs what the other chain does; nil where never, or unknown.
            public var breakEvenSamples: Double?
        }
        /// The other analysis's file, as given.
        public var file: String
        /// The theory both describe.
        public var theory: Theory?
        /// chi_2, E, <|M|>, the pole mass, then C(t).
        public var rows: [Row]
        /// The largest |difference| / sigma over the finite rows.
        public var largestSigmas: Double
        /// The mean of (difference / sigma)^2 over the finite rows.
        public var meanSquaredSigmas: Double
        /// Rows with a finite difference.
        public var finiteRows: Int
    }

    /// This comparison as stored in an analysis, `file` naming the other one;
    /// with both chains' costs each row gets the ratio of their costs per
    /// independent sample, and with this chain's training the break-even number.
    public func record(file: String, theory: Theory?, costs: (ChainCost, ChainCost)? = nil,
                       training: TrainingCost? = nil) -> Record {
        Record(file: file, theory: theory,
               rows: rows.map { r in
                   var row = Record.Row(name: r.name, value: r.a, other: r.b, sigmas: r.sigmas.isFinite ? r.sigmas : nil)
                   if let (a, b) = costs {
                       let ca = a.perIndependentSample(tauInt: r.a.tauInt), cb = b.perIndependentSample(tauInt: r.b.tauInt)
                       row.costRatio = ca.isFinite && cb.isFinite && cb > 0 ? ca / cb : nil
                       row.breakEvenSamples = training?.breakEven(this: ca, other: cb)
                   }
                   return row
               },
               largestSigmas: largestSigmas, meanSquaredSigmas: meanSquaredSigmas, finiteRows: finite.count)
    }
}

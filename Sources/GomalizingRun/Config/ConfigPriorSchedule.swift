import Foundation
import GomalizingFlow
import TOMLKit

/// [training] prior and lr_scheduler: our TOML tables and GomalizingFlow.jl's
/// Julia-expression strings, which mean the same.
extension Config {
    static let priorExpected = "\"Normal\", \"Potential{Float32}(; m²=-4f0, λ=8f0)\", or a table such as { kind = \"potential\", m2 = -4.0, lam = 8.0 }"
    static let scheduleExpected = "\"\", \"Step(0.001f0, 0.1f0, [200])\", \"Exp(0.001f0, 0.99f0)\", or a table such as { kind = \"step\", decay = 0.1, epochs = [200] }, { kind = \"cosine\", epochs = 500, min = 1e-5, warmup = 10 } or { kind = \"exp\", decay = 0.99 }"

    static func parsePrior(_ tr: inout TOMLSection) throws -> PriorSpec {
        guard let raw = tr.raw("prior") else { return .normal }
        let spec: PriorSpec
        if let s = raw.string {
            if isStandardNormal(s) { return .normal }
            guard let p = juliaPotential(s) else { throw tr.fail("prior", "expected \(priorExpected), got \"\(s)\"") }
            spec = p
        } else if let table = raw.table {
            var t = TOMLSection(file: tr.file, name: "training.prior", table: table)
            let kind = try t.string("kind", "\"normal\" or \"potential\"").lowercased()
            switch kind {
            case "normal":
                spec = .normal
            case "potential":
                spec = .potential(m2: try t.double("m2", "a finite number"), lam: try t.double("lam", "a finite number"),
                                  xmin: try t.double("xmin", default: -2, "a finite number"),
                                  xmax: try t.double("xmax", default: 2, "a finite number"))
            default:
                throw t.fail("kind", "expected \"normal\" or \"potential\", got \"\(kind)\"")
            }
            try t.finish()
        } else {
            throw tr.fail("prior", "expected \(priorExpected), got a \(raw.type)")
        }
        if case let .potential(m2, lam, xmin, xmax) = spec {
            let all = [m2, lam, xmin, xmax]
            guard all.allSatisfy(\.isFinite), xmin < xmax, all.allSatisfy({ abs($0) < 1e6 }) else {
                throw tr.fail("prior", "the potential prior needs finite m2, lam (|.| < 1e6) and xmin < xmax, got m2=\(m2), lam=\(lam), [\(xmin), \(xmax)]")
            }
            let p = PotentialPrior(m2: m2, lam: lam, xmin: xmin, xmax: xmax)
            guard p.logZ.isFinite, p.samplingEfficiency >= 0.01 else {
                throw tr.fail("prior", String(format: "exp(-(m2 x^2 + lam x^4)) on [%g, %g] is too peaked to sample (rejection efficiency %.2g); narrow [xmin, xmax]",
                                              xmin, xmax, p.samplingEfficiency))
            }
        }
        return spec
    }

    /// "Potential{Float32}(; m²=-4f0, λ=8f0)" (xmin, xmax optional) -> .potential.
    static func juliaPotential(_ s: String) -> PriorSpec? {
        var t = s.replacingOccurrences(of: " ", with: "")
        guard t.lowercased().hasPrefix("potential") else { return nil }
        t.removeFirst("potential".count)
        if t.hasPrefix("{"), let close = t.firstIndex(of: "}") { t = String(t[t.index(after: close)...]) }
        guard t.hasPrefix("("), t.hasSuffix(")") else { return nil }
        let inner = t.dropFirst().dropLast()
        var values: [String: Double] = [:]
        for item in inner.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = juliaNumber(kv[1]) else { return nil }
            switch kv[0] {
            case "m²", "m2", "M2": values["m2"] = v
            case "λ", "lam", "lambda": values["lam"] = v
            case "xmin", "xmax": values[kv[0]] = v
            default: return nil
            }
        }
        guard let m2 = values["m2"], let lam = values["lam"] else { return nil }
        return .potential(m2: m2, lam: lam, xmin: values["xmin"] ?? -2, xmax: values["xmax"] ?? 2)
    }

    /// Julia number literals: 4, -4.0, 8f0, 1.5f-3, 0.001, 1e-3.
    static func juliaNumber(_ s: String) -> Double? {
        let t = s.replacingOccurrences(of: "f", with: "e").replacingOccurrences(of: "_", with: "")
        guard let v = Double(t), v.isFinite else { return nil }
        return v
    }

    static func parseSchedule(_ tr: inout TOMLSection, baseLR: Double) throws -> LRSchedule {
        guard let raw = tr.raw("lr_scheduler") else { return .constant }
        if let s = raw.string {
            if s.trimmingCharacters(in: .whitespaces).isEmpty { return .constant }
            if let (start, decay) = juliaExp(s) {
                guard abs(start - baseLR) <= 1e-6 * baseLR else {
                    throw tr.fail("lr_scheduler", "Exp starts at \(start) but [training] base_lr is \(baseLR); make them equal")
                }
                guard decay > 0, decay <= 1 else { throw tr.fail("lr_scheduler", "the decay factor must be in (0, 1], got \(decay)") }
                return .exponential(decay: decay)
            }
            guard let (start, d, sizes) = juliaStep(s) else { throw tr.fail("lr_scheduler", "expected \(scheduleExpected), got \"\(s)\"") }
            guard abs(start - baseLR) <= 1e-6 * baseLR else {
                throw tr.fail("lr_scheduler", "Step starts at \(start) but [training] base_lr is \(baseLR); make them equal")
            }
            guard sizes.allSatisfy({ $0 >= 1 }) else { throw tr.fail("lr_scheduler", "step sizes must be positive, got \(sizes)") }
            // Julia's step sizes are lengths of the constant stretches; ours are the epochs after which the rate drops.
            var total = 0
            return try checkedStep(&tr, decay: d, epochs: sizes.map { total += $0; return total })
        }
        guard let table = raw.table else { throw tr.fail("lr_scheduler", "expected \(scheduleExpected), got a \(raw.type)") }
        var t = TOMLSection(file: tr.file, name: "training.lr_scheduler", table: table)
        let kinds = "\"constant\", \"step\", \"exp\" or \"cosine\""
        let kind = try t.string("kind", kinds).lowercased()
        var schedule: LRSchedule
        switch kind {
        case "constant":
            schedule = .constant
        case "step":
            let decay = try t.double("decay", "a number in (0, 1]")
            let epochs = try t.intArray("epochs", "an increasing array of epochs >= 1 such as [200, 400]") { $0 >= 1 }
            schedule = try checkedStep(&tr, decay: decay, epochs: epochs)
        case "exp", "exponential":
            schedule = .exponential(decay: try t.double("decay", "a factor per epoch in (0, 1], e.g. 0.99") { $0 > 0 && $0 <= 1 })
        case "cosine":
            let epochs = try t.int("epochs", "the epochs of the decay, >= 1") { $0 >= 1 }
            let minimum = try t.double("min", default: 0, "a rate in [0, base_lr]") { $0 >= 0 && $0 <= baseLR }
            schedule = .cosine(epochs: epochs, min: minimum)
        default:
            throw t.fail("kind", "expected \(kinds), got \"\(kind)\"")
        }
        let warmup = try t.int("warmup", default: 0, "a number of warm-up epochs >= 0") { $0 >= 0 }
        if warmup > 0 { schedule = .warmup(epochs: warmup, then: schedule) }
        try t.finish()
        return schedule
    }

    static func checkedStep(_ tr: inout TOMLSection, decay: Double, epochs: [Int]) throws -> LRSchedule {
        guard decay > 0, decay <= 1, decay.isFinite else { throw tr.fail("lr_scheduler", "the decay factor must be in (0, 1], got \(decay)") }
        guard zip(epochs, epochs.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw tr.fail("lr_scheduler", "the epochs must increase, got \(epochs)")
        }
        return .step(decay: decay, epochs: epochs)
    }

    /// "Exp(0.001f0, 0.99f0)" or "Exp(λ=0.001, γ=0.99)" -> (start, decay).
    static func juliaExp(_ s: String) -> (Double, Double)? {
        var t = s.replacingOccurrences(of: " ", with: "")
        guard t.hasPrefix("Exp("), t.hasSuffix(")") else { return nil }
        t = String(t.dropFirst(4).dropLast())
        let parts = t.split(whereSeparator: { $0 == "," || $0 == ";" }).map { p -> String in
            guard let eq = p.firstIndex(of: "=") else { return String(p) }
            return String(p[p.index(after: eq)...])
        }
        guard parts.count == 2, let start = juliaNumber(parts[0]), let decay = juliaNumber(parts[1]) else { return nil }
        return (start, decay)
    }

    /// "Step(0.001f0, 0.1f0, [200])" or "Step(λ=0.001, γ=0.1, step_sizes=[100, 100])" -> (start, decay, step sizes).
    static func juliaStep(_ s: String) -> (Double, Double, [Int])? {
        var t = s.replacingOccurrences(of: " ", with: "")
        guard t.hasPrefix("Step("), t.hasSuffix(")") else { return nil }
        t = String(t.dropFirst(5).dropLast())
        // Split on commas outside the brackets.
        var parts: [String] = [], depth = 0, current = ""
        for c in t {
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1 }
            if (c == "," || c == ";") && depth == 0 { parts.append(current); current = "" } else { current.append(c) }
        }
        parts.append(current)
        parts = parts.filter { !$0.isEmpty }
        guard parts.count == 3 else { return nil }
        let values = parts.map { p -> String in
            guard let eq = p.firstIndex(of: "=") else { return p }
            return String(p[p.index(after: eq)...])
        }
        guard let start = juliaNumber(values[0]), let decay = juliaNumber(values[1]) else { return nil }
        let list = values[2].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let sizes = list.split(separator: ",").map { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil }) else { return nil }
        return (start, decay, sizes.map { $0! })
    }
}

import GomalizingFlow
/// The config values that define a training run, as text: the physics, the
/// model, the prior and every training key except those that may change when a
/// run is continued. A checkpoint records them, and `--resume` refuses a config
/// that differs on any of them, naming each difference.
extension Config {
    /// Keys that may differ between a run and its continuation: how long it
    /// runs, where and on how many threads (results do not depend on threads).
    public static let changeableOnResume = ["[training] epochs", "[training] result", "[training] stop_at_acceptance",
                                            "[training] stop_after_seconds", "[device] threads",
                                            "[device] device_id", "[config] version"]

    /// The defining values by key, e.g. "[physical] lam": "8.0" (none of `changeableOnResume`).
    public var runDefinition: [String: String] {
        let t = training, m = model
        return [
            "[physical] L": "\(physical.L)", "[physical] Nd": "\(physical.Nd)",
            "[physical] M2": "\(physical.M2)", "[physical] lam": "\(physical.lam)",
            "[training] seed": "\(t.seed)", "[training] batchsize": "\(t.batchSize)",
            "[training] iterations": "\(t.iterations)", "[training] base_lr": "\(t.baseLR)",
            "[training] eval_samples": "\(t.evalSamples)", "[training] prior": t.prior.description,
            "[training] gradient": t.pathGradient ? "path" : "standard", "[training] opt": t.optimiser.rawValue, "[training] clip_norm": t.clipNorm.map { "\($0)" } ?? "none",
            "[training] lr_scheduler": t.lrSchedule.description, "[training] pretrained": t.pretrained,
            "[model] seed": "\(m.seed)", "[model] n_layers": "\(m.nLayers)", "[model] hidden_sizes": "\(m.hiddenSizes)",
            "[model] kernel_size": "\(m.kernelSize)", "[model] conv": m.convName,
            "[model] use_final_tanh": "\(m.useFinalTanh)", "[model] use_bn": "\(m.useBN)",
            "[model] z2_equivariant": "\(m.z2Equivariant)", "[model] fourier_scaling": "\(m.fourierScaling)",
            "[model] type": m.typeName, "[model] site_map_features": "\(m.siteMapFeatures)",
            "[model] shear_features": "\(m.shearFeatures)", "[model] integrate_even_sites": "\(m.integrateEvenSites)",
            "[model] identity_init": "\(m.identityInit)",
            "[training] grow_pretrained": "\(t.growPretrained)", "[training] shear_lr": t.shearLR.map { "\($0)" } ?? "none",
        ].merging(ConfigCoupling.definition(m.coupling)) { a, _ in a }
    }

    /// Every setting a training run used: its definition plus epochs, the
    /// result folder, early stops and the worker threads, after command-line overrides. `Trainer` writes them to
    /// the result folder (`settingsFileName`) so that a report shows what ran,
    /// not only what the config file says.
    public func effectiveSettings(overrides: [String: String] = [:], threads: Int? = nil) -> String {
        var all = runDefinition
        all["[model] conv"] = model.convLabel
        if let threads { all["[device] threads"] = "\(threads)" }
        all["[training] epochs"] = "\(training.epochs)"
        all["[training] result"] = training.result
        if let a = training.stopAtAcceptance { all["[training] stop_at_acceptance"] = "\(a)" }
        if let t = training.stopAfterSeconds { all["[training] stop_after_seconds"] = "\(t)" }
        var lines = ["# The settings of this run, after command-line overrides (written by gomalizing train)."]
        for key in all.keys.sorted() {
            let value = all[key]!
            lines.append("\(key) = \(value.isEmpty ? "\"\"" : value)" + (overrides[key].map { "  # \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The file of a result folder that `effectiveSettings` is written to.
    public static let settingsFileName = "settings.txt"

    /// What a definition recorded before a key existed stood for: the key's
    /// default. A key added to `runDefinition` later goes here with its default,
    /// so that older checkpoints still compare correctly.
    static let definitionDefaults: [String: String] = ["[training] opt": "Adam", "[training] clip_norm": "none",
                                                        "[model] z2_equivariant": "false", "[training] gradient": "standard",
                                                        "[model] fourier_scaling": "false", "[model] type": "affine",
                                                        "[model] site_map_features": "0", "[model] shear_features": "0",
                                                        "[model] integrate_even_sites": "false", "[model] identity_init": "false",
                                                        "[training] grow_pretrained": "false", "[training] shear_lr": "none"]

    /// "[physical] lam: 8.0 in the run, 6.0 now" for each key on which `now` differs from `run`.
    public static func definitionDifferences(run: [String: String], now: [String: String]) -> [String] {
        now.keys.sorted().compactMap { key in
            let current = now[key]!
            guard let recorded = run[key] ?? definitionDefaults[key] else { return nil }
            guard recorded != current else { return nil }
            func show(_ s: String) -> String { s.isEmpty ? "\"\"" : s }
            return "\(key): \(show(recorded)) in the run, \(show(current)) now"
        }
    }
}

extension LRSchedule: CustomStringConvertible {
    /// Text form, e.g. "step(decay=0.5, epochs=[100])"; part of the run definition.
    public var description: String {
        switch self {
        case .constant: return "constant"
        case let .step(decay, epochs): return "step(decay=\(decay), epochs=\(epochs))"
        case let .exponential(decay): return "exp(decay=\(decay))"
        case let .cosine(epochs, minimum): return "cosine(epochs=\(epochs), min=\(minimum))"
        case let .warmup(epochs, then): return "warmup(epochs=\(epochs), then=\(then))"
        }
    }
}

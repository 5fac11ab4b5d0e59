import Foundation
import GomalizingFlow

/// Everything training needs to continue exactly where it stopped: the model,
/// the optimiser's state and step, the optimisation step counter (the address of the
/// next prior draws), the best acceptance so far and the history. One
/// .safetensors file, written atomically after every epoch.
public struct Checkpoint {
    /// Progress inside an interrupted epoch (the core's `TrainingLoop.PartialEpoch`).
    public typealias PartialEpoch = TrainingLoop.PartialEpoch

    /// Completed epochs.
    public var epoch: Int
    /// Optimisation steps of the whole run, the address of the next prior draws.
    public var stepsDone: Int
    /// Float32 flow parameters in the architecture's layout.
    public var parameters: [Float]
    /// Batch-norm running statistics (empty without batch norms).
    public var buffers: [Float]
    /// The optimiser: kind, learning rate, step, state vectors and clip norm.
    public var optimiser: Optimiser
    /// Highest evaluation acceptance so far, percent (-1 before any epoch).
    public var bestAcceptance: Double
    /// Records of the completed epochs.
    public var history: [EpochRecord]
    /// Progress inside an interrupted epoch; nil at an epoch's end.
    public var partial: PartialEpoch?
    /// The run's defining config values (`Config.runDefinition`) and its number
    /// of MPI ranks; nil in checkpoints written before they were recorded.
    public var definition: [String: String]?
    /// Number of MPI ranks of the run; nil in checkpoints written before it was recorded.
    public var ranks: Int?

    /// The checkpoint's file name in a result folder.
    public static let fileName = "checkpoint.safetensors"

    /// A checkpoint from its parts.
    public init(epoch: Int, stepsDone: Int, parameters: [Float], buffers: [Float], optimiser: Optimiser,
                bestAcceptance: Double, history: [EpochRecord], partial: PartialEpoch? = nil,
                definition: [String: String]? = nil, ranks: Int? = nil) {
        self.definition = definition
        self.ranks = ranks
        self.epoch = epoch
        self.stepsDone = stepsDone
        self.parameters = parameters
        self.buffers = buffers
        self.optimiser = optimiser
        self.bestAcceptance = bestAcceptance
        self.history = history
        self.partial = partial
    }

    /// Writes the checkpoint atomically to `url`: the model tensors, `adam.m` and
    /// `adam.v`, and everything else in the metadata.
    /// - Throws: `InputError` naming `url` if it cannot be written.
    public func save(_ arch: FlowArchitecture, to url: URL) throws {
        var tensors = ModelFile.tensors(of: arch, parameters: parameters, buffers: buffers)
        // The optimiser's two state vectors keep the names they had when Adam was the only one.
        tensors.append(("adam.m", SafeTensors.Tensor(shape: [optimiser.m.count], values: optimiser.m)))
        tensors.append(("adam.v", SafeTensors.Tensor(shape: [optimiser.v.count], values: optimiser.v)))
        var extra = [
            "checkpoint_epoch": "\(epoch)", "steps_done": "\(stepsDone)", "adam_step": "\(optimiser.step)",
            "adam_lr": "\(optimiser.lr)", "best_acceptance": "\(bestAcceptance)",
            "history": history.map(\.csvLine).joined(separator: "\n"),
        ]
        if optimiser.kind != .adam { extra["optimiser"] = optimiser.kind.rawValue }
        if let c = optimiser.clipNorm { extra["clip_norm"] = "\(c)" }
        if let p = partial {
            // Swift's description of a Double reads back to the same bits.
            extra["partial_iterations"] = "\(p.iterations)"
            extra["partial_loss_sum"] = "\(p.lossSum)"
            extra["partial_loss_square_sum"] = "\(p.lossSquareSum)"
            extra["partial_train_seconds"] = "\(p.trainSeconds)"
        }
        if let definition {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            extra["run_definition"] = String(decoding: try encoder.encode(definition), as: UTF8.self)
        }
        if let ranks { extra["ranks"] = "\(ranks)" }
        let meta = ModelFile.metadata(of: arch, extra: extra)
        try AtomicFile.write(SafeTensors.encode(tensors, metadata: meta), to: url)
    }

    /// Reads a checkpoint for `arch`; any missing, malformed or mismatched part
    /// is an InputError naming the file and the part.
    public static func load(_ arch: FlowArchitecture, from path: String) throws -> Checkpoint {
        let (tensors, meta) = try SafeTensors.load(path: path)
        return try decode(arch, tensors: tensors, metadata: meta, file: path)
    }

    /// The run's defining values recorded in a checkpoint's metadata, if any.
    public static func definition(in meta: [String: String], file path: String) throws -> [String: String]? {
        guard let text = meta["run_definition"] else { return nil }
        guard let d = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
            throw InputError(file: path, field: "metadata run_definition", "not a JSON object of strings")
        }
        return d
    }

    /// A checkpoint from the contents of its file (see `load`).
    public static func decode(_ arch: FlowArchitecture, tensors: [String: SafeTensors.Tensor], metadata meta: [String: String],
                              file path: String) throws -> Checkpoint {
        let state = try ModelFile.state(for: arch, from: tensors, file: path)
        func integer(_ key: String) throws -> Int {
            guard let s = meta[key], let v = Int(s), v >= 0 else {
                throw InputError(file: path, field: "metadata \(key)", "missing or not a non-negative integer")
            }
            return v
        }
        func number(_ key: String) throws -> Double {
            guard let s = meta[key], let v = Double(s), v.isFinite || key == "best_acceptance" else {
                throw InputError(file: path, field: "metadata \(key)", "missing or not a number")
            }
            return v
        }
        func moments(_ name: String) throws -> [Float] {
            guard let t = tensors[name], t.shape == [arch.parameterCount] else {
                throw InputError(file: path, field: name, "missing, or not of shape [\(arch.parameterCount)]")
            }
            guard t.values.allSatisfy({ $0.isFinite }) else { throw InputError(file: path, field: name, "contains a non-finite value") }
            return t.values
        }
        let epoch = try integer("checkpoint_epoch")
        let lines = (meta["history"] ?? "").split(separator: "\n").map(String.init)
        var bestESS = 0.0
        let history = try lines.enumerated().map { i, line -> EpochRecord in
            guard var r = EpochRecord(csvLine: line) else {
                throw InputError(file: path, field: "metadata history, line \(i + 1)", "not a history record: \(line)")
            }
            // Records of versions before best_ess: the running maximum of ess.
            if r.ess.isFinite { bestESS = max(bestESS, r.ess) }
            if r.bestESS.isNaN { r.bestESS = bestESS }
            return r
        }
        guard history.count == epoch, history.last?.epoch ?? 0 == epoch else {
            throw InputError(file: path, field: "metadata history", "holds \(history.count) epochs, the checkpoint is of epoch \(epoch)")
        }
        // Checkpoints without the key are of Adam, the only optimiser before.
        guard let kind = OptimiserKind.parse(meta["optimiser"] ?? "Adam") else {
            throw InputError(file: path, field: "metadata optimiser", "not an optimiser name: \(meta["optimiser"] ?? "")")
        }
        let clip = meta["clip_norm"] == nil ? nil : try number("clip_norm")
        if let clip, !(clip > 0) { throw InputError(file: path, field: "metadata clip_norm", "must be > 0, got \(clip)") }
        let optimiser = Optimiser(kind: kind, lr: try number("adam_lr"), step: try integer("adam_step"), m: try moments("adam.m"),
                                  v: try moments("adam.v"), clipNorm: clip)
        var partial: PartialEpoch? = nil
        if meta["partial_iterations"] != nil {
            partial = PartialEpoch(iterations: try integer("partial_iterations"), lossSum: try number("partial_loss_sum"),
                                   lossSquareSum: try number("partial_loss_square_sum"),
                                   trainSeconds: try number("partial_train_seconds"))
        }
        let definition = try definition(in: meta, file: path)
        var ranks: Int? = nil
        if meta["ranks"] != nil {
            ranks = try integer("ranks")
            guard ranks! >= 1 else { throw InputError(file: path, field: "metadata ranks", "must be >= 1") }
        }
        return Checkpoint(epoch: epoch, stepsDone: try integer("steps_done"), parameters: state.parameters,
                          buffers: state.buffers, optimiser: optimiser, bestAcceptance: try number("best_acceptance"), history: history,
                          partial: partial, definition: definition, ranks: ranks)
    }
}

extension EpochRecord {
    /// Parses a line written by `csvLine`, or by versions before best_ess,
    /// pareto_k and max_weight (10 fields) or before positive_fraction (13
    /// fields): the missing columns are NaN.
    public init?(csvLine: String) {
        let f = csvLine.split(separator: ",", omittingEmptySubsequences: false)
        guard [10, 13, 14].contains(f.count), let epoch = Int(f[0]) else { return nil }
        let v = f.dropFirst().map { Double($0) }
        guard v.allSatisfy({ $0 != nil }) else { return nil }
        let d = v.map { $0! } + [Double](repeating: .nan, count: 14 - f.count)
        self.init(epoch: epoch, loss: d[0], lossStd: d[1], acceptanceRate: d[2], ess: d[3], bestAcceptanceRate: d[4],
                  lr: d[5], trainSeconds: d[6], evalSeconds: d[7], totalSeconds: d[8], bestESS: d[9], paretoK: d[10],
                  maxWeight: d[11], positiveFraction: d[12])
    }
}

import Foundation
import GomalizingFlow

/// Sizes a config may ask for. They are checked from the spec in floating point
/// before anything is allocated, so an absurd value is a one-line error.
extension Config {
    /// Neighbour tables index sites with Int32; 2^28 sites is already 1 GiB per field of a batch of 4.
    public static let maxSites = Double(1 << 28)
    /// Most parameters a model may have, Int32.max.
    public static let maxParameters = Double(Int32.max)
    /// Most `eval_samples`, 2^26.
    public static let maxEvalSamples = 1 << 26
    /// Worker threads: far more than any machine's cores, small enough that a
    /// mistyped count is an error rather than a thread storm.
    public static let maxThreads = 4096

    /// Refuses a model or batch that cannot fit in this machine's memory with
    /// `threads` workers, naming the key to change.
    public func checkFootprint(threads: Int) throws {
        let fp = ModelFootprint(spec: model)
        if fp.sites > Config.maxSites {
            throw InputError(file: sourcePath, field: "[physical] L",
                             String(format: "L^Nd = %d^%d = %.3g sites; at most 2^28 are supported", physical.L, physical.Nd, fp.sites))
        }
        if fp.parameters > Config.maxParameters {
            throw InputError(file: sourcePath, field: "[model] hidden_sizes",
                             String(format: "n_layers, hidden_sizes, kernel_size and conv give %.3g parameters; at most 2^31 are supported", fp.parameters))
        }
        let tapes = Double(training.batchSize) * fp.tapeValuesPerConfiguration * 4
        let total = fp.trainingBytes(batch: training.batchSize, threads: threads)
        let field = tapes > total / 2 ? "[training] batchsize" : "[model] hidden_sizes"
        try ResourceBudget.requireMemory(total, file: sourcePath, field: field, for: String(
            format: "training (%@ of tapes for batch %d on %d^%d sites, %.3g parameters)",
            ResourceBudget.describe(tapes), training.batchSize, physical.L, physical.Nd, fp.parameters))
    }
}

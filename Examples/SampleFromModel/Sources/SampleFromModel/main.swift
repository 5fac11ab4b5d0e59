// GomalizingFlow used from another package: train example2d for a few epochs,
// sample an exact chain with the trained flow, measure observables, round-trip
// the model file, and time the library's hot entry points from outside its
// module (the numbers BENCHMARKS.md compares with `gomalizing bench`).
//
//   swift run -c release SampleFromModel [--threads N] [--epochs E] [--seconds S]
//
// Exits with status 1 if any check fails.
import Dispatch
import Foundation
import GomalizingFlow

/// The flags, with defaults that keep the run to about half a minute.
struct Options {
    var threads = defaultThreadCount()
    var epochs = 12
    var seconds = 2.0

    init(_ args: [String]) throws {
        var it = args.makeIterator()
        while let flag = it.next() {
            guard let value = it.next() else { throw Failure("\(flag) needs a value") }
            switch flag {
            case "--threads": threads = try Options.positive(Int(value), flag)
            case "--epochs":
                epochs = try Options.positive(Int(value), flag)
                // The loss is checked to fall from the first epoch to the last.
                guard epochs >= 2 else { throw Failure("--epochs expects at least 2") }
            case "--seconds": seconds = Double(try Options.positive(Int(value), flag))
            default: throw Failure("unknown option \(flag) (expected --threads, --epochs or --seconds)")
            }
        }
    }

    static func positive(_ v: Int?, _ flag: String) throws -> Int {
        guard let v, v > 0 else { throw Failure("\(flag) expects a positive integer") }
        return v
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func check(_ ok: Bool, _ what: String) throws {
    guard ok else { throw Failure("check failed: \(what)") }
    print("ok: \(what)")
}

/// Median seconds of `body` after two warm-up calls, repeated for at least `seconds` (5 to 200 times).
func medianSeconds(_ seconds: Double, _ body: () -> Void) -> Double {
    body(); body()
    var times: [Double] = []
    var total = 0.0
    while times.count < 5 || (total < seconds && times.count < 200) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        let t = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        times.append(t)
        total += t
    }
    times.sort()
    let k = times.count / 2
    return times.count % 2 == 1 ? times[k] : (times[k - 1] + times[k]) / 2
}

/// Prints each epoch as the CLI's --quiet does.
final class EpochPrinter: TrainingObserver {
    func iterationFinished(epoch: Int, iteration: Int, of total: Int, loss: Double) {}
    func epochFinished(_ r: EpochRecord, improved: Bool) {
        print(String(format: "epoch %d: loss %.3f, acceptance %.1f%%, ESS %.3f", r.epoch, r.loss, r.acceptanceRate, r.ess))
    }
}

/// cfgs/example2d_fast.toml (cross kernel, path gradient), with fewer epochs and evaluation proposals.
func exampleConfig(result: URL, epochs: Int) -> String {
    """
    [training]
    seed = 12345
    batchsize = 64
    epochs = \(epochs)
    iterations = 100
    base_lr = 0.003
    opt = "Adam"
    gradient = "path"
    eval_samples = 1024
    result = "\(result.path)"

    [physical]
    L = 8
    Nd = 2
    M2 = -4.0
    lam = 8.0

    [model]
    seed = 2021
    n_layers = 16
    hidden_sizes = [8, 8]
    kernel_size = 3
    use_final_tanh = true
    conv = "cross"
    """
}

func run(_ options: Options) throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("SampleFromModel-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let text = exampleConfig(result: scratch, epochs: options.epochs)
    let config = try Config.parse(text, file: "example2d_fast (in code)", name: "example2d_fast")

    // Train: the library's Trainer, as `gomalizing train` runs it.
    let trainer = try Trainer(config: config, configText: text, threads: options.threads, folder: .new)
    let printer = EpochPrinter()
    trainer.observer = printer
    try withExtendedLifetime(printer) { try trainer.train() }
    let history = try History.read(path: trainer.resultDirectory.appendingPathComponent("history.csv").path)
    let losses = history["loss"] ?? []
    try check(losses.count == options.epochs && losses.last! < losses.first!, "the loss fell over \(losses.count) epochs")
    try check(trainer.bestAcceptance > 5, "training reached an acceptance above 5% (\(trainer.bestAcceptance)%)")

    // Sample an exact chain from the best model, and measure.
    let architecture = FlowArchitecture(spec: config.model)
    let best = try ModelFile.load(architecture, from: trainer.bestModelURL.path)
    let flow = Flow<Float>(architecture: architecture, parameters: best.parameters, buffers: best.buffers)
    let sampler = FlowSampler(flow: flow, action: config.action, batchSize: 256, seed: 1,
                              threads: options.threads, prior: config.training.prior)
    var measurements = Measurements(lattice: config.lattice)
    var row = [Double](repeating: 0, count: config.lattice.volume)
    sampler.run(steps: 20_000) { phi, _, _, _ in
        for i in row.indices { row[i] = Double(phi[i]) }
        measurements.add(row)
    }
    let observables = Observables(measurements)
    let chi2 = observables.susceptibility
    print(String(format: "chain: acceptance %.1f%%, chi_2 = %.4f ± %.4f, <|M|> = %.4f ± %.4f",
                 sampler.chain.acceptanceRate, chi2.value, chi2.error,
                 observables.absMagnetization.value, observables.absMagnetization.error))
    // HMC at this point (README): chi_2 = 0.75, <|M|> = 0.087.
    try check(abs(chi2.value - 0.75) < 5 * chi2.error + 0.02, "chi_2 agrees with HMC's 0.75")

    // Model files: save, read back, same parameters.
    let modelURL = scratch.appendingPathComponent("copy.safetensors")
    try ModelFile.save(flow, to: modelURL, extra: ["note": "SampleFromModel"])
    let copy = try ModelFile.load(architecture, from: modelURL.path)
    try check(copy.parameters == flow.parameters, "a saved model reads back bit-identical")

    // Timing from outside the module: the step `gomalizing bench` times (its
    // example2d case: full 3x3 kernel, untrained, batch 64), through the generic types.
    let benchFlow = Flow<Float>(spec: Benchmark.standardCases()[0].spec)
    let action = Phi4Action(lattice: benchFlow.lattice, m2: -4, lam: 8)
    let runner = BatchRunner(flow: benchFlow, action: action, batchSize: 64, threads: options.threads)
    var adam = Optimiser(parameterCount: benchFlow.parameters.count, lr: 1e-4)
    let draws = PriorDraws(seed: 1, purpose: .training, volume: benchFlow.lattice.volume)
    var z = [Float](repeating: 0, count: 64 * benchFlow.lattice.volume)
    var step = 0
    func draw() {
        z.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: step, first: 0, count: 64, threads: options.threads) }
        step += 1
    }
    let train = medianSeconds(options.seconds) {
        draw()
        z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: true, training: true) }
        adam.update(&benchFlow.parameters, gradient: runner.gradient)
    }
    let sample = medianSeconds(options.seconds) {
        draw()
        z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
    }
    // The same case timed inside the library (what `gomalizing bench` prints), for
    // the ratio; printed, not asserted: timings on a shared machine are no test.
    let inside = Benchmark.run(Benchmark.standardCases()[0], threads: options.threads, minSeconds: options.seconds)
    print(String(format: "bench's example2d case, %d threads: training step %.2f ms from this module, %.2f ms inside "
                 + "the library (ratio %.2f); sampling %.0f and %.0f proposals/s",
                 options.threads, train * 1e3, inside.trainMs, train * 1e3 / inside.trainMs, 64 / sample, inside.samplesPerSecond))
}

do {
    try run(try Options(Array(CommandLine.arguments.dropFirst())))
} catch {
    FileHandle.standardError.write(Data("SampleFromModel: \(error)\n".utf8))
    exit(1)
}

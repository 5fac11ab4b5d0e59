// The GomalizingFlow core embedded in another package (no config files, no
// result folders: the core alone): train example2d_fast for a few epochs in
// memory, sample an exact chain with the trained flow, measure observables,
// round-trip the model file, and time the library's hot entry points from
// outside its module (the numbers BENCHMARKS.md compares with `gomalizing bench`).
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

/// cfgs/example2d_fast.toml (cross kernel, path gradient), written as the
/// core's types: no config file, no result folder.
let lattice = Lattice(L: 8, d: 2)
let action = Phi4Action(lattice: lattice, m2: -4.0, lam: 8.0)
let spec = ModelSpec(L: 8, d: 2, nLayers: 16, hiddenSizes: [8, 8], kernelSize: 3, crossKernel: true, useFinalTanh: true,
                     seed: 2021)

func trainingSettings(epochs: Int) -> TrainingSettings {
    var s = TrainingSettings()
    s.seed = 12345
    s.batchSize = 64
    s.epochs = epochs
    s.iterations = 100
    s.baseLR = 0.003
    s.optimiser = .adam
    s.pathGradient = true
    s.evalSamples = 1024
    return s
}

func run(_ options: Options) throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("SampleFromModel-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }

    // Train in memory with the core's loop, keeping the parameters of the best epoch.
    let settings = trainingSettings(epochs: options.epochs)
    let flow = Flow<Float>(spec: spec)
    let loop = TrainingLoop(flow: flow, action: action, settings: settings, threads: options.threads)
    var losses: [Double] = [], best = (acceptance: -1.0, parameters: flow.parameters)
    for epoch in 1...settings.epochs {
        guard case let .finished(r) = try loop.runEpoch(epoch) else { throw Failure("training stopped on a request") }
        print(String(format: "epoch %d: loss %.3f, acceptance %.1f%%, ESS %.3f", epoch, r.loss, r.evaluation.acceptance,
                     r.evaluation.ess))
        losses.append(r.loss)
        if r.evaluation.acceptance > best.acceptance { best = (r.evaluation.acceptance, flow.parameters) }
    }
    try check(losses.last! < losses.first!, "the loss fell over \(losses.count) epochs")
    try check(best.acceptance > 5, "training reached an acceptance above 5% (\(best.acceptance)%)")

    // Sample an exact chain from the best parameters, and measure.
    flow.parameters = best.parameters
    let sampler = FlowSampler(flow: flow, action: action, batchSize: 256, seed: 1, threads: options.threads,
                              prior: settings.prior)
    var measurements = Measurements(lattice: lattice)
    var row = [Double](repeating: 0, count: lattice.volume)
    sampler.run(steps: 20_000) { phi, _, _, _ in
        for i in row.indices { row[i] = Double(phi[i]) }
        measurements.add(row)
    }
    let observables = Observables(measurements)
    let chi2 = observables.susceptibility
    print(String(format: "chain: acceptance %.1f%%, chi_2 = %.4f ± %.4f, <|M|> = %.4f ± %.4f",
                 sampler.chain.acceptanceRate, chi2.value, chi2.error,
                 observables.absMagnetization.value, observables.absMagnetization.error))
    // HMC at this point (docs/manual/analysis.md): chi_2 = 0.75, <|M|> = 0.087.
    try check(abs(chi2.value - 0.75) < 5 * chi2.error + 0.02, "chi_2 agrees with HMC's 0.75")

    // Model files: save, read back, same parameters.
    let modelURL = scratch.appendingPathComponent("copy.safetensors")
    try ModelFile.save(flow, to: modelURL, extra: ["note": "SampleFromModel"])
    let copy = try ModelFile.load(flow.architecture, from: modelURL.path)
    try check(copy.parameters == flow.parameters, "a saved model reads back bit-identical")

    // Timing from outside the module: the step `gomalizing bench` times (its
    // example2d case: full 3x3 kernel, 16 couplings of widths [8, 8], untrained,
    // batch 64), through the generic types. Compare with
    // `gomalizing bench --threads N --filter example2d`; printed, not asserted:
    // timings on a shared machine are no test.
    let benchFlow = Flow<Float>(spec: ModelSpec(L: 8, d: 2, nLayers: 16, hiddenSizes: [8, 8], kernelSize: 3, seed: 2021))
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
    print(String(format: "bench's example2d case from this module, %d threads: training step %.2f ms, sampling %.0f proposals/s",
                 options.threads, train * 1e3, 64 / sample))
}

do {
    try run(try Options(Array(CommandLine.arguments.dropFirst())))
} catch {
    FileHandle.standardError.write(Data("SampleFromModel: \(error)\n".utf8))
    exit(1)
}

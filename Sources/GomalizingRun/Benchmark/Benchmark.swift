import Dispatch
import Foundation
import GomalizingFlow

/// Times training steps and flow sampling on the standard cases: medians over
/// repetitions after a warm-up, with convolution FLOP rates.
public enum Benchmark {
    /// One benchmark case: a model spec and the batch size it is timed at.
    public struct Case {
        /// Label printed with the results; `bench` filters cases by it.
        public var name: String
        /// The model to time, at its seeded initial parameters.
        public var spec: ModelSpec
        /// Configurations per training step and per sampled batch.
        public var batch: Int
        /// A case timing `spec` at `batch` configurations per step.
        public init(name: String, spec: ModelSpec, batch: Int) {
            self.name = name
            self.spec = spec
            self.batch = batch
        }
    }

    /// Median timings of one case and the convolution FLOP rates they imply.
    public struct Result {
        /// The case's name.
        public var name: String
        /// The case's batch size.
        public var batch: Int
        /// Number of Float32 parameters of the flow.
        public var parameters: Int
        /// Median milliseconds of one training step: prior draws, forward and backward pass, Adam update.
        public var trainMs: Double
        /// Convolution GFLOP/s of a training step, counting the backward pass as twice the forward.
        public var trainGFLOPs: Double
        /// Median milliseconds to draw one batch and push it through the flow (no gradient).
        public var sampleMs: Double
        /// Proposals per second: batch / sampling time.
        public var samplesPerSecond: Double
        /// Convolution GFLOP/s of sampling (forward pass only).
        public var sampleGFLOPs: Double
        /// Timed repetitions of the training step.
        public var reps: Int
    }

    /// The standard cases: 16 couplings, hidden sizes [8, 8], K = 3, batch 64, on
    /// L = 8, 16, 32 in 2D, L = 8 in 3D and L = 6 in 4D (4C2).
    public static func standardCases() -> [Case] {
        func spec(_ L: Int, _ d: Int, k: Int? = nil) -> ModelSpec {
            ModelSpec(L: L, d: d, nLayers: 16, hiddenSizes: [8, 8], kernelSize: 3, convAxes: k, useFinalTanh: true)
        }
        return [
            Case(name: "example2d L=8 d=2", spec: spec(8, 2), batch: 64),
            Case(name: "L=16 d=2", spec: spec(16, 2), batch: 64),
            Case(name: "L=32 d=2", spec: spec(32, 2), batch: 64),
            Case(name: "L=8 d=3", spec: spec(8, 3), batch: 64),
            Case(name: "L=6 d=4 (4C2)", spec: spec(6, 4, k: 2), batch: 64),
        ]
    }

    static func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    static func median(_ x: [Double]) -> Double {
        let s = x.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }

    /// Runs one case: `warmup` untimed repetitions, then at least `minReps` and
    /// until `minSeconds` have passed (at most `maxReps`).
    public static func run(_ c: Case, threads: Int, warmup: Int = 2, minReps: Int = 5, maxReps: Int = 50,
                           minSeconds: Double = 2) -> Result {
        let flow = Flow<Float>(spec: c.spec)
        let action = Phi4Action(lattice: flow.lattice, m2: -4, lam: 8)
        let runner = BatchRunner(flow: flow, action: action, batchSize: c.batch, threads: threads)
        var adam = Optimiser(parameterCount: flow.parameters.count, lr: 1e-4)
        // Prior draws as the trainer and the sampler make them.
        let draws = PriorDraws(seed: 1, purpose: .training, volume: flow.lattice.volume)
        var step = 0
        var z = [Float](repeating: 0, count: c.batch * flow.lattice.volume)
        func draw() {
            z.withUnsafeMutableBufferPointer { draws.fill($0.baseAddress!, step: step, first: 0, count: c.batch, threads: threads) }
            step += 1
        }
        func trainStep() {
            draw()
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: true, training: true) }
            adam.update(&flow.parameters, gradient: runner.gradient)
        }
        func sampleBatch() {
            draw()
            z.withUnsafeBufferPointer { _ = runner.run(z: $0.baseAddress!, withGradient: false, training: false) }
        }
        func measure(_ body: () -> Void) -> (Double, Int) {
            for _ in 0..<warmup { body() }
            var times: [Double] = []
            var total = 0.0
            while times.count < minReps || (total < minSeconds && times.count < maxReps) {
                let t = seconds(body)
                times.append(t)
                total += t
            }
            return (median(times), times.count)
        }
        let (train, reps) = measure(trainStep)
        let (sample, _) = measure(sampleBatch)
        let fwd = flow.architecture.forwardFLOPs * Double(c.batch)
        // Backward = weight gradient + input gradient, each as many FLOPs as forward.
        return Result(name: c.name, batch: c.batch, parameters: flow.parameters.count,
                      trainMs: train * 1e3, trainGFLOPs: 3 * fwd / train * 1e-9,
                      sampleMs: sample * 1e3, samplesPerSecond: Double(c.batch) / sample,
                      sampleGFLOPs: fwd / sample * 1e-9, reps: reps)
    }
}

import ArgumentParser
import Foundation
import GomalizingFlow
import GomalizingRun

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps and flow sampling on the standard cases (medians after warm-up).")

    @OptionGroup var workers: ThreadOption
    var threads: Int? { workers.threads }

    @Option(help: "Only cases whose name contains this text.")
    var filter: String?

    @Option(parsing: .unconditional, help: "Minimum seconds of timed repetitions per measurement.")
    var seconds: Double = 2

    func validate() throws {
        if !(seconds > 0 && seconds <= 3600) { throw ValidationError("--seconds must be in (0, 3600], got \(seconds)") }
    }

    func run() throws {
        let peak = MachinePeak.detect()
        let t = threads ?? defaultThreadCount()
        print("machine: \(peak.cpuName), \(t) threads, kernels \(KernelPath.active.rawValue) (\(KernelPath.environmentVariable))")
        print("FP32 peak: \(peak.derivation)")
        print("FLOPs: dense convolution count of the model, 2 per multiply-add; a training step counts forward + weight")
        print("gradient + input gradient = 3x forward. The s,t layer is evaluated on active sites only, so the")
        print("arithmetic actually done is about 9% less than counted (GFLOP/s are dense-equivalent rates).")
        print("Sampling evaluates 3x3 hidden convolutions of 2D lattices (3D too with the avx2-fma kernels) by")
        print("Winograd F(2,3) along each axis, 2.25x (3D: 3.4x) fewer multiplies than counted: its GFLOP/s are")
        print("direct-convolution-equivalent rates.")
        print("")
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        print([pad("case", 20, left: true), pad("batch", 5), pad("params", 9), pad("train ms", 9), pad("GFLOP/s", 8),
               pad("% peak", 7), pad("samples/s", 10), pad("GFLOP/s", 8), pad("reps", 5)].joined(separator: " "))
        for c in Benchmark.standardCases() where filter.map({ c.name.contains($0) }) ?? true {
            let r = Benchmark.run(c, threads: t, minSeconds: seconds)
            print([pad(r.name, 20, left: true), pad("\(r.batch)", 5), pad("\(r.parameters)", 9),
                   pad(String(format: "%.2f", r.trainMs), 9), pad(String(format: "%.2f", r.trainGFLOPs), 8),
                   pad(String(format: "%.1f%%", 100 * r.trainGFLOPs / peak.gflops), 7),
                   pad(String(format: "%.0f", r.samplesPerSecond), 10), pad(String(format: "%.2f", r.sampleGFLOPs), 8),
                   pad("\(r.reps)", 5)].joined(separator: " "))
            fflush(stdout)
        }
    }
}

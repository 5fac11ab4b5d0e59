import ArgumentParser
import Foundation
import GomalizingFlow

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps and flow sampling on the standard cases (medians after warm-up).")

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Only cases whose name contains this text.")
    var filter: String?

    @Option(help: "Minimum seconds of timed repetitions per measurement.")
    var seconds: Double = 2

    func run() throws {
        let peak = MachinePeak.detect()
        let t = threads ?? defaultThreadCount()
        print("machine: \(peak.cpuName), \(t) threads")
        print("FP32 peak: \(peak.derivation)")
        print("FLOPs: convolutions only, 2 per multiply-add; a training step counts forward + weight gradient + input gradient = 3x forward")
        print("")
        print(String(format: "%-20@ %5@ %9@ %9@ %7@ %9@ %11@ %9@ %5@", "case" as NSString, "batch" as NSString,
                     "params" as NSString, "train ms" as NSString, "GFLOP/s" as NSString, "% peak" as NSString,
                     "samples/s" as NSString, "GFLOP/s" as NSString, "reps" as NSString))
        for c in Benchmark.standardCases() where filter.map({ c.name.contains($0) }) ?? true {
            let r = Benchmark.run(c, threads: t, minSeconds: seconds)
            print(String(format: "%-20@ %5d %9d %9.2f %7.2f %8.1f%% %11.0f %9.2f %5d", r.name as NSString, r.batch, r.parameters,
                         r.trainMs, r.trainGFLOPs, 100 * r.trainGFLOPs / peak.gflops, r.samplesPerSecond, r.sampleGFLOPs, r.reps))
            fflush(stdout)
        }
    }
}

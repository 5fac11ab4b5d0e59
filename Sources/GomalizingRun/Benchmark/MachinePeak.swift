import Foundation
import GomalizingFlow

/// The machine's theoretical FP32 peak, derived from /proc/cpuinfo and stated
/// with its derivation: cores x FMA pipes x lanes per pipe x 2 FLOP x clock.
public struct MachinePeak {
    /// Active processor count.
    public let cores: Int
    /// Clock in GHz, from /proc/cpuinfo's "cpu MHz" (2 GHz if absent).
    public let ghz: Double
    /// FMA pipes per core (assumed 2).
    public let pipes: Int
    /// FP32 lanes per pipe: 16 (AVX-512), 8 (AVX2+FMA), 4 (SSE, or AVX2 on Zen/Zen+).
    public let lanes: Int
    /// /proc/cpuinfo's "model name".
    public let cpuName: String
    /// The vector unit the lane count assumes, and where the clock came from.
    public let note: String

    /// Peak GFLOP/s: cores x pipes x lanes x 2 x ghz.
    public var gflops: Double { Double(cores * pipes * lanes * 2) * ghz }

    /// One line stating the peak and how it was derived.
    public var derivation: String {
        String(format: "%d cores x %d FMA pipes x %d FP32 lanes x 2 FLOP x %.3f GHz = %.1f GFLOP/s (%@)",
               cores, pipes, lanes, ghz, gflops, note as NSString)
    }

    /// The peak of this machine, from /proc/cpuinfo (defaults where it is missing)
    /// and the active core count.
    public static func detect() -> MachinePeak {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ key: String) -> String? {
            for line in info.split(separator: "\n") where line.hasPrefix(key) {
                if let c = line.firstIndex(of: ":") { return line[line.index(after: c)...].trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let mhz = Double(field("cpu MHz") ?? "") ?? 2000
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let vendor = field("vendor_id") ?? ""
        let family = Int(field("cpu family") ?? "") ?? 0
        let name = field("model name") ?? "unknown CPU"
        var lanes = 4, note = "SSE: 128-bit"
        if flags.contains("avx512f") {
            lanes = 16; note = "AVX-512"
        } else if flags.contains("avx2") && flags.contains("fma") {
            lanes = 8; note = "AVX2+FMA: 256-bit"
        }
        if vendor == "AuthenticAMD" && family == 23 && lanes == 8 {
            // Zen and Zen+ split 256-bit operations over two 128-bit FMA pipes.
            lanes = 4
            note = "AMD family 17h (Zen/Zen+): AVX2 on 128-bit FMA pipes"
        }
        return MachinePeak(cores: cores, ghz: mhz / 1000, pipes: 2, lanes: lanes, cpuName: name,
                           note: note + ", clock from /proc/cpuinfo")
    }
}

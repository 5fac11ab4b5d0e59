import Atomics
import CKernels
import Foundation

/// Which code runs the Float32 convolutions: the portable Swift kernels
/// (SSE2, the x86-64 baseline every build targets) or C kernels compiled for
/// AVX2 with FMA, chosen at run time where the CPU has them. The two agree to
/// float rounding, not bit for bit (a fused multiply-add rounds once, and the
/// weight gradient sums in another order); results recorded with the portable
/// kernels are reproduced bit for bit with `GOMALIZING_KERNELS=portable`.
public enum KernelPath: String, Sendable, CaseIterable {
    /// `ConvKernel`'s Swift loops (4-lane SSE, multiply and add rounded apart).
    case portable
    /// `CKernels`' 8-lane AVX2 loops with fused multiply-adds.
    case avx2fma = "avx2-fma"

    /// The environment variable that chooses the path: `auto` (or unset) for the
    /// fastest this CPU runs, or a path's name.
    public static let environmentVariable = "GOMALIZING_KERNELS"

    /// Whether this CPU runs the path.
    public var isAvailable: Bool {
        switch self {
        case .portable: return true
        case .avx2fma: return gf_cpu_has_avx2_fma() != 0
        }
    }

    /// The fastest path this CPU runs: what `auto` means.
    public static var fastestAvailable: KernelPath { avx2fma.isAvailable ? .avx2fma : .portable }

    /// The path `GOMALIZING_KERNELS` asks for on this CPU, or a one-line reason
    /// it cannot be had (an unknown name, or a path this CPU lacks), as an
    /// input error about the environment.
    public static func requested(by value: String?) -> Result<KernelPath, InputError> {
        let v = (value ?? "auto").trimmingCharacters(in: .whitespaces).lowercased()
        if v == "auto" || v.isEmpty { return .success(fastestAvailable) }
        guard let path = KernelPath(rawValue: v) else {
            return .failure(InputError(file: "environment", "\(environmentVariable)=\(value ?? ""): expected one of auto, "
                                       + allCases.map(\.rawValue).joined(separator: ", ")))
        }
        guard path.isAvailable else {
            return .failure(InputError(file: "environment", "\(environmentVariable)=\(v): this CPU lacks AVX2 with FMA"))
        }
        return .success(path)
    }

    // 0: not yet read from the environment; else 1 + the index in allCases.
    private static let chosen = ManagedAtomic<Int>(0)

    /// The path the convolutions take: set by `select`, else read once from
    /// `GOMALIZING_KERNELS` (an invalid value there falls back to `auto`; the
    /// command line reports it before any work starts).
    public static var active: KernelPath {
        let c = chosen.load(ordering: .relaxed)
        if c > 0 { return allCases[c - 1] }
        let path = (try? requested(by: ProcessInfo.processInfo.environment[environmentVariable]).get())
            ?? fastestAvailable
        select(path)
        return path
    }

    /// Makes `path` the active one (it must be available; tests compare the paths).
    public static func select(_ path: KernelPath) {
        precondition(path.isAvailable, "kernel path \(path.rawValue) is not available on this CPU")
        chosen.store(allCases.firstIndex(of: path)! + 1, ordering: .relaxed)
    }
}

// The Float views of a generic kernel's pointers, for the C kernels (only
// taken where T is Float).
extension UnsafePointer {
    @inline(__always) var asFloat: UnsafePointer<Float> { UnsafeRawPointer(self).assumingMemoryBound(to: Float.self) }
}

extension UnsafeMutablePointer {
    @inline(__always) var asFloat: UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(self).assumingMemoryBound(to: Float.self)
    }
}

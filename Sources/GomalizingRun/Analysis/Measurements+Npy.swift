import Foundation
import GomalizingFlow

extension Measurements {
    /// Reads every configuration of a .npy file of shape (N, L, ..., L) matching `lattice`.
    public static func read(npy: NpyFile, lattice: Lattice, skip: Int = 0) throws -> Measurements {
        guard npy.shape.count == lattice.d + 1, npy.shape.dropFirst().allSatisfy({ $0 == lattice.L }) else {
            throw InputError(file: npy.path, field: "shape", "\(npy.shape) does not match (N, \(lattice.shape.map(String.init).joined(separator: ", "))) of the config")
        }
        guard npy.rowCount - skip >= 4 else {
            throw InputError(file: npy.path, "holds \(npy.rowCount) configurations; the analysis needs at least 4 after skipping \(skip)")
        }
        var m = Measurements(lattice: lattice)
        var row: [Double] = []
        for r in skip..<npy.rowCount {
            npy.row(r, into: &row)
            guard row.allSatisfy({ $0.isFinite }) else {
                throw InputError(file: npy.path, field: "configuration \(r)", "holds a NaN or infinite value")
            }
            m.add(row)
        }
        return m
    }
}

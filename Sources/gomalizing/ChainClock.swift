import Foundation

/// The wall time of a chain command, as its provenance record keeps it
/// (`details["seconds"]`, read back by `ChainCost`).
enum ChainClock {
    /// Seconds since `start`, to the millisecond.
    static func seconds(since start: ContinuousClock.Instant) -> String {
        let d = start.duration(to: .now).components
        return String(format: "%.3f", Double(d.seconds) + Double(d.attoseconds) * 1e-18)
    }
}

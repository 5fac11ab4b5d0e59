import Foundation

/// Hybrid Monte Carlo for the phi^4 action: momenta from N(0, 1), leapfrog
/// integration of H = pi^2/2 + S(phi) with `steps` steps of size `stepSize`,
/// and a Metropolis accept/reject on exp(-dH). The standard baseline of
/// Albergo et al. (2019). Works in Float64 throughout.
public struct HMC {
    /// The target action S.
    public let action: Phi4Action
    /// Leapfrog step size.
    public var stepSize: Double
    /// Leapfrog steps per trajectory.
    public var steps: Int
    /// The current configuration, V values in row-major site order (zero at the start).
    public private(set) var phi: [Double]
    /// Trajectories run so far.
    public private(set) var trajectories = 0
    /// Trajectories accepted so far.
    public private(set) var accepted = 0
    private var rng: Xoshiro256
    private var momentum: [Double]
    private var force: [Double]
    private var trial: [Double]

    /// A cold start, phi = 0, with a generator seeded by `seed`.
    public init(action: Phi4Action, stepSize: Double, steps: Int, seed: UInt64) {
        self.action = action
        self.stepSize = stepSize
        self.steps = steps
        let V = action.lattice.volume
        rng = Xoshiro256(seed: seed)
        // A cold start at zero; callers discard a burn-in.
        phi = [Double](repeating: 0, count: V)
        momentum = phi
        force = phi
        trial = phi
    }

    /// Acceptance bookkeeping over a stretch of trajectories.
    public struct Counter {
        /// Trajectories recorded.
        public private(set) var total = 0
        /// Accepted trajectories recorded.
        public private(set) var accepted = 0
        /// An empty counter.
        public init() {}
        /// Records one trajectory; `a`: whether it was accepted.
        public mutating func record(_ a: Bool) {
            total += 1
            if a { accepted += 1 }
        }
        /// Acceptance in percent (0 before any trajectory).
        public var rate: Double { total == 0 ? 0 : 100 * Double(accepted) / Double(total) }
    }

    /// Acceptance in percent over all trajectories (0 before any).
    public var acceptanceRate: Double { trajectories == 0 ? 0 : 100 * Double(accepted) / Double(trajectories) }

    /// One trajectory; returns whether it was accepted. A `StopRequest` cuts
    /// it between leapfrog steps: the configuration is kept, the trajectory not
    /// counted, and false returned (the caller checks `StopRequest.isRequested`).
    @discardableResult
    public mutating func trajectory() -> Bool {
        let V = action.lattice.volume
        momentum.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: V) }
        trial = phi
        var kinetic0 = 0.0
        for p in momentum { kinetic0 += p * p }
        let h0 = 0.5 * kinetic0 + action.action(phi)
        let eps = stepSize
        var cut = false
        trial.withUnsafeMutableBufferPointer { q in
            momentum.withUnsafeMutableBufferPointer { p in
                force.withUnsafeMutableBufferPointer { f in
                    let q = q.baseAddress!, p = p.baseAddress!, f = f.baseAddress!
                    action.force(UnsafePointer(q), into: f)
                    for x in 0..<V { p[x] -= 0.5 * eps * f[x] }
                    for s in 0..<steps {
                        if StopRequest.isRequested { cut = true; return }
                        for x in 0..<V { q[x] += eps * p[x] }
                        action.force(UnsafePointer(q), into: f)
                        let w = s == steps - 1 ? 0.5 * eps : eps
                        for x in 0..<V { p[x] -= w * f[x] }
                    }
                }
            }
        }
        if cut { return false }
        var kinetic1 = 0.0
        for p in momentum { kinetic1 += p * p }
        let dH = 0.5 * kinetic1 + action.action(trial) - h0
        trajectories += 1
        let accept = dH <= 0 || rng.uniform() < Foundation.exp(-dH)
        if accept {
            swap(&phi, &trial)
            accepted += 1
        }
        return accept
    }
}

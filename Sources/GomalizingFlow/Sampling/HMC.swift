import Foundation

/// Hybrid Monte Carlo for the phi^4 action: momenta from N(0, M), leapfrog
/// integration of H = pi^T M^-1 pi / 2 + S(phi) with `steps` steps of size
/// `stepSize`, and a Metropolis accept/reject on exp(-dH). M = 1 is the
/// standard baseline of Albergo et al. (2019); a `FourierMass` makes it
/// Fourier-accelerated HMC. Works in Float64 throughout.
public struct HMC: MarkovChainSampler {
    /// The target action S.
    public let action: Phi4Action
    /// Leapfrog step size.
    public var stepSize: Double
    /// Leapfrog steps per trajectory.
    public var steps: Int
    /// The mass matrix; nil: M = 1 (plain HMC).
    public let mass: FourierMass?
    /// Each trajectory's step size is drawn uniformly from stepSize (1 ± stepJitter),
    /// independently of the state (so detailed balance holds), which breaks the
    /// resonances of a fixed trajectory length; 0: no jitter, no extra draw.
    public var stepJitter: Double = 0
    /// The current configuration, V values in row-major site order (zero at the
    /// start). Setting it moves the chain (a cluster update flips signs here);
    /// the leapfrog reads it through raw pointers, so its length is checked.
    public var phi: [Double] {
        didSet { precondition(phi.count == action.lattice.volume, "HMC.phi needs \(action.lattice.volume) values") }
    }
    /// Trajectories run so far.
    public private(set) var trajectories = 0
    /// Trajectories accepted so far.
    public private(set) var accepted = 0
    /// dH of the last completed trajectory: <exp(-dH)> = 1 and dH = O(stepSize^2)
    /// are the checks that the kinetic energy matches the dynamics.
    public private(set) var lastDeltaH = 0.0
    private var rng: Xoshiro256
    private var momentum: [Double]
    private var force: [Double]
    private var trial: [Double]
    /// With a mass matrix: the velocity M^-1 pi and the DFT's scratch.
    private var velocity: [Double] = []
    private var scratch: [Double] = []

    /// A cold start, phi = 0, with a generator seeded by `seed`; `mass` nil is plain HMC.
    public init(action: Phi4Action, stepSize: Double, steps: Int, seed: UInt64, mass: FourierMass? = nil) {
        precondition(mass.map { $0.lattice == action.lattice } ?? true, "the mass matrix is for another lattice")
        self.action = action
        self.mass = mass
        self.stepSize = stepSize
        self.steps = steps
        let V = action.lattice.volume
        rng = Xoshiro256(seed: seed)
        // A cold start at zero; callers discard a burn-in.
        phi = [Double](repeating: 0, count: V)
        momentum = phi
        force = phi
        trial = phi
        if mass != nil {
            velocity = phi
            scratch = phi
        }
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

    /// One trajectory (`MarkovChainSampler`).
    public mutating func update() -> Bool { trajectory() }

    /// Draws the momentum into `momentum` and returns its kinetic energy
    /// pi^T M^-1 pi / 2. With a mass: pi = M^(1/2) eta for white noise eta,
    /// whose kinetic energy is eta^T eta / 2.
    private mutating func drawMomentum() -> Double {
        let V = action.lattice.volume
        momentum.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: V) }
        let kinetic = Self.halfSumOfSquares(momentum)
        if let mass {
            momentum.withUnsafeMutableBufferPointer { p in
                scratch.withUnsafeMutableBufferPointer { mass.multiplyByRoot(p.baseAddress!, scratch: $0.baseAddress!) }
            }
        }
        return kinetic
    }

    /// sum x^2 / 2, summed in site order (the order plain HMC has always used).
    private static func halfSumOfSquares(_ x: [Double]) -> Double {
        var sum = 0.0
        for v in x { sum += v * v }
        return 0.5 * sum
    }

    /// pi^T M^-1 pi / 2 of the current momentum.
    private mutating func kineticEnergy() -> Double {
        guard let mass else { return Self.halfSumOfSquares(momentum) }
        velocity.withUnsafeMutableBufferPointer { v in
            v.baseAddress!.update(from: momentum, count: momentum.count)
            scratch.withUnsafeMutableBufferPointer { mass.multiplyByInverse(v.baseAddress!, scratch: $0.baseAddress!) }
        }
        var kinetic = 0.0
        for x in 0..<momentum.count { kinetic += momentum[x] * velocity[x] }
        return 0.5 * kinetic
    }

    /// One trajectory; returns whether it was accepted. A `StopRequest` cuts
    /// it between leapfrog steps: the configuration is kept, the trajectory not
    /// counted, and false returned (the caller checks `StopRequest.isRequested`).
    @discardableResult
    public mutating func trajectory() -> Bool {
        let V = action.lattice.volume
        let eps = stepJitter > 0 ? stepSize * (1 + stepJitter * (2 * rng.uniform() - 1)) : stepSize
        let h0 = drawMomentum() + action.action(phi)
        trial = phi
        var cut = false
        let mass = self.mass
        trial.withUnsafeMutableBufferPointer { q in
            momentum.withUnsafeMutableBufferPointer { p in
                force.withUnsafeMutableBufferPointer { f in
                    velocity.withUnsafeMutableBufferPointer { v in
                        scratch.withUnsafeMutableBufferPointer { w in
                            let q = q.baseAddress!, p = p.baseAddress!, f = f.baseAddress!
                            action.force(UnsafePointer(q), into: f)
                            for x in 0..<V { p[x] -= 0.5 * eps * f[x] }
                            for s in 0..<steps {
                                if StopRequest.isRequested { cut = true; return }
                                if let mass {
                                    let v = v.baseAddress!
                                    v.update(from: p, count: V)
                                    mass.multiplyByInverse(v, scratch: w.baseAddress!)
                                    for x in 0..<V { q[x] += eps * v[x] }
                                } else {
                                    for x in 0..<V { q[x] += eps * p[x] }
                                }
                                action.force(UnsafePointer(q), into: f)
                                let kick = s == steps - 1 ? 0.5 * eps : eps
                                for x in 0..<V { p[x] -= kick * f[x] }
                            }
                        }
                    }
                }
            }
        }
        if cut { return false }
        let dH = kineticEnergy() + action.action(trial) - h0
        lastDeltaH = dH
        trajectories += 1
        let accept = dH <= 0 || rng.uniform() < Foundation.exp(-dH)
        if accept {
            // Exchanges the buffers without copying them (swap(&phi, &trial) would overlap with phi's observer).
            let old = phi
            phi = trial
            trial = old
            accepted += 1
        }
        return accept
    }
}

import Numerics

/// A linear layer diagonal in momentum space, u = F^-1[e^mu(p) F z], with one
/// log-scale mu per orbit of momenta under the lattice's rotations and
/// reflections (a momentum is numbered as a site, so `DisplacementOrbits`
/// groups momenta too). log|det du/dz| = sum_p mu(p), the same for every
/// configuration: the layer is exact and cheap.
///
/// Put before the couplings it turns the prior N(0, 1) into a Gaussian with
/// any translation- and rotation-invariant covariance, e.g. the free field's
/// 1/(2(p^2 + m^2)), whose long-range part checkerboard couplings with small
/// kernels build only slowly. Its operator is symmetric (mu(p) = mu(-p)), so
/// its transpose is itself. `forward` pairs with `pullback`, `inverse` with
/// `inverseCotangent`, as in a ChainRules rrule.
public struct FourierScaling<T: Real & BinaryFloatingPoint> {
    /// The momentum orbits: one parameter each.
    public let orbits: DisplacementOrbits
    /// Start of the mu values (one per orbit) in the parameter vector.
    public let offset: Int
    let dft: LatticeDFT<T>
    /// For covering fields (`FlowTarget.oddSites`), the weight of each momentum
    /// in the log-det: a covering field has no modes of odd k_0 + k_1 (its copies
    /// are a shift by (L/2, L/2) apart), so the map restricted to such fields has
    /// log-det sum over even-sum momenta of mu, counted twice like every other
    /// layer's (weights 2 and 0; orbits never mix the two kinds). nil: all 1.
    let logDetWeight: [T]?

    /// The layer over `orbits`' lattice with its parameters at `offset`;
    /// `covering`: its log-det is that of covering fields (see `logDetWeight`).
    public init(orbits: DisplacementOrbits, offset: Int, covering: Bool = false) {
        self.orbits = orbits
        self.offset = offset
        dft = LatticeDFT(lattice: orbits.lattice)
        logDetWeight = covering ? (0..<orbits.lattice.volume).map { p in
            orbits.lattice.coordinates(p).reduce(0, +) % 2 == 0 ? 2 : 0
        } : nil
    }

    /// Parameters: one per momentum orbit.
    public var parameterCount: Int { orbits.count }

    /// log|det du/dz| = sum over all momenta of mu(p).
    public func logDet(_ params: UnsafePointer<T>) -> T {
        var s: T = 0
        if let w = logDetWeight {
            for p in 0..<orbits.lattice.volume { s += w[p] * params[offset + orbits.orbitOf[p]] }
            return s
        }
        for o in 0..<orbits.count { s += T(orbits.sizes[o]) * params[offset + o] }
        return s
    }

    /// out_b = F^-1[e^(sign mu) F in_b] for n configurations (out may be in).
    func scale(_ params: UnsafePointer<T>, sign: T, _ input: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, n: Int) {
        let V = orbits.lattice.volume
        withUnsafeTemporaryAllocation(of: T.self, capacity: 2 * V) { buffer in
            let factor = buffer.baseAddress!, im = factor + V
            for p in 0..<V { factor[p] = T.exp(sign * params[offset + orbits.orbitOf[p]]) }
            for b in 0..<n {
                let re = out + b * V
                if re != UnsafeMutablePointer(mutating: input + b * V) { re.update(from: input + b * V, count: V) }
                dft.multiply(re, bySymbol: factor, scratch: im)
            }
        }
    }

    /// u = F^-1[e^mu F z] for n configurations ([n][V] each).
    public func forward(_ params: UnsafePointer<T>, _ z: UnsafePointer<T>, into u: UnsafeMutablePointer<T>, n: Int) {
        scale(params, sign: 1, z, into: u, n: n)
    }

    /// z = F^-1[e^-mu F u] for n configurations.
    public func inverse(_ params: UnsafePointer<T>, _ u: UnsafePointer<T>, into z: UnsafeMutablePointer<T>, n: Int) {
        scale(params, sign: -1, u, into: z, n: n)
    }

    /// The pullback of (u, logJ) = forward(z) with cotangents dU ([n][V]) and
    /// dLogJ ([n]): accumulates dL/dmu into `grads` (at `offset`), and writes
    /// dL/dz = F^-1[e^mu F dU] to `dZ` if given (dZ may be dU).
    ///
    /// dL/du depends on mu(p) through u^(p) = e^mu(p) z^(p):
    /// dL/dmu(p) = Re(conj(dU^(p)) u^(p))/V, plus dLogJ, summed over each orbit.
    public func pullback(_ params: UnsafePointer<T>, z: UnsafePointer<T>, dU: UnsafePointer<T>, dLogJ: UnsafePointer<T>, n: Int,
                         grads: UnsafeMutablePointer<T>, dZ: UnsafeMutablePointer<T>?) {
        let V = orbits.lattice.volume
        withUnsafeTemporaryAllocation(of: T.self, capacity: 6 * V) { buffer in
            let ur = buffer.baseAddress!, ui = ur + V, gr = ui + V, gi = gr + V, perMomentum = gi + V, factor = perMomentum + V
            perMomentum.initialize(repeating: 0, count: V)
            for p in 0..<V { factor[p] = T.exp(params[offset + orbits.orbitOf[p]]) }
            var logJSum: T = 0
            for b in 0..<n {
                ur.update(from: z + b * V, count: V)
                gr.update(from: dU + b * V, count: V)
                ui.initialize(repeating: 0, count: V)
                gi.initialize(repeating: 0, count: V)
                dft.forward(re: ur, im: ui)
                dft.forward(re: gr, im: gi)
                for p in 0..<V { perMomentum[p] += factor[p] * (gr[p] * ur[p] + gi[p] * ui[p]) }
                logJSum += dLogJ[b]
            }
            let inverseVolume = 1 / T(V)
            if let w = logDetWeight {
                for p in 0..<V { perMomentum[p] = perMomentum[p] * inverseVolume + w[p] * logJSum }
            } else {
                for p in 0..<V { perMomentum[p] = perMomentum[p] * inverseVolume + logJSum }
            }
            orbits.fold(UnsafePointer(perMomentum), into: grads + offset)
        }
        if let dZ { scale(params, sign: 1, dU, into: dZ, n: n) }
    }

    /// The cotangent on u from the cotangent on z through z = inverse(u):
    /// dL/du = F^-1[e^-mu F dL/dz], in place. The log-det does not depend on u.
    public func inverseCotangent(_ params: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>, n: Int) {
        scale(params, sign: -1, g, into: g, n: n)
    }
}

extension DisplacementOrbits {
    /// p^2 = sum_mu 4 sin^2(pi k_mu/L) of each orbit read as momenta k: the
    /// lattice momentum squared, which orders the modes from infrared to ultraviolet.
    public var momentumSquared: [Double] {
        representatives.map { k in k.reduce(0.0) { s, km in s + 4 * Double.pow(Double.sin(Double.pi * Double(km) / Double(lattice.L)), 2) } }
    }

    /// Log-scales of a Fourier layer on `source`'s lattice carried to this one
    /// (another L, same d): each orbit takes the value at its p^2, linearly
    /// interpolated between the source's orbits (held constant beyond them;
    /// source orbits of equal p^2 averaged), so that a model trained at a small
    /// L starts a larger one. `covering`: only the source's momenta of even
    /// k_0 + k_1 are read (a covering field has no others, so a covering flow's
    /// log-scales of the rest are never trained; see `FourierScaling.logDetWeight`).
    public func transferLogScales(_ values: [Double], from source: DisplacementOrbits, covering: Bool = false) -> [Double] {
        precondition(values.count == source.count && source.lattice.d == lattice.d)
        var table: [(Double, Double)] = []
        var tied = 0
        let read = source.representatives.map { !covering || $0.reduce(0, +) % 2 == 0 }
        let pairs = zip(zip(source.momentumSquared, values), read).filter(\.1).map(\.0)
        for (p2, mu) in pairs.sorted(by: { $0.0 < $1.0 }) {
            if let last = table.last, abs(last.0 - p2) < 1e-12 {
                tied += 1
                table[table.count - 1].1 = last.1 + (mu - last.1) / Double(tied + 1)  // running mean
            } else {
                tied = 0
                table.append((p2, mu))
            }
        }
        return momentumSquared.map { p2 in
            guard let upper = table.firstIndex(where: { $0.0 >= p2 }) else { return table.last!.1 }
            guard upper > 0 else { return table[0].1 }
            let (x0, y0) = table[upper - 1], (x1, y1) = table[upper]
            return x1 == x0 ? y1 : y0 + (y1 - y0) * (p2 - x0) / (x1 - x0)
        }
    }
}

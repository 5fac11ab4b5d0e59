import Numerics

/// Euclidean lattice action of scalar phi^4 theory in the normalization of
/// Albergo, Kanwar and Shanahan (2019) and GomalizingFlow.jl:
///
///   S(phi) = sum_x [ sum_mu (phi(x+mu) - phi(x))^2 + m2 phi(x)^2 + lam phi(x)^4 ]
///
/// There is no 1/2 in front of the kinetic and mass terms. Sums are taken in
/// Double whatever the field precision, so S of a 10^4-site lattice keeps its digits.
public struct Phi4Action: Sendable {
    /// The lattice the field lives on.
    public let lattice: Lattice
    /// Coefficient m2 of phi^2 (may be negative).
    public let m2: Double
    /// Coefficient lam of phi^4.
    public let lam: Double
    private let forward: [[Int32]]
    private let backward: [[Int32]]

    /// The action on `lattice` with couplings `m2` and `lam`; builds the neighbour tables.
    public init(lattice: Lattice, m2: Double, lam: Double) {
        self.lattice = lattice
        self.m2 = m2
        self.lam = lam
        let table = lattice.neighbourTable()
        self.forward = Array(table[0..<lattice.d])
        self.backward = Array(table[lattice.d...])
    }

    /// S(phi) of one configuration stored at `phi[0..<V]`.
    public func action<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>) -> Double {
        if T.self == Float.self { return SpecialisedEntryPoints.action(self, UnsafePointer<Float>.cast(phi)) }
        if T.self == Double.self { return SpecialisedEntryPoints.action(self, UnsafePointer<Double>.cast(phi)) }
        return actionBody(phi)
    }

    /// `action` for any T.
    func actionBody<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>) -> Double {
        let V = lattice.volume
        var kinetic = 0.0
        var local = 0.0
        for mu in 0..<lattice.d {
            let nb = forward[mu]
            for x in 0..<V {
                let diff = Double(phi[Int(nb[x])]) - Double(phi[x])
                kinetic += diff * diff
            }
        }
        for x in 0..<V {
            let p2 = Double(phi[x]) * Double(phi[x])
            local += m2 * p2 + lam * p2 * p2
        }
        return kinetic + local
    }

    /// S(phi) of one configuration given as an array of V values.
    public func action<T: BinaryFloatingPoint>(_ phi: [T]) -> Double {
        phi.withUnsafeBufferPointer { action($0.baseAddress!) }
    }

    /// dS/dphi(x) = 4d phi - 2 sum_mu (phi(x+mu) + phi(x-mu)) + 2 m2 phi + 4 lam phi^3,
    /// written scaled by `scale` into `force` (the trainer passes 1/B).
    public func force<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>, into force: UnsafeMutablePointer<T>, scale: Double = 1) {
        if T.self == Float.self {
            return SpecialisedEntryPoints.force(self, UnsafePointer<Float>.cast(phi), .cast(force), scale)
        }
        if T.self == Double.self {
            return SpecialisedEntryPoints.force(self, UnsafePointer<Double>.cast(phi), .cast(force), scale)
        }
        forceBody(phi, into: force, scale: scale)
    }

    /// `force` for any T.
    func forceBody<T: BinaryFloatingPoint>(_ phi: UnsafePointer<T>, into force: UnsafeMutablePointer<T>, scale: Double) {
        let V = lattice.volume
        let d = lattice.d
        let diag = 4 * Double(d) + 2 * m2
        for x in 0..<V {
            let p = Double(phi[x])
            var hop = 0.0
            for mu in 0..<d {
                hop += Double(phi[Int(forward[mu][x])]) + Double(phi[Int(backward[mu][x])])
            }
            force[x] = T(scale * (diag * p - 2 * hop + 4 * lam * p * p * p))
        }
    }

    /// dS/dphi of one configuration, as a new array (unscaled).
    public func force<T: BinaryFloatingPoint>(_ phi: [T]) -> [T] {
        var f = [T](repeating: 0, count: phi.count)
        phi.withUnsafeBufferPointer { p in
            f.withUnsafeMutableBufferPointer { force(p.baseAddress!, into: $0.baseAddress!) }
        }
        return f
    }
}

import Numerics

/// The cluster update of Brower and Tamayo (PRL 62, 1087 (1989)) for phi^4:
/// with the magnitudes |phi(x)| held fixed, the signs s(x) form an Ising model.
///
/// In this package's action the only sign-dependent term is the hopping term,
/// -2 sum_<xy> phi(x) phi(y) = -2 sum_<xy> |phi(x) phi(y)| s(x) s(y), so the
/// signs carry the ferromagnetic couplings K_xy = 2 |phi(x) phi(y)| (no 1/2 in
/// front of the kinetic term, hence the 2), and a Wolff cluster joins two
/// neighbours of equal sign with probability p = 1 - exp(-2 K_xy) =
/// 1 - exp(-4 phi(x) phi(y)). Flipping the whole cluster is always accepted;
/// it changes neither the magnitudes nor S.
///
/// On L = 2 a site's forward and backward neighbours along an axis coincide:
/// that bond appears twice in the action and is tried twice here, which is the
/// doubled coupling's probability 1 - (1 - p)^2.
public struct EmbeddedIsing {
    /// Forward neighbours along each axis, then backward ones (`Lattice.neighbourTable`).
    let neighbours: [[Int32]]
    private var inCluster: [Bool]
    /// The cluster's sites in the order they joined; the ones past `head` are still to be grown from.
    private var members: [Int32] = []

    /// The update on `lattice`.
    public init(lattice: Lattice) {
        neighbours = lattice.neighbourTable()
        inCluster = [Bool](repeating: false, count: lattice.volume)
        members.reserveCapacity(lattice.volume)
    }

    /// The probability that a Wolff cluster joins neighbours with field values a and b.
    public static func bondProbability(_ a: Double, _ b: Double) -> Double {
        let ab = a * b
        return ab > 0 ? -Double.expMinusOne(-4 * ab) : 0
    }

    /// Grows one Wolff cluster from `site` and flips its signs; returns its size.
    public mutating func flipCluster(_ phi: inout [Double], from site: Int, rng: inout Xoshiro256) -> Int {
        members.removeAll(keepingCapacity: true)
        inCluster[site] = true
        members.append(Int32(site))
        var head = 0
        while head < members.count {
            let x = members[head]
            head += 1
            let a = phi[Int(x)]
            for table in neighbours {
                let y = Int(table[Int(x)])
                if inCluster[y] { continue }
                let p = Self.bondProbability(a, phi[y])
                if p > 0 && rng.uniform() < p {
                    inCluster[y] = true
                    members.append(Int32(y))
                }
            }
        }
        for x in members {
            phi[Int(x)] = -phi[Int(x)]
            inCluster[Int(x)] = false
        }
        return members.count
    }
}

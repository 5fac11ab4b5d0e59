import Foundation

/// The odd sites' effective action of 2-D phi^4 once the even sites are
/// integrated out exactly (they are independent given the odd ones, `SiteConditional`):
///
///   S_odd(phi_odd) = sum_{x odd} (a phi_x^2 + lam phi_x^4) - sum_{x even} log Z(h_x),
///
/// a = m2 + 4, h_x the sum of x's four (odd) neighbours; exp(-S_odd) is the
/// integral of exp(-S) over the even sites, so p and its odd marginal share Z.
///
/// The odd sites of the L x L lattice (L even) form a square lattice turned by
/// 45 degrees, stored here as a *covering* field psi on an L x L lattice of
/// coordinates (u, v): site (u, v) holds the odd site (x, y) = (u + v + 1, u - v),
/// so every odd site appears twice, at (u, v) and (u + L/2, v + L/2). The even
/// site (x, y) is the plaquette {p - 1, p} x {q - 1, q}, (p, q) = ((x + y)/2, (x - y)/2):
/// its four neighbours are the plaquette's corners. A flow on the covering lattice
/// that commutes with the shift by (L/2, L/2) (an even shift: coupling flows do)
/// maps covering fields to covering fields.
///
/// `action` and `force` are those of the covering field: the sums run over all
/// L^2 covering sites and L^2 plaquettes, so on a covering field `action` is
/// 2 S_odd. They take log Z from `SiteConditionalTable` (error below 1e-10 per
/// even site).
public struct OddSiteMarginal: Sendable {
    /// The lattice of the theory (2-D, even L).
    public let lattice: Lattice
    /// The even sites' conditional (and the odd sites' coefficients a, lam).
    public var conditional: SiteConditional { table.conditional }
    /// Its log Z, tabulated (`action` and `force` use it; see its error bound).
    public let table: SiteConditionalTable
    /// Its exact draws, from tabulated envelopes (`completed` uses them).
    public let sampler: SiteConditionalSampler

    /// The covering sites (p, q), (p - 1, q), (p, q - 1), (p - 1, q - 1) of each
    /// plaquette p * L + q (its corners), and the plaquettes (u, v), (u + 1, v),
    /// (u, v + 1), (u + 1, v + 1) of each covering site u * L + v (those it is a corner of).
    let plaquetteCorners: [Int32]
    let cornerPlaquettes: [Int32]

    /// For `completed`: the theory's site of each covering site (u, v) with u < L/2,
    /// and each even site with its four neighbours (site, then the neighbours).
    let representativeSites: [Int32]
    let evenNeighbourhoods: [Int32]

    /// The marginal of the 2-D action with `m2` and `lam` on `lattice` (d = 2, L even).
    public init(lattice: Lattice, m2: Double, lam: Double) {
        precondition(lattice.d == 2 && lattice.L % 2 == 0, "the odd-site marginal needs a 2-D lattice of even L")
        self.lattice = lattice
        self.table = SiteConditionalTable(SiteConditional(m2: m2, lam: lam, d: 2))
        self.sampler = SiteConditionalSampler(table.conditional)
        let L = lattice.L
        func wrapped(_ u: Int, _ v: Int) -> Int32 { Int32(((u + L) % L) * L + (v + L) % L) }
        let cells = (0..<(L * L)).map { ($0 / L, $0 % L) }
        plaquetteCorners = cells.flatMap { p, q in [wrapped(p, q), wrapped(p - 1, q), wrapped(p, q - 1), wrapped(p - 1, q - 1)] }
        cornerPlaquettes = cells.flatMap { u, v in [wrapped(u, v), wrapped(u + 1, v), wrapped(u, v + 1), wrapped(u + 1, v + 1)] }
        representativeSites = (0..<(L / 2 * L)).map { Int32(lattice.index([$0 / L + $0 % L + 1, $0 / L - $0 % L])) }
        let table = lattice.neighbourTable()
        evenNeighbourhoods = (0..<lattice.volume).filter { lattice.parity($0) == 0 }.flatMap { x in
            [Int32(x)] + table.map { $0[x] }
        }
    }

    /// The site of the theory's lattice that covering site (u, v) holds.
    public func oddSite(u: Int, v: Int) -> Int { lattice.index([u + v + 1, u - v]) }

    /// The even site of the theory's lattice that the plaquette with upper corner (p, q) stands for.
    public func evenSite(p: Int, q: Int) -> Int { lattice.index([p + q, p - q]) }

    /// h of plaquette `p` (p * L + q): the sum of its four corners.
    @inline(__always)
    func plaquetteSum<T: BinaryFloatingPoint>(_ psi: UnsafePointer<T>, _ p: Int) -> Double {
        Double(psi[Int(plaquetteCorners[4 * p])]) + Double(psi[Int(plaquetteCorners[4 * p + 1])])
            + Double(psi[Int(plaquetteCorners[4 * p + 2])]) + Double(psi[Int(plaquetteCorners[4 * p + 3])])
    }

    /// The covering action: sum over covering sites of a psi^2 + lam psi^4 minus
    /// sum over plaquettes of log Z(h) (2 S_odd on a covering field).
    public func action<T: BinaryFloatingPoint>(_ psi: UnsafePointer<T>) -> Double {
        let a = conditional.a, lam = conditional.lam
        var local = 0.0, plaquettes = 0.0
        for i in 0..<lattice.volume {
            let x = Double(psi[i]), x2 = x * x
            local += a * x2 + lam * x2 * x2
            plaquettes += table.value(plaquetteSum(psi, i)).logZ
        }
        return local - plaquettes
    }

    /// The covering action of a field given as an array of L^2 values.
    public func action<T: BinaryFloatingPoint>(_ psi: [T]) -> Double {
        psi.withUnsafeBufferPointer { action($0.baseAddress!) }
    }

    /// d(action)/d psi, times `scale`, into `force`: 2a psi + 4 lam psi^3 minus
    /// d log Z/dh (= 2 <phi>_h) of each of the four plaquettes the site is a corner of.
    public func force<T: BinaryFloatingPoint>(_ psi: UnsafePointer<T>, into force: UnsafeMutablePointer<T>, scale: Double = 1) {
        let V = lattice.volume, a = conditional.a, lam = conditional.lam
        var slope = [Double](repeating: 0, count: V)
        for p in 0..<V { slope[p] = table.value(plaquetteSum(psi, p)).derivative }
        for i in 0..<V {
            let x = Double(psi[i])
            let fromPlaquettes = slope[Int(cornerPlaquettes[4 * i])] + slope[Int(cornerPlaquettes[4 * i + 1])]
                + slope[Int(cornerPlaquettes[4 * i + 2])] + slope[Int(cornerPlaquettes[4 * i + 3])]
            force[i] = T(scale * (2 * a * x + 4 * lam * x * x * x - fromPlaquettes))
        }
    }

    /// The covering field of a configuration of the theory (its odd sites).
    public func covering<T: BinaryFloatingPoint>(of phi: [T]) -> [T] {
        let L = lattice.L
        return (0..<(L * L)).map { phi[oddSite(u: $0 / L, v: $0 % L)] }
    }

    /// A configuration of the theory from a covering field: the odd sites from
    /// `psi` (the copy (u, v) with u < L/2 of each), the even ones drawn exactly
    /// from their conditionals given those values.
    public func completed<T: BinaryFloatingPoint>(_ psi: [T], using rng: inout Xoshiro256) -> [T] {
        var phi = [T](repeating: 0, count: lattice.volume)
        for (i, site) in representativeSites.enumerated() { phi[Int(site)] = psi[i] }
        // h from the values just placed, so each draw is conditioned on the configuration's own odd sites.
        for k in stride(from: 0, to: evenNeighbourhoods.count, by: 5) {
            var h = 0.0
            for j in 1...4 { h += Double(phi[Int(evenNeighbourhoods[k + j])]) }
            phi[Int(evenNeighbourhoods[k])] = T(sampler.draw(h: h, using: &rng))
        }
        return phi
    }
}

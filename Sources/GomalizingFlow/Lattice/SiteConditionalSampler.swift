import Foundation

/// Exact draws from p(phi | h) of a `SiteConditional`, fast enough to complete
/// every accepted proposal (`OddSiteMarginal.completed`): the rejection
/// envelopes are built once, at the nodes h_k = k / 64 for 0 <= h_k <= 16, and a
/// draw at h uses the nearest node's. With delta = h - h_k (|delta| <= 1/128),
///
///   g_h(phi) = g_{h_k}(phi) + 2 delta phi <= max_cell g_{h_k} + 2 |delta| R,
///
/// R the largest |phi| of the node's support, so the node's envelope raised by
/// the constant 2 |delta| R bounds g_h exactly: the cells keep their
/// probabilities (one alias-table lookup picks one) and the acceptance test
/// uses g_h itself, so the draw is exactly p(phi | h) on the node's support
/// (outside it the mass is below e^-45, as in `SiteConditional.support`). A
/// squeeze, the cell's minimum of g_{h_k} less 2 |delta| R on both sides,
/// accepts most draws without an exponential. h < 0 is the mirror image
/// (p(phi | -h) = p(-phi | h)); beyond the table, `SiteConditional.draw`.
///
/// The support's ends are where g_{h_k} is 46 below its peak, so for g_h they
/// are at most 46 - 2 |delta| R <= 46 - R/64 below it: the table is used only
/// where R <= 64 at every node (so the mass outside stays below e^-45; R is
/// about 2 on the line of constant physics, and passes 64 only for lam below
/// about 1e-5), and otherwise every draw is `SiteConditional.draw`'s. With
/// lam = 0 every draw is the closed-form Gaussian.
public struct SiteConditionalSampler: Sendable {
    /// The conditional drawn from.
    public let conditional: SiteConditional
    /// Nodes per unit of h.
    public static let density = 64
    /// The table covers |h| < range.
    public static let range = 16.0
    /// Cells per envelope.
    public static let cells = 64

    /// Whether the envelopes are used (lam > 0 and R <= 64 at every node).
    public let tabulated: Bool
    /// Per node: the support's lower end, the cells' width, and 2 R.
    let lower: [Double]
    let width: [Double]
    let twiceReach: [Double]
    /// Per node and cell (node * cells + cell): max of g_{h_k} over the cell, the
    /// squeeze (accept outright below it), and the alias table over the cells.
    let ceiling: [Double]
    let squeeze: [Double]
    let aliasThreshold: [Double]
    let alias: [Int32]

    /// Tabulates the envelopes of `conditional`.
    public init(_ conditional: SiteConditional) {
        self.conditional = conditional
        let C = SiteConditionalSampler.cells, n = Int(SiteConditionalSampler.range) * SiteConditionalSampler.density
        var lower = [Double](), width = [Double](), twiceReach = [Double]()
        var ceiling = [Double](), squeeze = [Double](), threshold = [Double](), alias = [Int32]()
        guard conditional.lam > 0 else {
            tabulated = false
            (self.lower, self.width, self.twiceReach) = ([], [], [])
            (self.ceiling, self.squeeze, self.aliasThreshold, self.alias) = ([], [], [], [])
            return
        }
        let maximumShift = 1 / Double(2 * SiteConditionalSampler.density)
        for k in 0...n {
            let h = Double(k) / Double(SiteConditionalSampler.density)
            let (critical, mode) = conditional.extrema(h: h)
            let peak = conditional.exponent(mode, h: h)
            let lo = SiteConditionalSampler.edge(conditional, h: h, from: critical.min()!, -1, peak: peak)
            let hi = SiteConditionalSampler.edge(conditional, h: h, from: critical.max()!, 1, peak: peak)
            let w = (hi - lo) / Double(C)
            let r2 = 2 * max(abs(lo), abs(hi))
            lower.append(lo)
            width.append(w)
            twiceReach.append(r2)
            var weights = [Double]()
            for i in 0..<C {
                let x0 = lo + Double(i) * w, x1 = lo + Double(i + 1) * w
                let (bottom, top) = conditional.extremes(from: x0, to: x1, h: h, critical: critical)
                ceiling.append(top)
                // g_h >= bottom - 2|delta| R and the envelope is top + 2|delta| R, |delta| <= maximumShift.
                squeeze.append(Foundation.exp(bottom - top - 2 * maximumShift * r2))
                weights.append(Foundation.exp(top - peak))
            }
            let (t, a) = SiteConditionalSampler.aliasTable(weights)
            threshold += t
            alias += a
        }
        tabulated = twiceReach.allSatisfy { $0 <= 128 }
        self.lower = lower
        self.width = width
        self.twiceReach = twiceReach
        self.ceiling = ceiling
        self.squeeze = squeeze
        self.aliasThreshold = threshold
        self.alias = alias
    }

    /// Where g, falling monotonically beyond the outermost critical point `x`,
    /// reaches 46 below its maximum `peak` (doubling steps, then bisection).
    static func edge(_ site: SiteConditional, h: Double, from x: Double, _ direction: Double, peak: Double) -> Double {
        func above(_ r: Double) -> Bool { site.exponent(x + direction * r, h: h) - peak > -46 }
        var inner = 0.0, outer = 0.25
        while above(outer) { inner = outer; outer *= 2 }
        for _ in 0..<60 {
            let mid = (inner + outer) / 2
            if above(mid) { inner = mid } else { outer = mid }
        }
        return x + direction * outer
    }

    /// Walker's alias table (Vose's construction) for drawing i with probability
    /// proportional to weights[i]: column c is kept when a uniform in [0, 1) is
    /// below threshold[c], and is alias[c] otherwise.
    public static func aliasTable(_ weights: [Double]) -> (threshold: [Double], alias: [Int32]) {
        let n = weights.count, total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(n) / total }
        var threshold = [Double](repeating: 1, count: n), alias = (0..<n).map { Int32($0) }
        var small = (0..<n).filter { scaled[$0] < 1 }, large = (0..<n).filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.last {
            threshold[s] = scaled[s]
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Whatever is left holds probability 1 up to rounding: kept outright.
        return (threshold, alias)
    }

    /// The node a draw at x = |h| uses (x inside the table) and the envelope's
    /// raise 2 |x - h_k| R there.
    @inline(__always)
    func node(_ x: Double) -> (k: Int, slack: Double) {
        let k = Int((x * Double(SiteConditionalSampler.density)).rounded())
        return (k, abs(x - Double(k) / Double(SiteConditionalSampler.density)) * twiceReach[k])
    }

    /// The bounds the draw at h tests phi against (inside the table and the
    /// support): g_h(phi) lies between `squeeze` and `ceiling`, the logs of the
    /// level below which it accepts outright and of the envelope. nil elsewhere.
    public func envelope(h: Double, phi: Double) -> (squeeze: Double, ceiling: Double)? {
        let x = abs(h), y = h < 0 ? -phi : phi
        guard tabulated, x < SiteConditionalSampler.range else { return nil }
        let (k, slack) = node(x)
        let cell = Int(((y - lower[k]) / width[k]).rounded(.down))
        guard cell >= 0 && cell < SiteConditionalSampler.cells else { return nil }
        let top = ceiling[k * SiteConditionalSampler.cells + cell] + slack
        return (top + Foundation.log(squeeze[k * SiteConditionalSampler.cells + cell]), top)
    }

    /// One exact draw from p(phi | h) (h finite: a configuration's).
    @inline(__always)
    public func draw(h: Double, using rng: inout Xoshiro256) -> Double {
        precondition(h.isFinite, "SiteConditionalSampler.draw needs a finite h")
        let x = abs(h)
        guard tabulated, x < SiteConditionalSampler.range else { return conditional.draw(h: h, using: &rng) }
        let C = SiteConditionalSampler.cells
        let (k, slack) = node(x)
        let lo = lower[k], w = width[k]
        while true {
            let column = rng.uniform() * Double(C)
            var cell = Int(column)
            let slot = k * C + cell
            if column - Double(cell) >= aliasThreshold[slot] { cell = Int(alias[slot]) }
            let phi = lo + (Double(cell) + rng.uniform()) * w
            let u = 1 - rng.uniform()  // (0, 1]
            let index = k * C + cell
            if u <= squeeze[index] || Foundation.log(u) <= conditional.exponent(phi, h: x) - ceiling[index] - slack {
                return h < 0 ? -phi : phi
            }
        }
    }
}

/// Errors over growing block sizes, for chains whose autocorrelation has a long,
/// low tail that the Gamma method's automatic window cuts off. An independence
/// Metropolis-Hastings chain from a flow is such a chain: a proposal of
/// unusually high weight holds the chain for many steps, rarely, so the
/// autocorrelation stays at a few percent out to lags far beyond the window
/// (a synthetic chain of this kind in IMHErrorTests gives 1-sigma coverage of
/// about 40% with the windowed error alone). The binned error keeps growing
/// until the blocks are longer than those holds; its largest value over the
/// block sizes is what `Observables` reports.
public enum Binning {
    /// Fewest blocks a binned error may rest on: at 32 its relative noise is about 13%.
    public static let minBlocks = 32

    /// Block sizes `start`, 2 start, 4 start, ... while at least `minBlocks`
    /// blocks of `count` measurements remain (`start` alone if even that is too long).
    public static func ladder(start: Int, count: Int) -> [Int] {
        var sizes = [max(1, start)]
        while count / (2 * sizes.last!) >= minBlocks { sizes.append(2 * sizes.last!) }
        return sizes
    }

    /// The first block size: 4 tau_int (the Gamma method's), at least 1, at
    /// most N / 20; unit blocks if tau_int is not finite (overflowing data).
    public static func firstBlock(tauInt: Double, count: Int) -> Int {
        tauInt.isFinite ? max(1, min(Int((4 * tauInt).rounded(.up)), count / 20)) : 1
    }

    /// f(means) with the blocked-jackknife error at every block size of the
    /// ladder from `firstBlock`; the reported error is the largest finite one.
    public struct Result {
        /// f of the means over the measurements that fill whole blocks of the first size.
        public var value: Double
        /// The largest finite error over `sizes` (NaN if none is finite).
        public var error: Double
        /// The block size `error` comes from (the first size if none is finite).
        public var errorBlockSize: Int
        /// The block sizes of the ladder from `firstBlock`.
        public var sizes: [Int]
        /// The blocked-jackknife error at each of `sizes` (NaN with fewer than 2 blocks).
        public var errors: [Double]
    }

    /// `series[k][i]`: measurement i of primary observable k; `f` maps the means to
    /// the estimate. Runs the blocked jackknife at every size of the ladder.
    public static func estimate(_ series: [[Double]], firstBlock: Int, _ f: ([Double]) -> Double) -> Result {
        let sizes = ladder(start: firstBlock, count: series[0].count)
        let results = sizes.map { Jackknife.estimate(series, blockSize: $0, f) }
        let value = results[0].value
        let errors = results.map(\.error)
        let k = errors.indices.filter { errors[$0].isFinite }.max { errors[$0] < errors[$1] }
        return Result(value: value, error: k.map { errors[$0] } ?? .nan, errorBlockSize: k.map { sizes[$0] } ?? sizes[0],
                      sizes: sizes, errors: errors)
    }

    /// Whether the error still grows at the largest blocks: the last one exceeds
    /// the one two doublings before by more than three times its own noise
    /// (relative noise of an error from n blocks: 1 / sqrt(2 (n - 1))).
    public static func stillGrowing(_ errors: [Double], sizes: [Int], count: Int) -> Bool {
        guard errors.count >= 3, let last = errors.last, last.isFinite else { return false }
        let earlier = errors[errors.count - 3]
        let blocks = Double(count / sizes.last!)
        return last > earlier * (1 + 3 / (2 * (blocks - 1)).squareRoot())
    }
}

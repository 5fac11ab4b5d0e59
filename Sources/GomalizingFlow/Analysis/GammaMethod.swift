import Foundation

/// Wolff's Gamma method (U. Wolff, Comput. Phys. Commun. 156 (2004) 143) for
/// one Monte Carlo time series: the autocorrelation function, the integrated
/// autocorrelation time with automatic windowing, and the error of the mean
/// that accounts for autocorrelation.
public struct GammaMethod {
    /// Sample mean of the series.
    public let mean: Double
    /// Error of the mean with autocorrelation: sqrt(C_F / N), C_F = Gamma(0) +
    /// 2 sum_{t=1}^{W} Gamma(t), bias corrected (0 for a constant series).
    public let error: Double
    /// tau_int = 1/2 + sum_{t=1}^{W} rho(t); 0.5 for uncorrelated data.
    public let tauInt: Double
    /// Wolff's error of tau_int: tau_int sqrt((4W + 2) / N).
    public let tauIntError: Double
    /// The summation window chosen by the automatic criterion.
    public let window: Int
    /// Normalised autocorrelation rho(t), t = 0 ... 2W (or less), bias corrected.
    public let rho: [Double]

    /// `S` is Wolff's tuning factor of the window criterion (1 to 2; 1.5 by default).
    public init(_ a: [Double], S: Double = 1.5) {
        let N = a.count
        precondition(N >= 2, "the Gamma method needs at least two measurements")
        let mean = a.reduce(0, +) / Double(N)
        let tMax = min(N - 1, max(1, N / 2))
        let d = a.map { $0 - mean }
        // Gamma(t) is computed only as far as the window search needs: O(N W), not O(N^2).
        var gamma: [Double] = []
        func extend(to t: Int) {
            while gamma.count <= min(t, tMax) {
                let lag = gamma.count
                var s = 0.0
                for i in 0..<(N - lag) { s += d[i] * d[i + lag] }
                gamma.append(s / Double(N - lag))
            }
        }
        extend(to: 0)
        self.mean = mean
        guard gamma[0] > 0 else {
            // A constant series has no fluctuation and no autocorrelation.
            error = 0
            tauInt = 0.5
            tauIntError = 0
            window = 0
            rho = [1]
            return
        }
        // Automatic windowing: the first W at which the estimated systematic
        // error exp(-W/tau) falls below the statistical one tau/sqrt(W N).
        var W = tMax
        var tauW = 0.5
        for w in 1...tMax {
            extend(to: w)
            tauW += gamma[w] / gamma[0]
            let tau = tauW <= 0.5 ? 1e-12 : S / Foundation.log((2 * tauW + 1) / (2 * tauW - 1))
            let g = Foundation.exp(-Double(w) / tau) - tau / (Double(w) * Double(N)).squareRoot()
            if g < 0 {
                W = w
                break
            }
        }
        extend(to: 2 * W)
        // Bias correction of Gamma(t) for the estimated mean, then tau_int.
        var cF = gamma[0]
        for t in 1...W { cF += 2 * gamma[t] }
        let corrected = gamma.map { $0 + cF / Double(N) }
        var cFc = corrected[0]
        for t in 1...W { cFc += 2 * corrected[t] }
        let tau = max(0.5, cFc / (2 * corrected[0]))
        window = W
        tauInt = tau
        tauIntError = tau * ((4 * Double(W) + 2) / Double(N)).squareRoot()
        error = (max(cFc, 0) / Double(N)).squareRoot()
        rho = Array(corrected.prefix(min(corrected.count, 2 * W + 1))).map { $0 / corrected[0] }
    }
}

/// Blocked jackknife for functions of several means: the series are cut into
/// blocks longer than the autocorrelation, and the estimate is recomputed with
/// each block left out.
public enum Jackknife {
    /// `series[k][i]`: measurement i of primary observable k. Returns the
    /// estimate f(means) and its jackknife error with blocks of `blockSize`.
    public static func estimate(_ series: [[Double]], blockSize: Int, _ f: ([Double]) -> Double) -> (value: Double, error: Double) {
        let K = series.count
        let N = series[0].count
        let b = max(1, min(blockSize, N / 2))
        let nb = N / b
        let used = nb * b
        var totals = [Double](repeating: 0, count: K)
        var blockSums = [[Double]](repeating: [Double](repeating: 0, count: K), count: nb)
        for k in 0..<K {
            for i in 0..<used {
                blockSums[i / b][k] += series[k][i]
                totals[k] += series[k][i]
            }
        }
        let full = f(totals.map { $0 / Double(used) })
        guard nb >= 2 else { return (full, .nan) }
        var estimates = [Double](repeating: 0, count: nb)
        for j in 0..<nb {
            var m = [Double](repeating: 0, count: K)
            for k in 0..<K { m[k] = (totals[k] - blockSums[j][k]) / Double(used - b) }
            estimates[j] = f(m)
        }
        let avg = estimates.reduce(0, +) / Double(nb)
        var v = 0.0
        for e in estimates { v += (e - avg) * (e - avg) }
        return (full, (v * Double(nb - 1) / Double(nb)).squareRoot())
    }
}

import Numerics

/// The update of a spline coupling: y = f(x; theta) on the active sites with
/// f the `RationalQuadraticSpline` whose 3K - 1 raw parameters per site the
/// net computed from the frozen sites ([n][V][3K-1], channel last), y = x on
/// the frozen ones; log|det| += sum of log f'(x). The four passes of a
/// coupling, as `AffineUpdate` and `Flow` do them for the affine map. The
/// pullbacks read what the forward pass kept on the tape (`FlowTape.splineCache`).
enum SplineUpdate {
    /// Forward: y and the log-det, summed over active sites in site order;
    /// each active site's point kept in `cache` ([n][V][cacheCount]) for the
    /// pullbacks, which then evaluate nothing again.
    static func forward<T: Real & BinaryFloatingPoint>(
        _ spline: RationalQuadraticSpline<T>, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, theta: UnsafePointer<T>,
        n: Int, volume V: Int, frozen: [Bool], active: [Int32], logJ: UnsafeMutablePointer<T>, cache: UnsafeMutablePointer<T>
    ) {
        let P = spline.parameterCount, C = spline.cacheCount
        withUnsafeTemporaryAllocation(of: T.self, capacity: spline.scratchCount) { scratch in
            for b in 0..<n {
                for v in 0..<V where frozen[v] { y[b * V + v] = x[b * V + v] }
                var sum: T = 0
                for v in active {
                    let k = b * V + Int(v)
                    let p = spline.evaluate(x[k], theta + P * k, scratch: scratch.baseAddress!)
                    spline.store(p, scratch: scratch.baseAddress!, into: cache + C * k)
                    y[k] = p.y
                    sum += p.logDerivative
                }
                logJ[b] += sum
            }
        }
    }

    /// Inverse: x from y (the frozen sites, and so theta, are the same both
    /// ways); logJ += the forward map's log-det.
    static func inverse<T: Real & BinaryFloatingPoint>(
        _ spline: RationalQuadraticSpline<T>, y: UnsafePointer<T>, x: UnsafeMutablePointer<T>, theta: UnsafePointer<T>,
        n: Int, volume V: Int, frozen: [Bool], active: [Int32], logJ: UnsafeMutablePointer<T>
    ) {
        let P = spline.parameterCount
        withUnsafeTemporaryAllocation(of: T.self, capacity: spline.scratchCount) { scratch in
            for b in 0..<n {
                for v in 0..<V where frozen[v] { x[b * V + v] = y[b * V + v] }
                var sum: T = 0
                for v in active {
                    let k = b * V + Int(v)
                    let r = spline.inverse(y[k], theta + P * k, scratch: scratch.baseAddress!)
                    x[k] = r.x
                    sum += r.logDerivative
                }
                logJ[b] += sum
            }
        }
    }

    /// Pullback of the forward update: `g` holds dL/dy and becomes dL/dx on
    /// the active sites (the frozen ones get the net's share later);
    /// dTheta ([n][V][P]) gets dL/dtheta, zero on frozen sites.
    static func pullback<T: Real & BinaryFloatingPoint>(
        _ spline: RationalQuadraticSpline<T>, cache: UnsafeMutablePointer<T>, theta: UnsafePointer<T>, g: UnsafeMutablePointer<T>,
        dLogJ: UnsafePointer<T>, dTheta: UnsafeMutablePointer<T>, n: Int, volume V: Int, active: [Int32]
    ) {
        let P = spline.parameterCount, C = spline.cacheCount
        dTheta.initialize(repeating: 0, count: n * V * P)
        for b in 0..<n {
            for v in active {
                let k = b * V + Int(v)
                let p = spline.load(cache + C * k)
                spline.pullback(p, theta + P * k, gy: g[k], gl: dLogJ[b], scratch: cache + C * k, gTheta: dTheta + P * k)
                g[k] = g[k] * p.derivative + dLogJ[b] * p.logDerivativeSlope
            }
        }
    }

    /// Through the inverse update x = f^-1(y; theta) with log-det
    /// m = -log f'(x) and dL/dm = 1 (the density gradient's seed): `g` holds
    /// dL/dx and becomes dL/dy on the active sites; dTheta gets dL/dtheta.
    ///
    /// dx = (dy - f_theta dtheta)/f' and dm = -(l_x dx + l_theta dtheta), l =
    /// log f', so with c = (gx - l_x)/f': dL/dy = c and dL/dtheta is the
    /// forward pullback's with cotangents (gy, gl) = (-c, -1).
    static func inverseCotangent<T: Real & BinaryFloatingPoint>(
        _ spline: RationalQuadraticSpline<T>, cache: UnsafeMutablePointer<T>, theta: UnsafePointer<T>, g: UnsafeMutablePointer<T>,
        dTheta: UnsafeMutablePointer<T>, n: Int, volume V: Int, active: [Int32]
    ) {
        let P = spline.parameterCount, C = spline.cacheCount
        dTheta.initialize(repeating: 0, count: n * V * P)
        for b in 0..<n {
            for v in active {
                let k = b * V + Int(v)
                let p = spline.load(cache + C * k)
                let c = (g[k] - p.logDerivativeSlope) / p.derivative
                spline.pullback(p, theta + P * k, gy: -c, gl: -1, scratch: cache + C * k, gTheta: dTheta + P * k)
                g[k] = c
            }
        }
    }
}

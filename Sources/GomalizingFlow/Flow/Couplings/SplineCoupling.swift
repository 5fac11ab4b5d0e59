import Numerics

/// The spline coupling (`[model] type = "spline"`): y = f(x; theta) on the
/// active sites with f the `RationalQuadraticSpline` whose 3K - 1 raw
/// parameters per site the net computed from the frozen sites ([n][V][3K-1],
/// channel last), y = x on the frozen ones; log|det| += sum of log f'(x). The
/// net's last layer is linear (the spline applies its own softmax and
/// softplus), and the map has no Z2 symmetrisation. The forward pass keeps
/// each active site's point on the tape, so the pullbacks evaluate nothing again.
public struct SplineCoupling: CouplingMap, Equatable, Codable {
    /// Bins K (3K - 1 net outputs per site).
    public var bins: Int
    /// Half-width B: the spline acts on [-B, B] and is the identity outside.
    public var bound: Double

    /// A spline with `bins` bins on [-bound, bound].
    public init(bins: Int, bound: Double) {
        self.bins = bins
        self.bound = bound
    }

    public var typeName: String { "spline" }
    /// Raw parameters per site, `RationalQuadraticSpline.parameterCount`.
    public var parametersPerSite: Int { 3 * bins - 1 }
    /// `RationalQuadraticSpline.cacheCount`.
    public var cachePerSite: Int { 2 * bins + 8 }
    public var z2Parities: [Bool]? { nil }
    /// Untested with batch norms, and the config refuses them.
    public var allowsBatchNorm: Bool { false }
    public func lastActivation(useFinalTanh _: Bool) -> Activation { .identity }

    /// The map in T.
    func makeSpline<T: FlowScalar>(_: T.Type) -> RationalQuadraticSpline<T> { RationalQuadraticSpline(bins: bins, bound: T(bound)) }

    /// Forward: y and the log-det, summed over active sites in site order;
    /// each active site's point kept in `cache` ([n][V][cacheCount]) for the
    /// pullbacks, which then evaluate nothing again.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                       theta: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>, cache: UnsafeMutablePointer<T>) {
        let spline = makeSpline(T.self), frozen = sites.frozen, active = sites.activeSites, V = frozen.count
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
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func inverse<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, y: UnsafePointer<T>, x: UnsafeMutablePointer<T>,
                                       theta: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>) {
        let spline = makeSpline(T.self), frozen = sites.frozen, active = sites.activeSites, V = frozen.count
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
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func pullback<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x _: UnsafePointer<T>, theta: UnsafePointer<T>,
                                        cache: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>, dLogJ: UnsafePointer<T>,
                                        dTheta: UnsafeMutablePointer<T>, n: Int) {
        let spline = makeSpline(T.self), active = sites.activeSites, V = sites.frozen.count
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
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func inverseCotangent<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x _: UnsafePointer<T>, theta: UnsafePointer<T>,
                                                cache: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>,
                                                dTheta: UnsafeMutablePointer<T>, n: Int) {
        let spline = makeSpline(T.self), active = sites.activeSites, V = sites.frozen.count
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

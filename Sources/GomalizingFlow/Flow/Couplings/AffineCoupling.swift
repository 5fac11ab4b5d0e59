import Numerics

/// The real-NVP coupling of GomalizingFlow.jl (`[model] type = "affine"`, the
/// default): y = x e^s + t on the active sites, y = x on the frozen ones,
/// log|det| = sum of s, with (s, t) per site from the net. s is even and t odd
/// under phi -> -phi in a Z2-equivariant flow. Its passes read x and (s, t)
/// again and keep nothing on the tape.
public struct AffineCoupling: CouplingMap, Equatable, Codable {
    /// The affine map; it has no settings.
    public init() {}

    public var typeName: String { "affine" }
    public var parametersPerSite: Int { 2 }
    public var cachePerSite: Int { 0 }
    public var z2Parities: [Bool]? { [false, true] }
    public var allowsBatchNorm: Bool { true }
    /// tanh with use_final_tanh (GomalizingFlow.jl's), else leaky ReLU.
    public func lastActivation(useFinalTanh: Bool) -> Activation { useFinalTanh ? .tanh : .leakyReLU }

    /// `theta` holds (s, t) per site; `logJ` gets each configuration's sum of s, added in site order.
    @_specialize(where T == Double)
    public func forward<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                       theta st: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>,
                                       cache _: UnsafeMutablePointer<T>) {
        let frozen = sites.frozen, active = sites.activeSites, V = frozen.count
        if T.self == Float.self {
            Self.forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                              y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                              st: UnsafeRawPointer(st).assumingMemoryBound(to: Float.self), n: n, volume: V,
                              frozen: frozen, active: active, logJ: UnsafeMutableRawPointer(logJ).assumingMemoryBound(to: Float.self))
            return
        }
        for b in 0..<n {
            for v in 0..<V where frozen[v] { y[b * V + v] = x[b * V + v] }
        }
        for b in 0..<n {
            var sum: T = 0
            for v in active {
                let k = b * V + Int(v)
                let s = st[2 * k], t = st[2 * k + 1]
                y[k] = x[k] * T.exp(s) + t
                sum += s
            }
            logJ[b] += sum
        }
    }

    /// x = (y - t) e^-s; logJ[b] += sum of s, in site order.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func inverse<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, y: UnsafePointer<T>, x: UnsafeMutablePointer<T>,
                                       theta st: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>) {
        let frozen = sites.frozen, V = frozen.count
        for b in 0..<n {
            var sum: T = 0
            for v in 0..<V {
                let k = b * V + v
                if frozen[v] {
                    x[k] = y[k]
                } else {
                    let s = st[2 * k], t = st[2 * k + 1]
                    x[k] = (y[k] - t) * T.exp(-s)
                    sum += s
                }
            }
            logJ[b] += sum
        }
    }

    /// d(s, t) = (g x e^s + dlogJ, g); g becomes g e^s.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func pullback<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, theta st: UnsafePointer<T>,
                                        cache _: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>, dLogJ: UnsafePointer<T>,
                                        dTheta dOut: UnsafeMutablePointer<T>, n: Int) {
        let V = sites.frozen.count
        // Unchecked reads and wrapping indices: this runs per site and coupling.
        sites.frozen.withUnsafeBufferPointer { fr in
            for b in 0..<n {
                for v in 0..<V {
                    let k = b &* V &+ v
                    if fr[v] {
                        dOut[2 &* k] = 0
                        dOut[2 &* k &+ 1] = 0
                    } else {
                        let es = T.exp(st[2 &* k])
                        dOut[2 &* k] = g[k] * x[k] * es + dLogJ[b]
                        dOut[2 &* k &+ 1] = g[k]
                        g[k] *= es
                    }
                }
            }
        }
    }

    /// Inverse x = (y - t) e^-s with log|det| = -sum s: d(s, t) = (-g x - 1, -g e^-s); g becomes g e^-s.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func inverseCotangent<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, theta st: UnsafePointer<T>,
                                                cache _: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>,
                                                dTheta dOut: UnsafeMutablePointer<T>, n: Int) {
        let frozen = sites.frozen, V = frozen.count
        for b in 0..<n {
            for v in 0..<V {
                let k = b * V + v
                if frozen[v] {
                    dOut[2 * k] = 0
                    dOut[2 * k + 1] = 0
                } else {
                    let em = T.exp(-st[2 * k])
                    dOut[2 * k] = -g[k] * x[k] - 1
                    dOut[2 * k + 1] = -g[k] * em
                    g[k] *= em
                }
            }
        }
    }

    /// Eight sites at a time with the vector exp, over all sites (s and t
    /// deinterleaved from their pairs), then the frozen sites are put back; a
    /// group with an s outside the exp's range (garbage on an inactive site
    /// included) falls back to libm's.
    private static func forwardFloat(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, st: UnsafePointer<Float>, n: Int, volume V: Int,
        frozen: [Bool], active: [Int32], logJ: UnsafeMutablePointer<Float>
    ) {
        active.withUnsafeBufferPointer { act in
            frozen.withUnsafeBufferPointer { fz in
                for b in 0..<n {
                    let xb = x + b * V, yb = y + b * V, stb = st + 2 * b * V
                    var v = 0
                    while v + 8 <= V {
                        let pairs = UnsafeRawPointer(stb + 2 * v).loadUnaligned(as: SIMD16<Float>.self)
                        let s = pairs.evenHalf
                        var e = VectorMath.exp(s)
                        if !VectorMath.expInRange(s) {
                            for l in 0..<8 { e[l] = Float.exp(s[l]) }
                        }
                        let xv = UnsafeRawPointer(xb + v).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(yb + v).storeBytes(of: xv * e + pairs.oddHalf, as: SIMD8<Float>.self)
                        v += 8
                    }
                    while v < V {
                        yb[v] = xb[v] * Float.exp(stb[2 * v]) + stb[2 * v + 1]
                        v += 1
                    }
                    for u in 0..<V where fz[u] { yb[u] = xb[u] }
                    // log|det| in site order, as the generic path sums it.
                    var sum: Float = 0
                    for k in act { sum += stb[2 * Int(k)] }
                    logJ[b] += sum
                }
            }
        }
    }
}

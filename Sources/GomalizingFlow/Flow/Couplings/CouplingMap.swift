import Numerics

/// The scalars a flow computes in (Float for training and sampling, Double for the exactness tests).
public typealias FlowScalar = Real & BinaryFloatingPoint & SIMDScalar

/// The site-wise map of a coupling layer: how the active sites of the
/// checkerboard move given the parameters the coupling's net computed from
/// the frozen ones, y = f(x; theta), with frozen sites passed through. One
/// conformer is one model family (`AffineCoupling`, `SplineCoupling`); `Flow`
/// runs the nets, masks and symmetrisation and calls the map for the rest, so
/// a new family is a new conformer and a case of `ModelSpec.Coupling`.
///
/// The four passes pair up as ChainRules' rrules do: `forward` keeps on the
/// tape (`cache`) what `pullback` needs; `inverse` is the exact inverse, with
/// the forward map's log-det; `inverseCotangent` pulls back through the
/// inverse map and its log-det (the density gradient). Pointers are [n][V]
/// fields, and [n][V][parametersPerSite] / [n][V][cachePerSite] per-site
/// blocks; log-dets are summed over active sites in site order.
public protocol CouplingMap: Sendable {
    /// The config's name of the family, `[model] type`.
    var typeName: String { get }
    /// Net outputs per site that parametrise the map (the last net layer's channels).
    var parametersPerSite: Int { get }
    /// Values the forward pass keeps per site and coupling for the pullbacks.
    var cachePerSite: Int { get }
    /// The last net layer's activation, given the config's `use_final_tanh`.
    func lastActivation(useFinalTanh: Bool) -> Activation
    /// Under phi -> -phi, whether each parameter is odd (true) or even, so that
    /// symmetrising the net over x and -x makes the coupling odd; nil where the
    /// map has no such symmetrisation.
    var z2Parities: [Bool]? { get }
    /// Whether the nets may carry batch norms (`use_bn`) with this map.
    var allowsBatchNorm: Bool { get }

    /// y = f(x; theta) on active sites, y = x on frozen ones; logJ[b] += sum of log f'.
    func forward<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                theta: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>, cache: UnsafeMutablePointer<T>)
    /// x = f^-1(y; theta) on active sites, x = y on frozen ones; logJ[b] += the forward map's log-det.
    func inverse<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, y: UnsafePointer<T>, x: UnsafeMutablePointer<T>,
                                theta: UnsafePointer<T>, n: Int, logJ: UnsafeMutablePointer<T>)
    /// Pullback of `forward`: `g` holds dL/dy and becomes dL/dx on the active
    /// sites (the frozen ones get the net's share later); `dTheta` gets
    /// dL/dtheta (zero on frozen sites), with dL/dlogJ[b] = dLogJ[b].
    func pullback<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, theta: UnsafePointer<T>,
                                 cache: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>, dLogJ: UnsafePointer<T>,
                                 dTheta: UnsafeMutablePointer<T>, n: Int)
    /// Through the inverse map x = f^-1(y; theta) and its log-det -log f'(x)
    /// (with cotangent 1): `g` holds dL/dx and becomes dL/dy on the active
    /// sites; `dTheta` gets dL/dtheta (zero on frozen sites). `x` and `cache`
    /// are those of the forward pass that produced y.
    func inverseCotangent<T: FlowScalar>(_ sites: FlowArchitecture.Coupling, x: UnsafePointer<T>, theta: UnsafePointer<T>,
                                         cache: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>,
                                         dTheta: UnsafeMutablePointer<T>, n: Int)
}

import Foundation

/// Everything that fixes the shape of a flow: lattice, depth, net widths and the
/// convolution type. Two flows with equal specs have interchangeable parameters.
public struct ModelSpec: Equatable, Sendable, Codable {
    /// Lattice side length.
    public var L: Int
    /// Lattice dimension.
    public var d: Int
    /// Number of coupling layers.
    public var nLayers: Int
    /// Channels of the hidden net layers; every coupling's net maps 1 channel through them to its map's parameters per site.
    public var hiddenSizes: [Int]
    /// Kernel size K (odd) along each convolved axis.
    public var kernelSize: Int
    /// k of the combinational convolution "dCk": each net layer convolves along
    /// every k-subset of the d axes and averages. k = d is the plain d-dim conv.
    public var convAxes: Int
    /// conv = "cross": one convolution per net layer over the site and its
    /// neighbours up to K/2 steps along each axis (2d(K/2) + 1 taps, no
    /// diagonals); `convAxes` is then d.
    public var crossKernel: Bool = false
    /// `[model] z2_equivariant`: each coupling's net is evaluated on x and -x
    /// and symmetrised, s even and t odd, so the flow is odd, T(-z) = -T(z),
    /// and with an even prior q(phi) = q(-phi), the symmetry of the action.
    public var z2Equivariant: Bool = false
    /// `[model] fourier_scaling`: a first layer that scales each momentum mode
    /// of z by a trained e^mu(p), tied over rotations and reflections
    /// (`FourierScaling`): the flow then starts from any invariant Gaussian.
    public var fourierScaling: Bool = false
    /// `[model] site_map_features`: A > 0 puts an odd monotone map with A
    /// terms (`OddSiteMap`), the same at every site, after each coupling; 0, none.
    public var siteMapFeatures: Int = 0
    /// `[model] shear_features`: C > 0 puts a lattice-wide shear (`OrbitShear`)
    /// with C features after each coupling, before its site map; 0, none.
    public var shearFeatures: Int = 0
    /// `[model] integrate_even_sites`: the even sites are integrated out exactly
    /// and the flow models the odd sites' marginal as a covering field
    /// (`FlowTarget.oddSites`; 2-D, even L).
    public var integrateEvenSites: Bool = false
    /// The last net layer applies tanh instead of leaky ReLU (GomalizingFlow.jl's use_final_tanh).
    public var useFinalTanh: Bool
    /// Batch normalisation after every convolution (GomalizingFlow.jl's use_bn).
    public var useBN: Bool
    /// Seed of the parameter initialisation.
    public var seed: UInt64
    /// `[model] identity_init`: every coupling's net starts with its last
    /// layer at zero, so each coupling starts as the identity map (the seeded
    /// values of the other layers are kept). With the layers after the
    /// couplings at their identity too, the whole flow starts as the identity
    /// (after the Fourier layer). Only the initialisation depends on it: a
    /// warm start (`pretrained`) takes every weight from its file, and the
    /// couplings that `grow_pretrained` adds start at zero with or without it.
    public var identityInit: Bool = false
    /// `[model] type`: the site-wise map of the couplings (`CouplingMap`),
    /// affine by default (GomalizingFlow.jl's model).
    public var coupling: Coupling = .affine

    /// Output channels of every coupling's net: the map's parameters per site.
    public var couplingOutputs: Int { coupling.map.parametersPerSite }
    /// The config's name of the family, e.g. "affine" or "spline".
    public var typeName: String { coupling.typeName }

    /// `convAxes` nil means d (the plain d-dimensional convolution); with
    /// `crossKernel` it is d whatever is passed.
    public init(L: Int, d: Int, nLayers: Int, hiddenSizes: [Int], kernelSize: Int,
                convAxes: Int? = nil, crossKernel: Bool = false, useFinalTanh: Bool = true, useBN: Bool = false,
                seed: UInt64 = 2021, z2Equivariant: Bool = false, fourierScaling: Bool = false, coupling: Coupling = .affine,
                siteMapFeatures: Int = 0, shearFeatures: Int = 0, integrateEvenSites: Bool = false,
                identityInit: Bool = false) {
        self.L = L
        self.d = d
        self.nLayers = nLayers
        self.hiddenSizes = hiddenSizes
        self.kernelSize = kernelSize
        self.convAxes = crossKernel ? d : convAxes ?? d
        self.crossKernel = crossKernel
        self.z2Equivariant = z2Equivariant
        self.fourierScaling = fourierScaling
        self.siteMapFeatures = siteMapFeatures
        self.shearFeatures = shearFeatures
        self.integrateEvenSites = integrateEvenSites
        self.identityInit = identityInit
        self.coupling = coupling
        // Record what runs: a family whose last layer is never tanh (the spline's is linear) stores false.
        self.useFinalTanh = useFinalTanh && coupling.map.lastActivation(useFinalTanh: true) == .tanh
        self.useBN = useBN
        self.seed = seed
    }

    /// The GomalizingFlow.jl name of the convolution, e.g. "4C2", or "cross"
    /// (the canonical form a checkpoint's run definition records).
    public var convName: String { crossKernel ? "cross" : "\(d)C\(convAxes)" }

    /// The convolution as a config names it, for people: "full (2C2)" when it
    /// spans every axis (`conv = "full"`), else `convName`.
    public var convLabel: String { !crossKernel && convAxes == d ? "full (\(convName))" : convName }

    /// Taps of one convolution and convolutions per net layer.
    public var tapsPerConv: Int {
        crossKernel ? ConvStencil.crossTapCount(d: d, kernelSize: kernelSize) : Int(pow(Double(kernelSize), Double(convAxes)))
    }
    /// Convolutions per net layer: d choose `convAxes`, or 1 for the cross.
    public var convsPerLayer: Int { crossKernel ? 1 : ConvStencil.binomial(d, convAxes) }

    private enum CodingKeys: String, CodingKey {
        case L, d, nLayers, hiddenSizes, kernelSize, convAxes, crossKernel, useFinalTanh, useBN, seed, z2Equivariant, fourierScaling, spline, siteMapFeatures, shearFeatures, integrateEvenSites, identityInit
    }

    /// Decodes a spec as model-file metadata stores it; `crossKernel`,
    /// `z2Equivariant`, `fourierScaling`, `integrateEvenSites` and `identityInit` are false where absent, the family affine unless a `spline` is stored, no site maps or shears unless their counts are.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(L: try c.decode(Int.self, forKey: .L), d: try c.decode(Int.self, forKey: .d),
                  nLayers: try c.decode(Int.self, forKey: .nLayers), hiddenSizes: try c.decode([Int].self, forKey: .hiddenSizes),
                  kernelSize: try c.decode(Int.self, forKey: .kernelSize), convAxes: try c.decode(Int.self, forKey: .convAxes),
                  crossKernel: try c.decodeIfPresent(Bool.self, forKey: .crossKernel) ?? false,
                  useFinalTanh: try c.decode(Bool.self, forKey: .useFinalTanh), useBN: try c.decode(Bool.self, forKey: .useBN),
                  seed: try c.decode(UInt64.self, forKey: .seed),
                  z2Equivariant: try c.decodeIfPresent(Bool.self, forKey: .z2Equivariant) ?? false,
                  fourierScaling: try c.decodeIfPresent(Bool.self, forKey: .fourierScaling) ?? false,
                  coupling: try c.decodeIfPresent(SplineCoupling.self, forKey: .spline).map { .spline($0) } ?? .affine,
                  siteMapFeatures: try c.decodeIfPresent(Int.self, forKey: .siteMapFeatures) ?? 0,
                  shearFeatures: try c.decodeIfPresent(Int.self, forKey: .shearFeatures) ?? 0,
                  integrateEvenSites: try c.decodeIfPresent(Bool.self, forKey: .integrateEvenSites) ?? false,
                  identityInit: try c.decodeIfPresent(Bool.self, forKey: .identityInit) ?? false)
    }

    /// `crossKernel`, `z2Equivariant`, `fourierScaling`, site maps, shears, `integrateEvenSites`, `identityInit` and a family other than affine are written only when set, so the metadata of every other
    /// model is byte for byte what it was before the cross kernel existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(L, forKey: .L)
        try c.encode(d, forKey: .d)
        try c.encode(nLayers, forKey: .nLayers)
        try c.encode(hiddenSizes, forKey: .hiddenSizes)
        try c.encode(kernelSize, forKey: .kernelSize)
        try c.encode(convAxes, forKey: .convAxes)
        if crossKernel { try c.encode(true, forKey: .crossKernel) }
        try c.encode(useFinalTanh, forKey: .useFinalTanh)
        try c.encode(useBN, forKey: .useBN)
        try c.encode(seed, forKey: .seed)
        if z2Equivariant { try c.encode(true, forKey: .z2Equivariant) }
        if fourierScaling { try c.encode(true, forKey: .fourierScaling) }
        if siteMapFeatures > 0 { try c.encode(siteMapFeatures, forKey: .siteMapFeatures) }
        if shearFeatures > 0 { try c.encode(shearFeatures, forKey: .shearFeatures) }
        if integrateEvenSites { try c.encode(true, forKey: .integrateEvenSites) }
        if identityInit { try c.encode(true, forKey: .identityInit) }
        switch coupling {
        case .affine: break
        case let .spline(s): try c.encode(s, forKey: .spline)
        }
    }
}

import Foundation

/// Sizes a `ModelSpec` implies, computed in floating point from the spec alone,
/// before anything is allocated: a config asking for 10^30 parameters must be
/// refused with a message, not overflow an Int or die in malloc.
public struct ModelFootprint: Sendable {
    /// Lattice volume L^d.
    public let sites: Double
    /// Trainable parameters: conv weights and biases, and batch-norm gamma and beta.
    public let parameters: Double
    /// Neighbour tables, masks and site lists held by the architecture.
    public let structureBytes: Double
    /// Floats one configuration occupies on a training tape (see `FlowTape.valueCount`).
    public let tapeValuesPerConfiguration: Double

    /// The sizes of `spec`, without building its architecture.
    public init(spec: ModelSpec) {
        let V = Foundation.pow(Double(spec.L), Double(spec.d))
        // In floating point, as crossTapCount's 2d(K/2) + 1: a config's absurd
        // kernel_size must give a one-line error, not an integer overflow.
        let taps = spec.crossKernel ? 2 * Double(spec.d) * Double(spec.kernelSize / 2) + 1
            : Foundation.pow(Double(spec.kernelSize), Double(spec.convAxes))
        let branches = spec.crossKernel ? 1 : Double(ConvStencil.binomial(spec.d, spec.convAxes))
        let channels = [1] + spec.hiddenSizes + [spec.couplingOutputs]
        let layers = Double(spec.nLayers)
        var perCoupling = 0.0, tapePerCoupling = 0.0
        for j in 0..<(channels.count - 1) {
            let cin = Double(channels[j]), cout = Double(channels[j + 1])
            perCoupling += branches * (taps * cin * cout + cout) + (spec.useBN ? 2 * cout : 0)
            let extra = (branches > 1 ? branches : 0) + (spec.useBN ? 1 : 0)
            tapePerCoupling += V * cout * (1 + extra)
        }
        sites = V
        // The Fourier layer: one log-scale per momentum orbit, a multiset of d
        // values |p_mu| in 0...L/2, i.e. (L/2 + d choose d) of them (in Double: no overflow).
        let orbits = spec.fourierScaling
            ? (0..<spec.d).reduce(1.0) { $0 * (Double(spec.L / 2) + Double(spec.d) - Double($1)) / Double($1 + 1) }.rounded() : 0
        // Site maps: 2A + 1 parameters and a field on the tape per coupling.
        let siteMaps = spec.siteMapFeatures > 0 ? layers : 0
        let postCoupling = spec.siteMapFeatures > 0 || spec.shearFeatures > 0 ? layers : 0
        // Shears: C weights per displacement orbit that joins the two parities,
        // about half the orbits (counted as all of them: a bound, in Double).
        let displacementOrbits = (0..<spec.d).reduce(1.0) { $0 * (Double(spec.L / 2) + Double(spec.d) - Double($1)) / Double($1 + 1) }.rounded()
        let shears = spec.shearFeatures > 0 ? layers * Double(spec.shearFeatures) * displacementOrbits : 0
        parameters = layers * perCoupling + orbits + siteMaps * (2 * Double(spec.siteMapFeatures) + 1) + shears
        // Int32 neighbour table per branch, plus per coupling a mask, the active
        // sites and the first layer's tap groups (a few words per site).
        // With shears: their table of orbit cosines, one per flow (bounded by all the orbits), 8 bytes a value.
        structureBytes = branches * taps * V * 4 + layers * V * 16 + (spec.fourierScaling ? 8 * V : 0)
            + (spec.shearFeatures > 0 ? 8 * displacementOrbits * V : 0)
        let widest = Double(channels.max() ?? 2)
        // A Z2-equivariant flow's nets run on x and -x: twice their buffers.
        let k = spec.z2Equivariant ? 2.0 : 1.0
        tapeValuesPerConfiguration = (layers + 1) * V + k * layers * V + k * layers * tapePerCoupling
            + (spec.z2Equivariant ? Double(spec.couplingOutputs) * layers * V : 0) + k * V * widest * (spec.useBN ? 4 : 3) + V + 1
            + (spec.fourierScaling ? V : 0) + layers * V * Double(spec.coupling.map.cachePerSite) + postCoupling * V
    }

    /// Bytes training needs with `batch` configurations per step: the tapes,
    /// and the parameters with their gradient, Adam moments and a copy per thread.
    public func trainingBytes(batch: Int, threads: Int) -> Double {
        Double(batch) * tapeValuesPerConfiguration * 4 + parameters * 4 * Double(4 + threads) + structureBytes
    }

    /// Bytes sampling needs with `batch` proposals a round on each of `ranks`
    /// ranks: the batch's tapes, its prior draws, fields and seeds, rank 0's
    /// gathered round, and a gradient buffer per chunk (at most 8).
    public func samplingBytes(batch: Int, ranks: Int) -> Double {
        Double(batch) * (tapeValuesPerConfiguration + Double(3 + ranks) * sites) * 4 + 8 * parameters * 4 + structureBytes
    }
}

extension ConvStencil {
    /// n choose k, the number of branches of a "nCk" combinational convolution.
    public static func binomial(_ n: Int, _ k: Int) -> Int {
        guard k >= 0, k <= n else { return 0 }
        var r = 1
        for i in 0..<k { r = r * (n - i) / (i + 1) }
        return r
    }
}

/// The fixed structure of a flow built from a `ModelSpec`: masks, net layers and
/// where every tensor sits in the flat parameter and buffer vectors.
public struct FlowArchitecture: Sendable {
    /// One layer of a coupling's net: the (combinational) convolution and, with
    /// `use_bn`, a batch norm that then carries the activation.
    public struct NetLayer: Sendable {
        /// The layer's convolution; without activation when `norm` is present.
        public let conv: CombinationalConv
        /// The batch norm after the convolution, which applies the activation (nil without `use_bn`).
        public let norm: BatchNorm?
        /// Input channels.
        public var cin: Int { conv.cin }
        /// Output channels.
        public var cout: Int { conv.cout }
    }

    /// One coupling layer: its checkerboard mask and its net (the sites a `CouplingMap` updates).
    public struct Coupling: Sendable {
        /// frozen[v] is true where the site is passed through and fed to the net.
        public let frozen: [Bool]
        /// Sites that are transformed; the net's last layer is computed there only.
        public let activeSites: [Int32]
        /// The net's layers: 1 input channel, the map's parameters per site out (2 for (s, t), 3K - 1 for a spline).
        public let net: [NetLayer]
        /// For the first net layer, whose input vanishes off the frozen sites:
        /// per branch, the sites grouped by the taps that read frozen sites.
        public let inputTapGroups: [[TapGroup]]
    }

    /// A named tensor. `shape` is the PyTorch layout used in files: weights
    /// (cout, cin, K, ..., K) with one K per convolved axis, vectors (C).
    public struct Tensor: Sendable {
        /// Name in model files, e.g. `layers.0.net.1.conv.0.weight`.
        public let name: String
        /// PyTorch layout: (cout, cin, K, ..., K) for a weight ((cout, cin, T) for a cross), (C) for a vector.
        public let shape: [Int]
        /// Start of the tensor in the flat parameter (or buffer) vector.
        public let offset: Int
        /// Number of values.
        public let count: Int
        /// For weights: the conv it belongs to, to convert between layouts.
        public let conv: PeriodicConv?
    }

    /// The spec the architecture was built from.
    public let spec: ModelSpec
    /// The L^d lattice of the spec.
    public let lattice: Lattice
    /// The couplings in the order `forward` applies them; mask parity i mod 2.
    public let couplings: [Coupling]
    /// Trainable parameters.
    public let tensors: [Tensor]
    /// Length of the flat parameter vector.
    public let parameterCount: Int
    /// Non-trainable state: the running statistics of batch norms.
    public let bufferTensors: [Tensor]
    /// Length of the flat buffer vector (0 without batch norms).
    public let bufferCount: Int
    /// Widest channel count of any net layer (1, hidden..., 2).
    public let maxChannels: Int
    /// With `fourier_scaling`: the momentum orbits of the first layer and
    /// where its log-scales start (after every coupling's parameters, so the
    /// couplings' layout and initialisation are those of the flow without it).
    public let fourier: (orbits: DisplacementOrbits, offset: Int)?
    /// With `site_map_features`: where each coupling's site map (`OddSiteMap`)
    /// starts, after the Fourier layer (so the layout before it is unchanged); empty without.
    public let siteMapOffsets: [Int]
    /// With `shear_features`: the displacement orbits and where each
    /// coupling's shear (`OrbitShear`) starts, after the site maps; nil without.
    public let shears: (orbits: DisplacementOrbits, offsets: [Int])?

    /// Whether couplings are followed by shears or site maps (their output then has a buffer of its own).
    public var hasPostCouplingLayers: Bool { !siteMapOffsets.isEmpty || shears != nil }

    /// Whether the nets have batch norms (and so buffers).
    public var usesBatchNorm: Bool { bufferCount > 0 }

    /// Lays out masks, net layers and tensor offsets for `spec`; allocates no parameters.
    public init(spec: ModelSpec) {
        self.spec = spec
        let lattice = Lattice(L: spec.L, d: spec.d)
        self.lattice = lattice
        let channels = [1] + spec.hiddenSizes + [spec.couplingOutputs]
        let stencils = spec.crossKernel ? [ConvStencil(crossOn: lattice, kernelSize: spec.kernelSize)]
            : ConvStencil.axisSubsets(d: spec.d, k: spec.convAxes).map {
                ConvStencil(lattice: lattice, axes: $0, kernelSize: spec.kernelSize)
            }
        var offset = 0, bufferOffset = 0
        var tensors: [Tensor] = [], buffers: [Tensor] = []
        var couplings: [Coupling] = []
        for i in 0..<spec.nLayers {
            var net: [NetLayer] = []
            for j in 0..<(channels.count - 1) {
                let cin = channels[j], cout = channels[j + 1]
                var convs: [PeriodicConv] = []
                for (c, stencil) in stencils.enumerated() {
                    let wCount = stencil.tapCount * cin * cout
                    let conv = PeriodicConv(stencil: stencil, cin: cin, cout: cout,
                                            weightOffset: offset, biasOffset: offset + wCount)
                    let prefix = "layers.\(i).net.\(j).conv.\(c)"
                    // A cross's taps have no grid: one kernel dimension of length T.
                    let kshape = stencil.isCross ? [stencil.tapCount]
                        : [Int](repeating: spec.kernelSize, count: stencil.axes.count)
                    tensors.append(Tensor(name: prefix + ".weight", shape: [cout, cin] + kshape,
                                          offset: offset, count: wCount, conv: conv))
                    tensors.append(Tensor(name: prefix + ".bias", shape: [cout],
                                          offset: offset + wCount, count: cout, conv: nil))
                    offset += wCount + cout
                    convs.append(conv)
                }
                // GomalizingFlow.jl: every conv is followed by leakyrelu; with
                // use_final_tanh the last one uses tanh instead.
                // The last layer's is the family's: tanh with use_final_tanh for the affine map, linear for a spline.
                let last = j == channels.count - 2
                let act: Activation = last ? spec.coupling.map.lastActivation(useFinalTanh: spec.useFinalTanh) : .leakyReLU
                var norm: BatchNorm? = nil
                if spec.useBN {
                    let prefix = "layers.\(i).net.\(j).bn"
                    norm = BatchNorm(channels: cout, gammaOffset: offset, betaOffset: offset + cout,
                                     meanOffset: bufferOffset, varOffset: bufferOffset + cout, activation: act)
                    tensors.append(Tensor(name: prefix + ".weight", shape: [cout], offset: offset, count: cout, conv: nil))
                    tensors.append(Tensor(name: prefix + ".bias", shape: [cout], offset: offset + cout, count: cout, conv: nil))
                    buffers.append(Tensor(name: prefix + ".running_mean", shape: [cout], offset: bufferOffset, count: cout, conv: nil))
                    buffers.append(Tensor(name: prefix + ".running_var", shape: [cout], offset: bufferOffset + cout, count: cout, conv: nil))
                    offset += 2 * cout
                    bufferOffset += 2 * cout
                }
                // With a batch norm the convolutions are linear and the norm applies the activation.
                let conv = CombinationalConv(convs: convs, activation: norm == nil ? act : .identity, cin: cin, cout: cout)
                net.append(NetLayer(conv: conv, norm: norm))
            }
            let frozen = lattice.checkerboard(parity: i % 2)
            let active = (0..<lattice.volume).filter { !frozen[$0] }.map { Int32($0) }
            let groups = net[0].conv.convs.map { $0.stencil.tapGroups(support: frozen) }
            couplings.append(Coupling(frozen: frozen, activeSites: active, net: net, inputTapGroups: groups))
        }
        if spec.fourierScaling {
            let orbits = DisplacementOrbits(lattice: lattice)
            fourier = (orbits, offset)
            tensors.append(Tensor(name: FlowArchitecture.fourierTensorName, shape: [orbits.count], offset: offset,
                                  count: orbits.count, conv: nil))
            offset += orbits.count  // zero-initialised: the layer starts as the identity
        } else {
            fourier = nil
        }
        var siteMapOffsets: [Int] = []
        if spec.siteMapFeatures > 0 {
            let A = spec.siteMapFeatures
            for i in 0..<spec.nLayers {
                siteMapOffsets.append(offset)
                let prefix = "layers.\(i).site_map"
                tensors.append(Tensor(name: prefix + ".log_scale", shape: [1], offset: offset, count: 1, conv: nil))
                tensors.append(Tensor(name: prefix + ".amplitude", shape: [A], offset: offset + 1, count: A, conv: nil))
                tensors.append(Tensor(name: prefix + ".width", shape: [A], offset: offset + 1 + A, count: A, conv: nil))
                offset += 2 * A + 1
            }
        }
        self.siteMapOffsets = siteMapOffsets
        if spec.shearFeatures > 0 {
            let orbits = DisplacementOrbits(lattice: lattice)
            let count = spec.shearFeatures * OrbitShear<Double>.weightedOrbits(orbits).count
            var offsets: [Int] = []
            for i in 0..<spec.nLayers {
                offsets.append(offset)
                tensors.append(Tensor(name: FlowArchitecture.shearTensorName(i), shape: [spec.shearFeatures, count / spec.shearFeatures],
                                      offset: offset, count: count, conv: nil))
                offset += count  // zero-initialised: the identity
            }
            shears = (orbits, offsets)
        } else {
            shears = nil
        }
        self.couplings = couplings
        self.tensors = tensors
        self.parameterCount = offset
        self.bufferTensors = buffers
        self.bufferCount = bufferOffset
        self.maxChannels = channels.max()!
    }

    /// The model-file name of coupling i's shear weights ([C][weighted orbits]).
    public static func shearTensorName(_ i: Int) -> String { "layers.\(i).shear.weight" }

    /// The model-file name of the Fourier layer's log-scales (one per momentum orbit).
    public static let fourierTensorName = "fourier.log_scale"

    /// PyTorch's default conv initialisation (and GomalizingFlow.jl's): weights
    /// and biases uniform in +-1/sqrt(fan_in), fan_in = cin * K^k, drawn tensor
    /// by tensor from a generator seeded with the model seed. Batch norms start
    /// as the identity: gamma = 1, beta = 0; site maps too (`OddSiteMap.initialParameters`,
    /// no random draws, so the couplings start as they would without them).
    public func initialParameters<T: BinaryFloatingPoint>(as _: T.Type = T.self) -> [T] {
        var rng = Xoshiro256(seed: spec.seed)
        var p = [T](repeating: 0, count: parameterCount)
        for coupling in couplings {
            for (j, layer) in coupling.net.enumerated() {
                // identity_init: the last layer's draws are made and dropped, so every
                // other value is the seeded flow's.
                let zero = spec.identityInit && j == coupling.net.count - 1
                for conv in layer.conv.convs {
                    let bound = 1 / Double(conv.fanIn).squareRoot()
                    for i in 0..<(conv.weightCount + conv.cout) {
                        let draw = T((2 * rng.uniform() - 1) * bound)
                        p[conv.weightOffset + i] = zero ? 0 : draw
                    }
                }
                if let bn = layer.norm {
                    for c in 0..<bn.channels { p[bn.gammaOffset + c] = 1 }
                }
            }
        }
        if spec.siteMapFeatures > 0 {
            let identity = OddSiteMap<Double>.initialParameters(features: spec.siteMapFeatures)
            for o in siteMapOffsets { for (k, v) in identity.enumerated() { p[o + k] = T(v) } }
        }
        return p
    }

    /// Running statistics before any training: mean 0, variance 1.
    public func initialBuffers<T: BinaryFloatingPoint>(as _: T.Type = T.self) -> [T] {
        var b = [T](repeating: 0, count: bufferCount)
        for c in couplings { for l in c.net { if let bn = l.norm { for k in 0..<bn.channels { b[bn.varOffset + k] = 1 } } } }
        return b
    }

    /// Convolution FLOPs (2 per multiply-add) of one forward pass of one configuration.
    public var forwardFLOPs: Double {
        var macs = 0
        for c in couplings { for l in c.net { for conv in l.conv.convs { macs += conv.macsPerSite } } }
        return 2 * Double(macs) * Double(lattice.volume)
    }
}

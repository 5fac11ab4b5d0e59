/// The fixed structure of a flow built from a `ModelSpec`: masks, net layers and
/// where every tensor sits in the flat parameter vector.
public struct FlowArchitecture: Sendable {
    public struct Coupling: Sendable {
        /// frozen[v] is true where the site is passed through and fed to the net.
        public let frozen: [Bool]
        public let net: [CombinationalConv]
    }

    /// A named parameter tensor. `shape` is the PyTorch layout used in files:
    /// weights (cout, cin, K, ..., K) with one K per convolved axis, biases (cout).
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public let count: Int
        /// For weights: the conv it belongs to, to convert between layouts.
        public let conv: PeriodicConv?
    }

    public let spec: ModelSpec
    public let lattice: Lattice
    public let couplings: [Coupling]
    public let tensors: [Tensor]
    public let parameterCount: Int
    /// Widest channel count of any net layer (1, hidden..., 2).
    public let maxChannels: Int

    public init(spec: ModelSpec) {
        self.spec = spec
        let lattice = Lattice(L: spec.L, d: spec.d)
        self.lattice = lattice
        let channels = [1] + spec.hiddenSizes + [2]
        let subsets = ConvStencil.axisSubsets(d: spec.d, k: spec.convAxes)
        let stencils = subsets.map { ConvStencil(lattice: lattice, axes: $0, kernelSize: spec.kernelSize) }
        var offset = 0
        var tensors: [Tensor] = []
        var couplings: [Coupling] = []
        for i in 0..<spec.nLayers {
            var net: [CombinationalConv] = []
            for j in 0..<(channels.count - 1) {
                let cin = channels[j], cout = channels[j + 1]
                var convs: [PeriodicConv] = []
                for (c, stencil) in stencils.enumerated() {
                    let wCount = stencil.tapCount * cin * cout
                    let conv = PeriodicConv(stencil: stencil, cin: cin, cout: cout,
                                            weightOffset: offset, biasOffset: offset + wCount)
                    let prefix = "layers.\(i).net.\(j).conv.\(c)"
                    let kshape = [Int](repeating: spec.kernelSize, count: stencil.axes.count)
                    tensors.append(Tensor(name: prefix + ".weight", shape: [cout, cin] + kshape,
                                          offset: offset, count: wCount, conv: conv))
                    tensors.append(Tensor(name: prefix + ".bias", shape: [cout],
                                          offset: offset + wCount, count: cout, conv: nil))
                    offset += wCount + cout
                    convs.append(conv)
                }
                // GomalizingFlow.jl: every conv is followed by leakyrelu; with
                // use_final_tanh the last one uses tanh instead.
                let last = j == channels.count - 2
                let act: Activation = (last && spec.useFinalTanh) ? .tanh : .leakyReLU
                net.append(CombinationalConv(convs: convs, activation: act, cin: cin, cout: cout))
            }
            couplings.append(Coupling(frozen: lattice.checkerboard(parity: i % 2), net: net))
        }
        self.couplings = couplings
        self.tensors = tensors
        self.parameterCount = offset
        self.maxChannels = channels.max()!
    }

    /// PyTorch's default conv initialisation (and GomalizingFlow.jl's): weights
    /// and biases uniform in +-1/sqrt(fan_in), fan_in = cin * K^k, drawn tensor
    /// by tensor from a generator seeded with the model seed.
    public func initialParameters<T: BinaryFloatingPoint>(as _: T.Type = T.self) -> [T] {
        var rng = Xoshiro256(seed: spec.seed)
        var p = [T](repeating: 0, count: parameterCount)
        for coupling in couplings {
            for layer in coupling.net {
                for conv in layer.convs {
                    let bound = 1 / Double(conv.fanIn).squareRoot()
                    for i in 0..<(conv.weightCount + conv.cout) {
                        p[conv.weightOffset + i] = T((2 * rng.uniform() - 1) * bound)
                    }
                }
            }
        }
        return p
    }

    /// Convolution FLOPs (2 per multiply-add) of one forward pass of one configuration.
    public var forwardFLOPs: Double {
        var macs = 0
        for c in couplings { for l in c.net { for conv in l.convs { macs += conv.macsPerSite } } }
        return 2 * Double(macs) * Double(lattice.volume)
    }
}

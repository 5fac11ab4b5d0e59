/// Everything that fixes the shape of a flow: lattice, depth, net widths and the
/// convolution type. Two flows with equal specs have interchangeable parameters.
public struct ModelSpec: Equatable, Sendable, Codable {
    public var L: Int
    public var d: Int
    public var nLayers: Int
    public var hiddenSizes: [Int]
    public var kernelSize: Int
    /// k of the combinational convolution "dCk": each net layer convolves along
    /// every k-subset of the d axes and averages. k = d is the plain d-dim conv.
    public var convAxes: Int
    public var useFinalTanh: Bool
    /// Batch normalisation after every convolution (GomalizingFlow.jl's use_bn).
    public var useBN: Bool
    public var seed: UInt64

    public init(L: Int, d: Int, nLayers: Int, hiddenSizes: [Int], kernelSize: Int,
                convAxes: Int? = nil, useFinalTanh: Bool = true, useBN: Bool = false, seed: UInt64 = 2021) {
        self.L = L
        self.d = d
        self.nLayers = nLayers
        self.hiddenSizes = hiddenSizes
        self.kernelSize = kernelSize
        self.convAxes = convAxes ?? d
        self.useFinalTanh = useFinalTanh
        self.useBN = useBN
        self.seed = seed
    }

    /// The GomalizingFlow.jl name of the convolution, e.g. "4C2".
    public var convName: String { "\(d)C\(convAxes)" }
}

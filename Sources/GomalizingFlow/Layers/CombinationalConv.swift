import Numerics

/// A net layer of GomalizingFlow.jl: for each k-subset of the d axes a periodic
/// convolution that is K wide along those axes and 1 wide along the rest, each
/// followed by the activation, and the layer output is the mean of the branches:
///
///   y = (1/C(d,k)) sum_c act(conv_c(x))
///
/// With k = d there is one branch and this is the ordinary d-dimensional
/// convolution. Branch outputs are kept for the pullback only when there are
/// several; with one branch the layer output itself is the branch output.
public struct CombinationalConv: Sendable {
    /// One periodic convolution per branch: per k-subset of the axes, or the single cross.
    public let convs: [PeriodicConv]
    /// Applied to each branch before the mean.
    public let activation: Activation
    /// Input channels.
    public let cin: Int
    /// Output channels.
    public let cout: Int

    /// A layer averaging the branches `convs`, all with `cin` and `cout` channels.
    public init(convs: [PeriodicConv], activation: Activation, cin: Int, cout: Int) {
        self.convs = convs
        self.activation = activation
        self.cin = cin
        self.cout = cout
    }

    /// Number of branches, C(d, k) (1 for k = d or a cross).
    public var branchCount: Int { convs.count }

    /// `branches` must hold branchCount * n * V * cout values when branchCount > 1;
    /// `weightScratch` twice one convolution's weights.
    public func forward<T: Real & BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, branches: UnsafeMutablePointer<T>,
        n: Int, params: UnsafePointer<T>, weightScratch: UnsafeMutablePointer<T>,
        subset: UnsafeBufferPointer<Int32>? = nil, groups: [[TapGroup]]? = nil, winograd: Bool = false
    ) {
        let size = n * convs[0].stencil.volume * cout
        // The activation is applied by the kernel as it stores, where it can be.
        let fused: FusedActivation?
        switch activation {
        case .identity: fused = .identity
        case .leakyReLU: fused = .leakyReLU
        case .tanh: fused = nil
        }
        if convs.count == 1 {
            convs[0].forward(x, y, n: n, params: params, weightScratch: weightScratch, subset: subset,
                             groups: groups?[0], activation: fused ?? .identity, winograd: winograd)
            if fused == nil { applyActivation(y, n: n, subset: subset) }
            return
        }
        let inv = 1 / T(convs.count)
        for c in convs.indices {
            let yc = branches + c * size
            convs[c].forward(x, yc, n: n, params: params, weightScratch: weightScratch, subset: subset,
                             groups: groups?[c], activation: fused ?? .identity, winograd: winograd)
            if fused == nil { applyActivation(yc, n: n, subset: subset) }
            if c == 0 {
                for i in 0..<size { y[i] = inv * yc[i] }
            } else {
                for i in 0..<size { y[i] += inv * yc[i] }
            }
        }
    }

    /// The activation on every site, or on the subset's sites of each configuration.
    private func applyActivation<T: Real & BinaryFloatingPoint>(_ y: UnsafeMutablePointer<T>, n: Int,
                                                                subset: UnsafeBufferPointer<Int32>?) {
        let V = convs[0].stencil.volume
        guard let subset else {
            activation.apply(y, count: n * V * cout)
            return
        }
        // Gathered into a contiguous buffer so that the activation runs on
        // SIMD vectors rather than on cout values at a time.
        let cout = self.cout
        let perConfig = subset.count * cout
        withUnsafeTemporaryAllocation(of: Int.self, capacity: perConfig) { index in
            let idx = index.baseAddress!
            for (k, v) in subset.enumerated() {
                for c in 0..<cout { idx[k * cout + c] = Int(v) * cout + c }
            }
            withUnsafeTemporaryAllocation(of: T.self, capacity: perConfig) { buf in
                let g = buf.baseAddress!
                for b in 0..<n {
                    let yb = y + b * V * cout
                    for j in 0..<perConfig { g[j] = yb[idx[j]] }
                    activation.apply(g, count: perConfig)
                    for j in 0..<perConfig { yb[idx[j]] = g[j] }
                }
            }
        }
    }

    /// `scratch` holds n * V * cout values, `weightScratch` one conv's weights; `dx`, when given, is accumulated into.
    public func pullback<T: Real & BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, output y: UnsafePointer<T>, branches: UnsafePointer<T>,
        _ dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?, n: Int,
        params: UnsafePointer<T>, grads: UnsafeMutablePointer<T>?, scratch: UnsafeMutablePointer<T>,
        weightScratch: UnsafeMutablePointer<T>, subset: UnsafeBufferPointer<Int32>? = nil
    ) {
        let size = n * convs[0].stencil.volume * cout
        let scale = 1 / T(convs.count)
        for c in convs.indices {
            let yc = convs.count == 1 ? y : branches + c * size
            activation.pullback(output: yc, dy, into: scratch, count: size, scale: scale)
            convs[c].pullback(x, scratch, dx: dx, n: n, params: params, grads: grads, weightScratch: weightScratch,
                              subset: subset)
        }
    }
}

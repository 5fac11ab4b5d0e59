/// One periodic convolution (cross-correlation, as in PyTorch) with bias,
/// channels-last activations `[n][V][C]`.
///
/// Parameters live in a flat vector: the weight at `weightOffset` in the layout
/// `[tap][cin][cout]` (cout fastest, so output channels form SIMD lanes), the
/// bias at `biasOffset`. `forward` and `pullback` are the pair of a ChainRules rrule.
public struct PeriodicConv: Sendable {
    /// The taps and the site each reads.
    public let stencil: ConvStencil
    /// Input channels.
    public let cin: Int
    /// Output channels.
    public let cout: Int
    /// Start of the weight, `[tap][cin][cout]`, in the parameter vector.
    public let weightOffset: Int
    /// Start of the bias (cout values) in the parameter vector.
    public let biasOffset: Int

    /// A convolution with the given stencil, channel counts and parameter offsets.
    public init(stencil: ConvStencil, cin: Int, cout: Int, weightOffset: Int, biasOffset: Int) {
        self.stencil = stencil
        self.cin = cin
        self.cout = cout
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
    }

    /// Weight values: taps x cin x cout.
    public var weightCount: Int { stencil.tapCount * cin * cout }
    /// Inputs per output value, taps x cin (the initialisation bound is 1/sqrt(fanIn)).
    public var fanIn: Int { stencil.tapCount * cin }
    /// Whether `forward(winograd: true)` takes `WinogradConv` for Float on the active
    /// kernel path (when all sites are wanted; Double takes it in 2D only).
    public var admitsWinograd: Bool { WinogradConv.applies(to: stencil, cin: cin, cout: cout) }

    /// Multiply-adds per output site, for FLOP counts.
    public var macsPerSite: Int { stencil.tapCount * cin * cout }

    /// y = b + sum_t W_t x(v + offset_t) for n configurations. `weightScratch`
    /// holds 2 * weightCount values (for rearranged weights). With `subset`, only
    /// those sites of each configuration are written. With `groups` (from
    /// `stencil.tapGroups(support:)`, x vanishing off the support), each group's
    /// sites sum only its taps; `subset` is then ignored. `activation` is applied
    /// to each output as it is stored. `winograd` allows `WinogradConv` where it
    /// applies (all sites wanted; equal to the direct sum up to rounding).
    public func forward<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, n: Int, params: UnsafePointer<T>,
        weightScratch: UnsafeMutablePointer<T>, subset: UnsafeBufferPointer<Int32>? = nil,
        groups: [TapGroup]? = nil, activation: FusedActivation = .identity, winograd: Bool = false
    ) {
        // One read of the path: `applies` and `apply` must agree on it.
        let path = KernelPath.active
        if winograd && subset == nil && groups == nil
            && WinogradConv.applies(to: stencil, cin: cin, cout: cout, scalar: T.self, path: path) {
            WinogradConv.apply(x, cin: cin, y, cout: cout, weight: params + weightOffset, bias: params + biasOffset,
                               n: n, side: stencil.latticeSide, dimension: stencil.latticeDimension,
                               activation: activation, path: path)
            return
        }
        stencil.neighbour.withUnsafeBufferPointer { nb in
            if let groups {
                for g in groups {
                    g.sites.withUnsafeBufferPointer { sites in
                        g.taps.withUnsafeBufferPointer { taps in
                            ConvKernel.apply(x, cin: cin, y, cout: cout, weight: params + weightOffset,
                                             bias: params + biasOffset, accumulate: false,
                                             neighbour: nb.baseAddress!, taps: stencil.tapCount,
                                             sites: n * stencil.volume, volume: stencil.volume,
                                             transposedScratch: weightScratch, subset: sites, tapList: taps,
                                             activation: activation)
                        }
                    }
                }
                return
            }
            ConvKernel.apply(x, cin: cin, y, cout: cout, weight: params + weightOffset,
                             bias: params + biasOffset, accumulate: false,
                             neighbour: nb.baseAddress!, taps: stencil.tapCount, sites: n * stencil.volume,
                             volume: stencil.volume, side: stencil.latticeSide, transposedScratch: weightScratch,
                             subset: subset,
                             activation: activation)
        }
    }

    /// Given dL/dy, accumulates dL/dW and dL/db into `grads` (unless nil: only
    /// dL/dx is wanted) and, when `dx` is
    /// given, adds dL/dx into it (the caller zeroes it; combinational layers sum
    /// several convolutions into one dx). `weightScratch` holds 2 * weightCount values.
    /// With `subset`, dy must vanish off those sites and the weight gradient skips them.
    public func pullback<T: BinaryFloatingPoint & SIMDScalar>(
        _ x: UnsafePointer<T>, _ dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?,
        n: Int, params: UnsafePointer<T>, grads: UnsafeMutablePointer<T>?,
        weightScratch: UnsafeMutablePointer<T>, subset: UnsafeBufferPointer<Int32>? = nil
    ) {
        let V = stencil.volume, taps = stencil.tapCount
        let cin = self.cin, cout = self.cout
        stencil.neighbour.withUnsafeBufferPointer { nbBuf in
            let nb = nbBuf.baseAddress!
            if let grads {
                ConvKernel.weightGradient(x, cin: cin, dy, cout: cout, dW: grads + weightOffset, dB: grads + biasOffset,
                                          neighbour: nb, taps: taps, n: n, volume: V, subset: subset)
            }
            guard let dx else { return }
            // dL/dx is the convolution of dL/dy with the mirrored, transposed
            // kernel: site u receives from v = u - offset_t = u + offset_(T-1-t).
            let W = params + weightOffset
            for t in 0..<taps {
                for ci in 0..<cin {
                    for co in 0..<cout {
                        weightScratch[((taps &- 1 &- t) &* cout &+ co) &* cin &+ ci] = W[(t &* cin &+ ci) &* cout &+ co]
                    }
                }
            }
            ConvKernel.apply(dy, cin: cout, dx, cout: cin, weight: UnsafePointer(weightScratch), bias: nil,
                             accumulate: true, neighbour: nb, taps: taps, sites: n * V, volume: V,
                             side: stencil.latticeSide,
                             transposedScratch: weightScratch + weightCount)
        }
    }
}

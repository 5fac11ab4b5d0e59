/// Buffers for one chunk of up to `capacity` configurations: what the forward
/// pass keeps for the pullback, and the scratch the pullback needs. Allocated
/// once per worker and reused, so the training loop does not allocate.
public final class FlowTape<T: BinaryFloatingPoint> {
    /// Most configurations one pass on this tape may hold.
    public let capacity: Int
    let volume: Int
    /// inputs[i]: the field entering coupling i; inputs[nLayers]: the output phi.
    let inputs: [UnsafeMutablePointer<T>]
    /// netInput[i]: masked field fed to the net of coupling i.
    let netInput: [UnsafeMutablePointer<T>]
    /// outputs[i][j]: output of net layer j of coupling i, [n][V][c_j+1].
    let outputs: [[UnsafeMutablePointer<T>]]
    /// branches[i][j]: per-branch outputs when the layer has several branches.
    let branches: [[UnsafeMutablePointer<T>]]
    /// preNorm[i][j]: convolution output before the batch norm (with use_bn).
    let preNorm: [[UnsafeMutablePointer<T>]]
    /// symmetric[i]: the symmetrised parameters of coupling i, [n][V][P] (Z2-equivariant flows only).
    let symmetric: [UnsafeMutablePointer<T>]
    /// With a Fourier layer: z, which that layer maps to inputs[0]; nil without one.
    let latent: UnsafeMutablePointer<T>?
    /// couplingCache[i]: what coupling i's map kept per site in the forward
    /// pass for its pullbacks, [n][V][`CouplingMap.cachePerSite`] (empty for the affine map).
    let couplingCache: [UnsafeMutablePointer<T>]
    /// afterCoupling[i]: coupling i's output, which its shear (in place) and
    /// site map take to inputs[i + 1] (with either; empty without).
    let afterCoupling: [UnsafeMutablePointer<T>]
    /// log|det dphi/dz| per configuration of the last pass, [n].
    public let logJ: UnsafeMutablePointer<T>
    // Pullback scratch.
    let gradA: UnsafeMutablePointer<T>
    let gradB: UnsafeMutablePointer<T>
    let scratch: UnsafeMutablePointer<T>
    let normGrad: UnsafeMutablePointer<T>
    let gradField: UnsafeMutablePointer<T>
    let weightScratch: UnsafeMutablePointer<T>
    private var owned: [(UnsafeMutablePointer<T>, Int)] = []

    /// Allocates every buffer, zeroed, for up to `n` configurations of `arch`.
    public init(architecture arch: FlowArchitecture, capacity n: Int) {
        capacity = n
        volume = arch.lattice.volume
        let V = arch.lattice.volume
        let z2 = arch.spec.z2Equivariant
        // A Z2-equivariant flow's nets run on x and -x: 2n configurations.
        let nn = z2 ? 2 * n : n
        var owned: [(UnsafeMutablePointer<T>, Int)] = []
        func alloc(_ count: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            owned.append((p, max(count, 1)))
            return p
        }
        inputs = (0...arch.couplings.count).map { _ in alloc(n * V) }
        netInput = arch.couplings.map { _ in alloc(nn * V) }
        outputs = arch.couplings.map { c in c.net.map { alloc(nn * V * $0.cout) } }
        branches = arch.couplings.map { c in
            c.net.map { $0.conv.branchCount > 1 ? alloc($0.conv.branchCount * nn * V * $0.cout) : alloc(0) }
        }
        preNorm = arch.couplings.map { c in c.net.map { $0.norm == nil ? alloc(0) : alloc(nn * V * $0.cout) } }
        let P = arch.spec.couplingOutputs, cachePerSite = arch.spec.coupling.map.cachePerSite
        symmetric = arch.couplings.map { _ in z2 ? alloc(P * n * V) : alloc(0) }
        latent = arch.fourier == nil ? nil : alloc(n * V)
        couplingCache = arch.couplings.map { _ in alloc(n * V * cachePerSite) }
        afterCoupling = arch.hasPostCouplingLayers ? arch.couplings.map { _ in alloc(n * V) } : []
        logJ = alloc(n)
        let wide = nn * V * arch.maxChannels
        gradA = alloc(wide)
        gradB = alloc(wide)
        scratch = alloc(wide)
        normGrad = arch.usesBatchNorm ? alloc(wide) : alloc(0)
        gradField = alloc(n * V)
        weightScratch = alloc(2 * (arch.tensors.compactMap { $0.conv?.weightCount }.max() ?? 1))
        self.owned = owned
    }

    /// Values a tape of capacity n holds, to check memory before allocating.
    public static func valueCount(architecture arch: FlowArchitecture, capacity n: Int) -> Int {
        let V = arch.lattice.volume
        let k = arch.spec.z2Equivariant ? 2 : 1
        var perConfig = (arch.couplings.count + 1) * V + k * arch.couplings.count * V
        for c in arch.couplings {
            for l in c.net {
                let extra = (l.conv.branchCount > 1 ? l.conv.branchCount : 0) + (l.norm == nil ? 0 : 1)
                perConfig += k * V * l.cout * (1 + extra)
            }
            if k == 2 { perConfig += arch.spec.couplingOutputs * V }
        }
        perConfig += k * V * arch.maxChannels * (arch.usesBatchNorm ? 4 : 3) + V + 1 + (arch.fourier == nil ? 0 : V)
        perConfig += arch.couplings.count * V * arch.spec.coupling.map.cachePerSite + (arch.hasPostCouplingLayers ? arch.couplings.count * V : 0)
        return n * perConfig
    }

    deinit {
        for (p, c) in owned {
            p.deinitialize(count: c)
            p.deallocate()
        }
    }

    /// The field after the last coupling layer.
    public var output: UnsafeMutablePointer<T> { inputs[inputs.count - 1] }
    /// The flow's input z, [n][V]: the field entering the first coupling
    /// layer, or with a Fourier layer the field entering that.
    public var input: UnsafeMutablePointer<T> { latent ?? inputs[0] }
}

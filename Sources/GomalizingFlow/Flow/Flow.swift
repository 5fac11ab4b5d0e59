import Numerics

/// A stack of coupling layers with checkerboard masks, optionally after a
/// Fourier layer (`FourierScaling`) and each followed by a lattice-wide shear
/// (`OrbitShear`) and a site map (`OddSiteMap`), and its parameters. Coupling i maps x to
///
///   y = m x + (1 - m) f(x; theta),   theta = net(m x),
///
/// where m is 1 on frozen sites and f is the family's site-wise map (the
/// spec's `CouplingMap`: affine, y = x e^s + t as in GomalizingFlow.jl, or a
/// spline). Flow runs masks, nets and the Z2 symmetrisation; the map does the
/// update and its log-det, inverse and pullbacks. All passes work on a chunk
/// of n configurations held in a `FlowTape`. The passes are built from
/// per-layer steps so that a batch-norm training pass (`BatchRunner`) can
/// interleave batch-wide reductions.
public final class Flow<T: Real & BinaryFloatingPoint & SIMDScalar> {
    /// Masks, net layers and tensor offsets the parameters are laid out by.
    public let architecture: FlowArchitecture
    /// Flat parameter vector in `architecture`'s layout (`parameterCount` values).
    public var parameters: [T]
    /// Running batch-norm statistics (empty without `use_bn`).
    public var buffers: [T]
    /// The all-nil statistics table of a flow without batch norms, built once so
    /// the hot passes do not allocate it.
    private let noStatistics: [[BatchNorm.Statistics?]]
    /// The first layer with `fourier_scaling` (z -> the first coupling's input).
    let fourier: FourierScaling<T>?
    /// With `site_map_features`: the odd site-wise map after each coupling (empty without).
    let siteMaps: [OddSiteMap<T>]
    /// With `shear_features`: the lattice-wide shear after each coupling (empty without).
    let shears: [OrbitShear<T>]
    /// The couplings' site-wise map, the model family's.
    let map: any CouplingMap
    /// Per map parameter, whether it is odd under phi -> -phi (Z2-equivariant flows).
    private let parities: [Bool]

    /// A flow with the given parameters and buffers, or where nil the seeded
    /// initialisation (`initialParameters`, `initialBuffers`).
    public init(architecture: FlowArchitecture, parameters: [T]? = nil, buffers: [T]? = nil) {
        precondition(parameters == nil || parameters!.count == architecture.parameterCount)
        precondition(buffers == nil || buffers!.count == architecture.bufferCount)
        precondition(!(architecture.spec.z2Equivariant && architecture.usesBatchNorm), "a Z2-equivariant flow has no batch norms")
        precondition(!(architecture.fourier != nil && architecture.usesBatchNorm), "a flow with a Fourier layer has no batch norms")
        map = architecture.spec.coupling.map
        precondition(!architecture.spec.z2Equivariant || map.z2Parities?.count == map.parametersPerSite,
                     "this coupling family has no Z2 symmetrisation (or its parities do not match its parameters)")
        precondition(!architecture.usesBatchNorm || map.allowsBatchNorm, "this coupling family has no batch norms")
        precondition(!(architecture.usesBatchNorm && architecture.hasPostCouplingLayers), "a flow with site maps or shears has no batch norms")
        parities = map.z2Parities ?? []
        fourier = architecture.fourier.map {
            FourierScaling(orbits: $0.orbits, offset: $0.offset, covering: architecture.spec.integrateEvenSites)
        }
        siteMaps = architecture.siteMapOffsets.map { OddSiteMap(features: architecture.spec.siteMapFeatures, offset: $0) }
        shears = architecture.shears.map { s in
            let first = OrbitShear<T>(orbits: s.orbits, features: architecture.spec.shearFeatures, offset: s.offsets[0])
            return s.offsets.map { OrbitShear(sharing: first, offset: $0) }
        } ?? []
        self.architecture = architecture
        self.parameters = parameters ?? architecture.initialParameters()
        self.buffers = buffers ?? architecture.initialBuffers()
        self.noStatistics = architecture.couplings.map { c in c.net.map { _ in nil } }
    }

    /// A freshly initialised flow for `spec` (parameters from the spec's seed).
    public convenience init(spec: ModelSpec) {
        self.init(architecture: FlowArchitecture(spec: spec))
    }

    /// The lattice the flow acts on.
    public var lattice: Lattice { architecture.lattice }

    // MARK: Forward steps

    /// Masked input of coupling i: the net sees only the frozen sites. A
    /// Z2-equivariant flow's net also sees -m x, as configuration b + n.
    func beginCoupling(_ i: Int, tape: FlowTape<T>, n: Int, from x: UnsafePointer<T>) {
        let V = lattice.volume
        let frozen = architecture.couplings[i].frozen
        let out = tape.netInput[i]
        // Unchecked reads and wrapping indices: this runs per site and coupling.
        frozen.withUnsafeBufferPointer { fr in
            for b in 0..<n {
                let o = b &* V
                for v in 0..<V { out[o &+ v] = fr[v] ? x[o &+ v] : 0 }
            }
        }
        if z2 {
            for k in 0..<(n * V) { out[n * V + k] = -out[k] }
        }
    }

    var z2: Bool { architecture.spec.z2Equivariant }

    /// Configurations the nets run on: 2n for a Z2-equivariant flow.
    func netCount(_ n: Int) -> Int { z2 ? 2 * n : n }

    /// The parameters theta that coupling i's map applies: its net's output,
    /// or for a Z2-equivariant flow theta = (net(mx) +- net(-mx))/2, - for the
    /// map's odd parameters (for the affine map s even and t odd in x, exactly:
    /// addition commutes and negation is exact).
    func couplingTheta(_ i: Int, tape: FlowTape<T>, n: Int, combine: Bool) -> UnsafeMutablePointer<T> {
        let raw = tape.outputs[i][architecture.couplings[i].net.count - 1]
        guard z2 else { return raw }
        let theta = tape.symmetric[i]
        if combine {
            let P = parities.count, half = P * n * lattice.volume
            for k in Swift.stride(from: 0, to: half, by: P) {
                for c in 0..<P {
                    theta[k + c] = parities[c] ? (raw[k + c] - raw[half + k + c]) / 2 : (raw[k + c] + raw[half + k + c]) / 2
                }
            }
        }
        return theta
    }

    func layerInput(_ i: Int, _ j: Int, tape: FlowTape<T>) -> UnsafePointer<T> {
        j == 0 ? UnsafePointer(tape.netInput[i]) : UnsafePointer(tape.outputs[i][j - 1])
    }

    /// Convolution of net layer j: into the pre-norm buffer with a batch norm,
    /// else (activation included) into the layer output. `winograd`: see `forward`.
    func convForward(_ i: Int, _ j: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>, winograd: Bool = false) {
        let coupling = architecture.couplings[i]
        let layer = coupling.net[j]
        let out = layer.norm == nil ? tape.outputs[i][j] : tape.preNorm[i][j]
        coupling.activeSites.withUnsafeBufferPointer { active in
            let sparse = onlyActive(i, j)
            layer.conv.forward(layerInput(i, j, tape: tape), out, branches: tape.branches[i][j], n: n, params: params,
                               weightScratch: tape.weightScratch, subset: sparse ? active : nil,
                               groups: j == 0 && !sparse ? coupling.inputTapGroups : nil, winograd: winograd)
        }
    }

    /// The net's last layer's output is used on active sites only (y = m x + (1-m)(...)),
    /// so it is computed only there, unless a batch norm needs statistics over all sites.
    func onlyActive(_ i: Int, _ j: Int) -> Bool {
        let net = architecture.couplings[i].net
        return j == net.count - 1 && net[j].norm == nil
    }

    func normForward(_ i: Int, _ j: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>, stats: BatchNorm.Statistics) {
        let norm = architecture.couplings[i].net[j].norm!
        norm.forward(tape.preNorm[i][j], tape.outputs[i][j], sites: n * lattice.volume, stats: stats, params: params)
    }

    /// Applies coupling i (forward direction) given its net output; adds to logJ.
    func endCoupling(_ i: Int, tape: FlowTape<T>, n: Int) {
        let theta = couplingTheta(i, tape: tape, n: n, combine: true)
        map.forward(architecture.couplings[i], x: tape.inputs[i], y: couplingOutput(i, tape: tape), theta: theta, n: n,
                    logJ: tape.logJ, cache: tape.couplingCache[i])
    }

    /// Where coupling i writes: a buffer of its own if shears or site maps follow, else the next coupling's input.
    func couplingOutput(_ i: Int, tape: FlowTape<T>) -> UnsafeMutablePointer<T> {
        architecture.hasPostCouplingLayers ? tape.afterCoupling[i] : tape.inputs[i + 1]
    }

    /// Shear i then site map i (those present): coupling i's output -> the
    /// next coupling's input; adds to logJ.
    func finishCoupling(_ i: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>) {
        guard architecture.hasPostCouplingLayers else { return }
        let u = tape.afterCoupling[i], V = lattice.volume
        if !shears.isEmpty { shears[i].forward(params, u, n: n, frozen: architecture.couplings[i].frozen) }
        if siteMaps.isEmpty {
            tape.inputs[i + 1].update(from: u, count: n * V)
        } else {
            siteMaps[i].forward(params, u, into: tape.inputs[i + 1], n: n, V: V, logJ: tape.logJ)
        }
    }

    /// The inverse of `finishCoupling`: inputs[i + 1] -> coupling i's output; adds to logJ.
    func unfinishCoupling(_ i: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>) {
        guard architecture.hasPostCouplingLayers else { return }
        let u = tape.afterCoupling[i], V = lattice.volume
        if siteMaps.isEmpty {
            u.update(from: tape.inputs[i + 1], count: n * V)
        } else {
            siteMaps[i].inverse(params, tape.inputs[i + 1], into: u, n: n, V: V, logJ: tape.logJ)
        }
        if !shears.isEmpty { shears[i].inverse(params, u, n: n, frozen: architecture.couplings[i].frozen) }
    }

    /// Running statistics of every batch norm, for passes outside training.
    func runningStatistics() -> [[BatchNorm.Statistics?]] {
        guard architecture.usesBatchNorm else { return noStatistics }
        return buffers.withUnsafeBufferPointer { bb in
            architecture.couplings.map { c in c.net.map { $0.norm?.runningStatistics(buffers: bb.baseAddress!) } }
        }
    }

    private func runNet(_ i: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>, stats: [[BatchNorm.Statistics?]],
                        winograd: Bool = false) {
        for j in architecture.couplings[i].net.indices {
            convForward(i, j, tape: tape, n: netCount(n), params: params, winograd: winograd)
            if let s = stats[i][j] { normForward(i, j, tape: tape, n: netCount(n), params: params, stats: s) }
        }
    }

    /// z = tape.input[0..<n*V] -> phi = tape.output; tape.logJ[b] = log|det dphi/dz|.
    /// Batch norms use their running statistics. Keeps what the pullback needs.
    ///
    /// With `forPullback` false, 3x3 convolutions of 2D lattices may use
    /// Winograd's algorithm (`WinogradConv`), which differs from the direct sum
    /// only by rounding: phi and logJ stay those of one and the same bijection,
    /// which is all a sampler needs; a pullback wants the direct sum it differentiates.
    public func forward(tape: FlowTape<T>, n: Int, forPullback: Bool = true) {
        if T.self == Float.self {
            return SpecialisedEntryPoints.forward(self as! Flow<Float>, tape as! FlowTape<Float>, n, forPullback)
        }
        forwardBody(tape: tape, n: n, forPullback: forPullback)
    }

    /// `forward` for any T (the public method dispatches Float to `SpecialisedEntryPoints`).
    func forwardBody(tape: FlowTape<T>, n: Int, forPullback: Bool) {
        precondition(n <= tape.capacity)
        let stats = runningStatistics()
        parameters.withUnsafeBufferPointer { pb in
            let logJ0 = fourier?.logDet(pb.baseAddress!) ?? 0
            for b in 0..<n { tape.logJ[b] = logJ0 }
            fourier?.forward(pb.baseAddress!, tape.input, into: tape.inputs[0], n: n)
            for i in architecture.couplings.indices {
                // A stop request leaves the pass incomplete; the caller discards it.
                if StopRequest.isRequested { return }
                beginCoupling(i, tape: tape, n: n, from: tape.inputs[i])
                runNet(i, tape: tape, n: n, params: pb.baseAddress!, stats: stats, winograd: !forPullback)
                endCoupling(i, tape: tape, n: n)
                finishCoupling(i, tape: tape, n: n, params: pb.baseAddress!)
            }
        }
    }

    /// phi = tape.output[0..<n*V] -> z = tape.input; tape.logJ[b] = log|det dphi/dz|
    /// (of the forward map, so log q(phi) = log q0(z) - logJ as in `forward`).
    public func inverse(tape: FlowTape<T>, n: Int) {
        if T.self == Float.self { return SpecialisedEntryPoints.inverse(self as! Flow<Float>, tape as! FlowTape<Float>, n) }
        inverseBody(tape: tape, n: n)
    }

    /// `inverse` for any T.
    func inverseBody(tape: FlowTape<T>, n: Int) {
        precondition(n <= tape.capacity)
        for b in 0..<n { tape.logJ[b] = 0 }
        let stats = runningStatistics()
        parameters.withUnsafeBufferPointer { pb in
            for i in architecture.couplings.indices.reversed() {
                if StopRequest.isRequested { return }
                let y = couplingOutput(i, tape: tape), x = tape.inputs[i]
                unfinishCoupling(i, tape: tape, n: n, params: pb.baseAddress!)
                // Frozen sites are unchanged, so the net sees the same input as forward.
                beginCoupling(i, tape: tape, n: n, from: y)
                runNet(i, tape: tape, n: n, params: pb.baseAddress!, stats: stats)
                let theta = couplingTheta(i, tape: tape, n: n, combine: true)
                map.inverse(architecture.couplings[i], y: y, x: x, theta: theta, n: n, logJ: tape.logJ)
            }
            if let fourier {
                fourier.inverse(pb.baseAddress!, tape.inputs[0], into: tape.input, n: n)
                let logJ0 = fourier.logDet(pb.baseAddress!)
                for b in 0..<n { tape.logJ[b] += logJ0 }
            }
        }
    }

    // MARK: Pullback steps

    /// Gradient buffers alternate between net layers: the output gradient of
    /// layer j and its input gradient are in different buffers.
    func outputGradient(_ i: Int, _ j: Int, tape: FlowTape<T>) -> UnsafeMutablePointer<T> {
        (architecture.couplings[i].net.count - 1 - j) % 2 == 0 ? tape.gradA : tape.gradB
    }

    func inputGradient(_ i: Int, _ j: Int, tape: FlowTape<T>) -> UnsafeMutablePointer<T> {
        (architecture.couplings[i].net.count - 1 - j) % 2 == 0 ? tape.gradB : tape.gradA
    }

    /// Seeds dtheta of coupling i from dL/dy (in tape.gradField, turned into the
    /// active part of dL/dx) and dL/dlogJ.
    func seedCoupling(_ i: Int, tape: FlowTape<T>, n: Int, dLogJ: UnsafePointer<T>) {
        let theta = couplingTheta(i, tape: tape, n: n, combine: false)
        let dOut = outputGradient(i, architecture.couplings[i].net.count - 1, tape: tape)
        map.pullback(architecture.couplings[i], x: tape.inputs[i], theta: theta, cache: tape.couplingCache[i],
                     g: tape.gradField, dLogJ: dLogJ, dTheta: dOut, n: n)
        splitSymmetric(dOut, n: n)
    }

    /// Through the symmetrisation of a Z2-equivariant coupling: each half of
    /// the net gets half of dtheta, the -x half with the sign of its parity
    /// (for the affine map +ds/2 and -dt/2).
    func splitSymmetric(_ dOut: UnsafeMutablePointer<T>, n: Int) {
        guard z2 else { return }
        let P = parities.count, half = P * n * lattice.volume
        for k in Swift.stride(from: 0, to: half, by: P) {
            for c in 0..<P {
                let d = dOut[k + c] / 2
                dOut[k + c] = d
                dOut[half + k + c] = parities[c] ? -d : d
            }
        }
    }

    /// First half of a batch norm's pullback: into tape.normGrad, sums into `sums`.
    func normPullbackMoments(_ i: Int, _ j: Int, tape: FlowTape<T>, n: Int, stats: BatchNorm.Statistics,
                             sums: UnsafeMutablePointer<Double>) {
        let norm = architecture.couplings[i].net[j].norm!
        norm.pullbackMoments(output: tape.outputs[i][j], outputGradient(i, j, tape: tape), preNorm: tape.preNorm[i][j],
                             into: tape.normGrad, sites: n * lattice.volume, stats: stats, sums: sums)
    }

    func normInputGradient(_ i: Int, _ j: Int, tape: FlowTape<T>, n: Int, stats: BatchNorm.Statistics,
                           sums: UnsafePointer<Double>, params: UnsafePointer<T>) {
        let norm = architecture.couplings[i].net[j].norm!
        norm.inputGradient(tape.normGrad, preNorm: tape.preNorm[i][j], sites: n * lattice.volume, stats: stats,
                           sums: sums, params: params)
    }

    /// Pullback through the convolution of net layer j; its input gradient is
    /// computed only when `wantInput`.
    func convPullback(_ i: Int, _ j: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>,
                      grads: UnsafeMutablePointer<T>?, wantInput: Bool) {
        let layer = architecture.couplings[i].net[j]
        let dIn = inputGradient(i, j, tape: tape)
        let n = netCount(n)
        if wantInput { dIn.initialize(repeating: 0, count: n * lattice.volume * layer.cin) }
        let hasNorm = layer.norm != nil
        let dy = hasNorm ? UnsafePointer(tape.normGrad) : UnsafePointer(outputGradient(i, j, tape: tape))
        let y = hasNorm ? UnsafePointer(tape.preNorm[i][j]) : UnsafePointer(tape.outputs[i][j])
        architecture.couplings[i].activeSites.withUnsafeBufferPointer { active in
            layer.conv.pullback(layerInput(i, j, tape: tape), output: y, branches: tape.branches[i][j], dy,
                                dx: wantInput ? dIn : nil, n: n, params: params, grads: grads,
                                scratch: tape.scratch, weightScratch: tape.weightScratch,
                                subset: onlyActive(i, j) ? active : nil)
        }
    }

    /// The net saw m x: its input gradient reaches the frozen sites only.
    func endCouplingPullback(_ i: Int, tape: FlowTape<T>, n: Int) {
        let V = lattice.volume
        let frozen = architecture.couplings[i].frozen
        let dNet = inputGradient(i, 0, tape: tape)
        let g = tape.gradField
        for b in 0..<n {
            for v in 0..<V where frozen[v] { g[b * V + v] += dNet[b * V + v] }
        }
        if z2 {
            // The second half of the net saw -m x.
            for b in 0..<n {
                for v in 0..<V where frozen[v] { g[b * V + v] -= dNet[(n + b) * V + v] }
            }
        }
    }

    /// Pullback of (phi, logJ) = forward(z): given dL/dphi in `dPhi` ([n][V]) and
    /// dL/dlogJ per configuration, accumulates dL/dparameters into `grads`.
    /// If `dZ` is given, dL/dz is written there. Requires a prior `forward` on
    /// `tape`; batch norms count as the fixed affine maps of their running statistics.
    public func pullback(tape: FlowTape<T>, n: Int, dPhi: UnsafePointer<T>, dLogJ: UnsafePointer<T>,
                         grads: UnsafeMutablePointer<T>, dZ: UnsafeMutablePointer<T>? = nil) {
        if T.self == Float.self {
            return SpecialisedEntryPoints.pullback(self as! Flow<Float>, tape as! FlowTape<Float>, n, .cast(dPhi), .cast(dLogJ),
                                                   .cast(grads), dZ.map { .cast($0) })
        }
        pullbackBody(tape: tape, n: n, dPhi: dPhi, dLogJ: dLogJ, grads: grads, dZ: dZ)
    }

    /// `pullback` for any T.
    func pullbackBody(tape: FlowTape<T>, n: Int, dPhi: UnsafePointer<T>, dLogJ: UnsafePointer<T>,
                      grads: UnsafeMutablePointer<T>, dZ: UnsafeMutablePointer<T>?) {
        tape.gradField.update(from: dPhi, count: n * lattice.volume)
        let stats = runningStatistics()
        var sums = [Double](repeating: 0, count: architecture.usesBatchNorm ? 2 * architecture.maxChannels : 0)
        parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in architecture.couplings.indices.reversed() {
                if StopRequest.isRequested { return }
                if !siteMaps.isEmpty {
                    siteMaps[i].pullback(params, x: tape.afterCoupling[i], g: tape.gradField, dLogJ: dLogJ, n: n,
                                         V: lattice.volume, grads: grads)
                }
                if !shears.isEmpty {
                    // The shear read the frozen sites, which the coupling left as they were in its input.
                    shears[i].pullback(params, x: tape.inputs[i], g: tape.gradField, n: n, frozen: architecture.couplings[i].frozen,
                                       grads: grads)
                }
                seedCoupling(i, tape: tape, n: n, dLogJ: dLogJ)
                // The first coupling's net input gradient is only needed for dL/dz
                // (or for the Fourier layer before it).
                let needInput = i > 0 || dZ != nil || fourier != nil
                for j in architecture.couplings[i].net.indices.reversed() {
                    if let s = stats[i][j] {
                        for k in sums.indices { sums[k] = 0 }
                        normPullbackMoments(i, j, tape: tape, n: n, stats: s, sums: &sums)
                        architecture.couplings[i].net[j].norm!.parameterGradient(sums: sums, grads: grads)
                        normInputGradient(i, j, tape: tape, n: n, stats: s, sums: sums, params: params)
                    }
                    convPullback(i, j, tape: tape, n: n, params: params, grads: grads, wantInput: j > 0 || needInput)
                }
                if needInput { endCouplingPullback(i, tape: tape, n: n) }
            }
            if let fourier {
                fourier.pullback(params, z: tape.input, dU: tape.gradField, dLogJ: dLogJ, n: n, grads: grads, dZ: dZ)
            }
        }
        if let dZ, fourier == nil { dZ.update(from: tape.gradField, count: n * lattice.volume) }
    }

    // MARK: Density gradient

    /// d log q(phi) / d phi for the n configurations of the last `forward` on
    /// `tape`, with `dLogQ0` = d log q0 / dz at its input z; written to `out`.
    /// It must be that pass's tape: an `inverse` on it in between rewrites what
    /// the shears and site maps read (their inputs, `afterCoupling`).
    ///
    /// log q(phi) = log q0(T^-1(phi)) + log|det dT^-1/dphi|: this is the
    /// pullback of the inverse flow with respect to its input, coupling 0
    /// first. It needs no inverse pass: each coupling's net sees the same
    /// frozen sites forward and backward, so the forward tape holds what the
    /// inverse would compute (the tape of a `forward(forPullback: true)`: the
    /// direct convolutions). No parameter gradient is taken. The path-gradient
    /// estimator of the reverse KL uses it.
    public func densityGradient(tape: FlowTape<T>, n: Int, dLogQ0: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return SpecialisedEntryPoints.densityGradient(self as! Flow<Float>, tape as! FlowTape<Float>, n, .cast(dLogQ0), .cast(out))
        }
        densityGradientBody(tape: tape, n: n, dLogQ0: dLogQ0, into: out)
    }

    /// `densityGradient` for any T.
    func densityGradientBody(tape: FlowTape<T>, n: Int, dLogQ0: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        precondition(!architecture.usesBatchNorm, "the density gradient is for flows without batch norms")
        precondition(n <= tape.capacity)
        let V = lattice.volume
        let g = tape.gradField
        g.update(from: dLogQ0, count: n * V)
        parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            // Through z = F^-1[e^-mu F u] first: the cotangent on u.
            fourier?.inverseCotangent(params, g, n: n)
            for i in architecture.couplings.indices {
                if StopRequest.isRequested { return }
                // Inverse coupling i: x = f^-1(y) on active sites, x = y on frozen
                // ones, log|det| = -sum log f'; the cotangent on x (in g) becomes that on y.
                let net = architecture.couplings[i].net
                let theta = couplingTheta(i, tape: tape, n: n, combine: false)
                let dOut = outputGradient(i, net.count - 1, tape: tape)
                map.inverseCotangent(architecture.couplings[i], x: tape.inputs[i], theta: theta, cache: tape.couplingCache[i],
                                     g: g, dTheta: dOut, n: n)
                splitSymmetric(dOut, n: n)
                for j in net.indices.reversed() {
                    convPullback(i, j, tape: tape, n: n, params: params, grads: nil, wantInput: true)
                }
                endCouplingPullback(i, tape: tape, n: n)
                if !shears.isEmpty {
                    shears[i].inverseCotangent(params, y: tape.inputs[i], g: g, n: n, frozen: architecture.couplings[i].frozen)
                }
                if !siteMaps.isEmpty {
                    siteMaps[i].inverseCotangent(params, x: tape.afterCoupling[i], g: g, n: n, V: V)
                }
            }
        }
        out.update(from: g, count: n * V)
    }
}

import Numerics

/// A stack of affine coupling layers (real NVP with checkerboard masks) and its
/// parameters. Each coupling maps x to
///
///   y = m x + (1 - m) (x exp(s) + t),   (s, t) = net(m x),   log|det| = sum (1-m) s,
///
/// where m is 1 on frozen sites. All passes work on a chunk of n configurations
/// held in a `FlowTape`.
public final class Flow<T: Real & BinaryFloatingPoint & SIMDScalar> {
    public let architecture: FlowArchitecture
    public var parameters: [T]

    public init(architecture: FlowArchitecture, parameters: [T]? = nil) {
        precondition(parameters == nil || parameters!.count == architecture.parameterCount)
        self.architecture = architecture
        self.parameters = parameters ?? architecture.initialParameters()
    }

    public convenience init(spec: ModelSpec) {
        self.init(architecture: FlowArchitecture(spec: spec))
    }

    public var lattice: Lattice { architecture.lattice }

    /// Runs the net of coupling `i` on its masked input; returns the (s, t) buffer.
    private func runNet(_ i: Int, tape: FlowTape<T>, n: Int, params: UnsafePointer<T>) -> UnsafeMutablePointer<T> {
        let net = architecture.couplings[i].net
        var x = UnsafePointer(tape.netInput[i])
        for j in net.indices {
            net[j].forward(x, tape.outputs[i][j], branches: tape.branches[i][j], n: n, params: params)
            x = UnsafePointer(tape.outputs[i][j])
        }
        return tape.outputs[i][net.count - 1]
    }

    private func mask(_ x: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, coupling i: Int, n: Int) {
        let V = lattice.volume
        let frozen = architecture.couplings[i].frozen
        for b in 0..<n {
            for v in 0..<V { out[b * V + v] = frozen[v] ? x[b * V + v] : 0 }
        }
    }

    /// z = tape.input[0..<n*V] -> phi = tape.output; tape.logJ[b] = log|det dphi/dz|.
    /// Keeps everything the pullback needs.
    public func forward(tape: FlowTape<T>, n: Int) {
        precondition(n <= tape.capacity)
        let V = lattice.volume
        for b in 0..<n { tape.logJ[b] = 0 }
        parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in architecture.couplings.indices {
                let x = tape.inputs[i], y = tape.inputs[i + 1]
                mask(x, into: tape.netInput[i], coupling: i, n: n)
                let st = runNet(i, tape: tape, n: n, params: params)
                let frozen = architecture.couplings[i].frozen
                for b in 0..<n {
                    var logJ: T = 0
                    for v in 0..<V {
                        let k = b * V + v
                        if frozen[v] {
                            y[k] = x[k]
                        } else {
                            let s = st[2 * k], t = st[2 * k + 1]
                            y[k] = x[k] * T.exp(s) + t
                            logJ += s
                        }
                    }
                    tape.logJ[b] += logJ
                }
            }
        }
    }

    /// phi = tape.output[0..<n*V] -> z = tape.input; tape.logJ[b] = log|det dphi/dz|
    /// (of the forward map, so log q(phi) = log q0(z) - logJ as in `forward`).
    public func inverse(tape: FlowTape<T>, n: Int) {
        precondition(n <= tape.capacity)
        let V = lattice.volume
        for b in 0..<n { tape.logJ[b] = 0 }
        parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in architecture.couplings.indices.reversed() {
                let y = tape.inputs[i + 1], x = tape.inputs[i]
                // Frozen sites are unchanged, so the net sees the same input as forward.
                mask(y, into: tape.netInput[i], coupling: i, n: n)
                let st = runNet(i, tape: tape, n: n, params: params)
                let frozen = architecture.couplings[i].frozen
                for b in 0..<n {
                    var logJ: T = 0
                    for v in 0..<V {
                        let k = b * V + v
                        if frozen[v] {
                            x[k] = y[k]
                        } else {
                            let s = st[2 * k], t = st[2 * k + 1]
                            x[k] = (y[k] - t) * T.exp(-s)
                            logJ += s
                        }
                    }
                    tape.logJ[b] += logJ
                }
            }
        }
    }

    /// Pullback of (phi, logJ) = forward(z): given dL/dphi in `dPhi` ([n][V]) and
    /// dL/dlogJ per configuration, accumulates dL/dparameters into `grads`.
    /// If `dZ` is given, dL/dz is written there. Requires a prior `forward` on `tape`.
    public func pullback(tape: FlowTape<T>, n: Int, dPhi: UnsafePointer<T>, dLogJ: UnsafePointer<T>,
                         grads: UnsafeMutablePointer<T>, dZ: UnsafeMutablePointer<T>? = nil) {
        let V = lattice.volume
        let g = tape.gradField
        g.update(from: dPhi, count: n * V)
        parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in architecture.couplings.indices.reversed() {
                let x = tape.inputs[i]
                let net = architecture.couplings[i].net
                let frozen = architecture.couplings[i].frozen
                let st = tape.outputs[i][net.count - 1]
                // Seed: d(s,t) from y = x exp(s) + t on active sites and from logJ.
                var dOut = tape.gradA
                for b in 0..<n {
                    for v in 0..<V {
                        let k = b * V + v
                        if frozen[v] {
                            dOut[2 * k] = 0
                            dOut[2 * k + 1] = 0
                        } else {
                            let es = T.exp(st[2 * k])
                            dOut[2 * k] = g[k] * x[k] * es + dLogJ[b]
                            dOut[2 * k + 1] = g[k]
                            g[k] *= es
                        }
                    }
                }
                // The first coupling's net input gradient is only needed for dL/dz.
                let needInput = i > 0 || dZ != nil
                var dIn = tape.gradB
                for j in net.indices.reversed() {
                    let layer = net[j]
                    let input = j == 0 ? UnsafePointer(tape.netInput[i]) : UnsafePointer(tape.outputs[i][j - 1])
                    let wantDx = j > 0 || needInput
                    if wantDx { dIn.initialize(repeating: 0, count: n * V * layer.cin) }
                    layer.pullback(input, output: tape.outputs[i][j], branches: tape.branches[i][j],
                                   dOut, dx: wantDx ? dIn : nil, n: n, params: params, grads: grads,
                                   scratch: tape.scratch, weightScratch: tape.weightScratch)
                    swap(&dOut, &dIn)
                }
                // The net saw m x: its input gradient reaches the frozen sites only.
                if needInput {
                    for b in 0..<n {
                        for v in 0..<V where frozen[v] { g[b * V + v] += dOut[b * V + v] }
                    }
                }
            }
        }
        if let dZ { dZ.update(from: g, count: n * V) }
    }
}

import Numerics

/// The training pass of a flow with batch norms. Each norm needs statistics
/// over the whole batch, so the pass goes layer by layer: every chunk runs a
/// step in parallel, then the per-chunk sums are reduced in chunk order (which
/// keeps results independent of the thread count) before the next step.
extension BatchRunner {
    func forwardSynchronized(z: UnsafePointer<T>, updateRunning: Bool) {
        let V = flow.lattice.volume
        let arch = flow.architecture
        parallelFor(chunkCount, threads: threads) { c in
            let r = self.range(c)
            self.tapes[c].input.update(from: z + r.lowerBound * V, count: r.count * V)
            for k in 0..<r.count { self.tapes[c].logJ[k] = 0 }
        }
        flow.parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in arch.couplings.indices {
                // A stop request leaves the pass incomplete; the caller discards it.
                if StopRequest.isRequested { return }
                parallelFor(chunkCount, threads: threads) { c in
                    self.flow.beginCoupling(i, tape: self.tapes[c], n: self.range(c).count, from: self.tapes[c].inputs[i])
                }
                for j in arch.couplings[i].net.indices {
                    let norm = arch.couplings[i].net[j].norm
                    parallelFor(chunkCount, threads: threads) { c in
                        let n = self.range(c).count
                        self.flow.convForward(i, j, tape: self.tapes[c], n: n, params: params)
                        if let norm {
                            let m = self.chunkMoments[c]
                            m.initialize(repeating: 0, count: 2 * norm.channels)
                            norm.accumulateMoments(self.tapes[c].preNorm[i][j], sites: n * V, into: m)
                        }
                    }
                    guard let norm else { continue }
                    let stats = norm.statistics(moments: reduceMoments(2 * norm.channels), count: batchSize * V)
                    batchStatistics[i][j] = stats
                    if updateRunning {
                        flow.buffers.withUnsafeMutableBufferPointer { norm.updateRunning(stats, buffers: $0.baseAddress!) }
                    }
                    parallelFor(chunkCount, threads: threads) { c in
                        self.flow.normForward(i, j, tape: self.tapes[c], n: self.range(c).count, params: params, stats: stats)
                    }
                }
                parallelFor(chunkCount, threads: threads) { c in
                    self.flow.endCoupling(i, tape: self.tapes[c], n: self.range(c).count)
                }
            }
        }
    }

    /// Pullback of the loss through the pass of `forwardSynchronized`, including
    /// the dependence of every configuration on the batch statistics.
    func backwardSynchronized() {
        let V = flow.lattice.volume
        let arch = flow.architecture
        let inv = 1 / Double(batchSize)
        parallelFor(chunkCount, threads: threads) { c in
            let tape = self.tapes[c]
            let n = self.range(c).count
            for k in 0..<n {
                self.target.force(UnsafePointer(tape.output + k * V), into: tape.gradField + k * V, scale: inv)
                self.seedLogJ[c][k] = T(-inv)
            }
            self.chunkGrads[c].initialize(repeating: 0, count: arch.parameterCount)
        }
        flow.parameters.withUnsafeBufferPointer { pb in
            let params = pb.baseAddress!
            for i in arch.couplings.indices.reversed() {
                parallelFor(chunkCount, threads: threads) { c in
                    self.flow.seedCoupling(i, tape: self.tapes[c], n: self.range(c).count, dLogJ: self.seedLogJ[c])
                }
                for j in arch.couplings[i].net.indices.reversed() {
                    if let norm = arch.couplings[i].net[j].norm, let stats = batchStatistics[i][j] {
                        parallelFor(chunkCount, threads: threads) { c in
                            let m = self.chunkMoments[c]
                            m.initialize(repeating: 0, count: 2 * norm.channels)
                            self.flow.normPullbackMoments(i, j, tape: self.tapes[c], n: self.range(c).count, stats: stats, sums: m)
                        }
                        let sums = reduceMoments(2 * norm.channels)
                        norm.parameterGradient(sums: sums, grads: chunkGrads[0])
                        parallelFor(chunkCount, threads: threads) { c in
                            self.flow.normInputGradient(i, j, tape: self.tapes[c], n: self.range(c).count, stats: stats,
                                                        sums: sums, params: params)
                        }
                    }
                    let wantInput = j > 0 || i > 0
                    parallelFor(chunkCount, threads: threads) { c in
                        self.flow.convPullback(i, j, tape: self.tapes[c], n: self.range(c).count, params: params,
                                               grads: self.chunkGrads[c], wantInput: wantInput)
                    }
                }
                if i > 0 {
                    parallelFor(chunkCount, threads: threads) { c in
                        self.flow.endCouplingPullback(i, tape: self.tapes[c], n: self.range(c).count)
                    }
                }
            }
        }
    }

    /// Sums the per-chunk moment buffers in chunk order into `momentTotal`.
    private func reduceMoments(_ count: Int) -> UnsafeMutablePointer<Double> {
        momentTotal.initialize(repeating: 0, count: count)
        for c in 0..<chunkCount {
            for k in 0..<count { momentTotal[k] += chunkMoments[c][k] }
        }
        return momentTotal
    }
}

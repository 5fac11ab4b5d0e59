import Foundation

/// Adam (Kingma and Ba) with PyTorch's defaults and bias correction:
///   m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
///   p <- p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
/// Moments are kept in Float32 like the parameters; the step count is exact.
public struct Adam: Sendable {
    public var lr: Double
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public private(set) var step = 0
    public var m: [Float]
    public var v: [Float]

    public init(parameterCount: Int, lr: Double) {
        self.lr = lr
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores a saved state.
    public init(lr: Double, step: Int, m: [Float], v: [Float]) {
        self.lr = lr
        self.step = step
        self.m = m
        self.v = v
    }

    public mutating func update(_ params: inout [Float], gradient g: [Float]) {
        precondition(params.count == g.count && g.count == m.count)
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2)
        let c1 = Float(1 - Foundation.pow(beta1, Double(step)))
        let c2 = Float(1 - Foundation.pow(beta2, Double(step)))
        let lr = Float(self.lr), eps = Float(self.eps)
        let n = g.count
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        let gi = g[i]
                        m[i] = b1 * m[i] + (1 - b1) * gi
                        v[i] = b2 * v[i] + (1 - b2) * gi * gi
                        let mh = m[i] / c1
                        let vh = v[i] / c2
                        p[i] -= lr * mh / (vh.squareRoot() + eps)
                    }
                }
            }
        }
    }
}

import Numerics

/// Pointwise nonlinearity of a net layer. Both derivatives are written in terms
/// of the output y, so the pullback needs only what the forward pass kept.
public enum Activation: String, Sendable, Codable {
    /// Flux's and PyTorch's default slope 0.01.
    case leakyReLU
    /// tanh: the last net layer's with use_final_tanh.
    case tanh
    /// No nonlinearity: a convolution followed by a batch norm, which applies the activation.
    case identity

    /// Slope of leaky ReLU for negative inputs.
    public static let leakySlope = 0.01

    /// Applies the nonlinearity in place to `count` values (vectorised tanh for Float32).
    public func apply<T: Real & BinaryFloatingPoint>(_ y: UnsafeMutablePointer<T>, count: Int) {
        switch self {
        case .leakyReLU:
            // The formula the convolution kernel applies as it stores (one
            // definition, so fused and separate passes agree bit for bit).
            for i in 0..<count { y[i] = LeakyReLUEpilogue.apply(y[i]) }
        case .tanh:
            if T.self == Float.self {
                VectorMath.applyTanh(UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: count)
            } else {
                for i in 0..<count { y[i] = T.tanh(y[i]) }
            }
        case .identity:
            break
        }
    }

    /// dpre[i] = scale * dy[i] * f'(pre[i]) with f' taken from the output y.
    public func pullback<T: Real & BinaryFloatingPoint>(
        output y: UnsafePointer<T>, _ dy: UnsafePointer<T>, into dpre: UnsafeMutablePointer<T>,
        count: Int, scale: T
    ) {
        switch self {
        case .leakyReLU:
            let a = T(Activation.leakySlope) * scale
            for i in 0..<count { dpre[i] = dy[i] * (y[i] > 0 ? scale : a) }
        case .tanh:
            for i in 0..<count { dpre[i] = scale * dy[i] * (1 - y[i] * y[i]) }
        case .identity:
            for i in 0..<count { dpre[i] = scale * dy[i] }
        }
    }
}

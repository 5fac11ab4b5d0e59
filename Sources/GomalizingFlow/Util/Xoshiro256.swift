import Foundation

/// xoshiro256** (Blackman and Vigna): a small, fast generator whose whole state
/// is four words, so it can be written into a checkpoint and restored exactly.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    /// The four state words.
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the four words with SplitMix64, as the authors recommend.
    public init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var r = z
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// Restores a generator from its four state words (`stateWords`).
    public init(state: [UInt64]) {
        precondition(state.count == 4)
        self.state = (state[0], state[1], state[2], state[3])
    }

    /// The state as an array, for saving.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal deviate by the Box-Muller transform; both outputs of a
    /// pair are used, so `fillNormal` consumes exactly ceil(n/2) pairs.
    public mutating func fillNormal<T: BinaryFloatingPoint>(_ out: UnsafeMutablePointer<T>, count n: Int) {
        var i = 0
        while i < n {
            let u1 = 1.0 - uniform() // (0, 1]: log stays finite
            let u2 = uniform()
            let r = (-2.0 * Foundation.log(u1)).squareRoot()
            let a = 2.0 * Double.pi * u2
            out[i] = T(r * Foundation.cos(a))
            if i + 1 < n { out[i + 1] = T(r * Foundation.sin(a)) }
            i += 2
        }
    }

    /// Equal when the states are.
    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.stateWords == b.stateWords }
}

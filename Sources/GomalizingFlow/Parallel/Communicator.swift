/// The collective operations data-parallel training and sampling need. One
/// process is `SerialCommunicator`; a build with the MPI trait adds
/// `MPICommunicator` over MPI_COMM_WORLD.
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// In place: every rank ends with the elementwise sum over ranks.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// In place: every rank ends with the elementwise Float64 sum over ranks.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// In place: every rank ends with the elementwise maximum over ranks.
    func allreduceMax(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// Root receives every rank's `count` values in rank order (size * count);
    /// `receive` is used on the root only.
    func gather(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>?, root: Int)
    /// Root receives every rank's `count` Float64 values in rank order (size * count);
    /// `receive` is used on the root only.
    func gather(_ send: UnsafePointer<Double>, count: Int, into receive: UnsafeMutablePointer<Double>?, root: Int)
}

extension Communicator {
    /// Whether this is rank 0, the rank that writes files and runs the chain.
    public var isRoot: Bool { rank == 0 }

    /// In place: `values` becomes the elementwise sum over ranks.
    public func allreduceSum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { allreduceSum($0.baseAddress!, count: $0.count) }
    }

    /// Whether `values` (e.g. the parameters) are bit for bit the same on every rank,
    /// compared through an FNV-1a hash of their bit patterns.
    public func agree<T: BinaryFloatingPoint>(on values: [T]) -> Bool {
        guard size > 1 else { return true }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            h = (h ^ UInt64(truncatingIfNeeded: v.significandBitPattern)) &* 0x1_0000_0000_01B3
            h = (h ^ UInt64(truncatingIfNeeded: v.exponentBitPattern)) &* 0x1_0000_0000_01B3
            h = (h ^ (v.sign == .minus ? 1 : 0)) &* 0x1_0000_0000_01B3
        }
        // 52 bits of the hash are exact in a Double; max(h) == -max(-h) iff all agree.
        let x = Double(h >> 12)
        var m = [x, -x]
        m.withUnsafeMutableBufferPointer { allreduceMax($0.baseAddress!, count: 2) }
        return m[0] == -m[1]
    }
}

/// A single process: rank 0 of 1.
public final class SerialCommunicator: Communicator {
    /// The communicator of a process that runs alone.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Nothing to do: the sum over one rank is the buffer itself.
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    /// Nothing to do: the sum over one rank is the buffer itself.
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    /// Nothing to do: the maximum over one rank is the buffer itself.
    public func allreduceMax(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    /// Copies the `count` values of `send` into `receive`.
    public func gather(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>?, root: Int) {
        receive?.update(from: send, count: count)
    }
    /// Copies the `count` values of `send` into `receive`.
    public func gather(_ send: UnsafePointer<Double>, count: Int, into receive: UnsafeMutablePointer<Double>?, root: Int) {
        receive?.update(from: send, count: count)
    }
}

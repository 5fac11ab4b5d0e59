#if MPI
import CMPI

/// MPI_COMM_WORLD through the C shim. Collectives check their return code:
/// with MPI's default error handler a failure aborts all ranks before that.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int

    /// Initialises MPI (once per process; also without mpirun, as one rank).
    public init() {
        gf_mpi_init()
        rank = Int(gf_mpi_rank())
        size = Int(gf_mpi_size())
    }

    public static func finalize() { gf_mpi_finalize() }

    /// Ends every rank: one rank's error would otherwise leave the others
    /// waiting in a collective forever.
    public static func abortAll(code: Int32) { gf_mpi_abort(code) }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_sum_float(buffer, Int32(count))
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_sum_double(buffer, Int32(count))
    }

    public func allreduceMax(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_max_double(buffer, Int32(count))
    }

    public func gather(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>?, root: Int) {
        gf_gather_float(send, Int32(count), receive, Int32(root))
    }

    public func gather(_ send: UnsafePointer<Double>, count: Int, into receive: UnsafeMutablePointer<Double>?, root: Int) {
        gf_gather_double(send, Int32(count), receive, Int32(root))
    }
}
#endif

/// The communicator of this process: MPI_COMM_WORLD in a build with the MPI
/// trait, else a single rank.
public func worldCommunicator() -> Communicator {
    #if MPI
    return MPICommunicator()
    #else
    return SerialCommunicator()
    #endif
}

/// Ends MPI at the close of a successful run (a no-op without the MPI trait).
/// After an error the process just exits non-zero, and mpirun ends the others.
public func finalizeWorld() {
    #if MPI
    MPICommunicator.finalize()
    #endif
}

/// Whether this build was made with the MPI trait.
public var builtWithMPI: Bool {
    #if MPI
    return true
    #else
    return false
    #endif
}

#if MPI
import CMPI

/// MPI_COMM_WORLD through the C shim. Collectives check their return code:
/// with MPI's default error handler a failure aborts all ranks before that.
public final class MPICommunicator: Communicator {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// Number of ranks in MPI_COMM_WORLD.
    public let size: Int

    /// Initialises MPI (once per process; also without mpirun, as one rank).
    public init() {
        gf_mpi_init()
        rank = Int(gf_mpi_rank())
        size = Int(gf_mpi_size())
    }

    /// Finalises MPI, at the close of a successful run.
    public static func finalize() { gf_mpi_finalize() }

    /// Ends every rank: one rank's error would otherwise leave the others
    /// waiting in a collective forever.
    public static func abortAll(code: Int32) { gf_mpi_abort(code) }

    /// In place: the elementwise Float32 sum over ranks (nothing to do with one rank).
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_sum_float(buffer, Int32(count))
    }

    /// In place: the elementwise Float64 sum over ranks (nothing to do with one rank).
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_sum_double(buffer, Int32(count))
    }

    /// In place: the elementwise Float64 maximum over ranks (nothing to do with one rank).
    public func allreduceMax(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard size > 1 else { return }
        gf_allreduce_max_double(buffer, Int32(count))
    }

    /// Root receives every rank's `count` Float32 values in rank order; `receive` is used on the root only.
    public func gather(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>?, root: Int) {
        gf_gather_float(send, Int32(count), receive, Int32(root))
    }

    /// Root receives every rank's `count` Float64 values in rank order; `receive` is used on the root only.
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

import Atomics

/// A process-wide request to stop long work early, e.g. from a signal
/// handler (SIGINT, SIGTERM): the flow's passes, the batch runner, the
/// trainer's evaluation, the sampler and HMC poll it between layers, chunks
/// and leapfrog steps, so that a command stops within about a second even
/// with a large batch or a long trajectory.
///
/// Work cut short by a request leaves its outputs incomplete: a caller that
/// polls `isRequested` after a pass must discard that pass's results (the
/// trainer does not apply the step, the sampler reports no more steps).
/// Nothing sets it but `request(_:)`; a library user who never calls it is unaffected.
public enum StopRequest {
    /// Created before any signal handler can run (`prepare()`): a lock-free
    /// atomic, so setting it is safe inside a signal handler.
    private static let flag = UnsafeAtomic<Int32>.create(0)

    /// Touches the flag once, so that its lazy initialisation never happens inside a signal handler.
    public static func prepare() { _ = flag.load(ordering: .relaxed) }

    /// The code of the first request (the CLI: a signal's number), 0 while none has been made.
    public static var code: Int32 { flag.load(ordering: .relaxed) }

    /// Whether a stop has been requested.
    public static var isRequested: Bool { code != 0 }

    /// Records a request with a non-zero `code`; the first request's code is kept.
    /// Async-signal-safe once `prepare()` has run.
    public static func request(_ code: Int32) {
        _ = flag.compareExchange(expected: 0, desired: code == 0 ? 1 : code, ordering: .relaxed)
    }

    /// Clears the request (tests, and a library user that handles one and goes on).
    public static func reset() { flag.store(0, ordering: .relaxed) }
}

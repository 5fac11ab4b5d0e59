import Foundation
import GomalizingFlow
import GomalizingRun

/// SIGINT (Ctrl-C), SIGTERM (what Slurm, PBS and `timeout` send before
/// SIGKILL) and SIGUSR1 (a scheduler's early warning, e.g. Slurm's
/// `--signal=USR1@300`) all ask a command to stop cleanly: training saves the
/// progress inside the epoch, sampling drops its unfinished files. The
/// library's long loops poll `StopRequest`, which the handler sets, so the stop
/// comes within about a second even inside a large batch or a long trajectory.
///
/// A second stop signal at least `hardStopDelay` seconds after the first ends
/// the process at once (exit status 128 + the first signal's number): every
/// file is written atomically, so what is on disk stays whole. Copies of one
/// signal that arrive together (a terminal's Ctrl-C reaches a sweep and its
/// children, and the sweep forwards it too) do not count as a second.
enum StopSignal {
    /// The number of the first stop signal received, 0 while none has been.
    nonisolated(unsafe) static var received: sig_atomic_t = 0
    /// When the first one came (CLOCK_MONOTONIC, seconds).
    nonisolated(unsafe) static var firstAt: Double = 0
    /// The line a hard stop prints, allocated before any signal can come.
    nonisolated(unsafe) static var hardStopLine: UnsafeMutablePointer<CChar>? = nil
    /// Seconds after the first signal from which a second ends the process at once.
    static let hardStopDelay = 0.5

    static var requested: Bool { received != 0 }

    /// Routes the stop signals to `received` and `StopRequest` instead of ending the process.
    static func install() {
        // Everything the handler touches is initialised here, not inside it.
        StopRequest.prepare()
        received = 0
        firstAt = 0
        if hardStopLine == nil {
            hardStopLine = strdup("stopped at once by a second signal; files on disk are whole, "
                + "the last checkpoint stands (gomalizing writes every file atomically)\n")
        }
        for s in [SIGINT, SIGTERM, SIGUSR1] {
            signal(s) { n in
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                let t = Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
                if StopSignal.received == 0 {
                    StopSignal.firstAt = t
                    StopSignal.received = n
                    StopRequest.request(n)
                } else if t - StopSignal.firstAt >= StopSignal.hardStopDelay {
                    if let line = StopSignal.hardStopLine { _ = write(STDERR_FILENO, line, strlen(line)) }
                    _exit(StopSignal.exitStatus(StopSignal.received))
                }
            }
        }
    }

    /// 128 + the signal's number, the shell's convention.
    static func exitStatus(_ signal: Int32) -> Int32 { 128 + (signal == 0 ? SIGINT : signal) }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        default: return "SIGINT"
        }
    }

    /// Thrown by a command that stopped on a signal; `what` says what was kept.
    struct Stopped: Error {
        let what: String
    }
}

import Foundation

/// SIGINT (Ctrl-C), SIGTERM (what Slurm, PBS and `timeout` send before
/// SIGKILL) and SIGUSR1 (a scheduler's early warning, e.g. Slurm's
/// `--signal=USR1@300`) all ask a command to stop cleanly: training saves the
/// progress inside the epoch, sampling drops its unfinished files.
enum StopSignal {
    /// The number of the first stop signal received, 0 while none has been.
    nonisolated(unsafe) static var received: sig_atomic_t = 0

    static var requested: Bool { received != 0 }

    /// Routes the stop signals to `received` instead of ending the process.
    static func install() {
        for s in [SIGINT, SIGTERM, SIGUSR1] {
            signal(s) { n in if StopSignal.received == 0 { StopSignal.received = n } }
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

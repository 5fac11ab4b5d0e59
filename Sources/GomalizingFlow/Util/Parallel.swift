import Dispatch
import Foundation

/// Number of worker threads to use when none is configured: the online cores.
public func defaultThreadCount() -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Runs `body(item)` for item in 0..<count on `threads` workers. Items are
/// dealt round-robin, and each item must write only its own outputs, so the
/// result does not depend on the thread count or on scheduling.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = min(max(threads, 1), count)
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < count {
                body(i)
                i += workers
            }
        }
    }
}

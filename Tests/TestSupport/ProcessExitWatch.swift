import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reaps a child process on a thread of its own and keeps the instant it exited: a test's cooperative pool may be
/// busy with other tests, and a poll there would time the test process instead of the child.
public final class ProcessExitWatch: Sendable {
    public struct Exit: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        public var at: ContinuousClock.Instant
    }

    private let exit = Mutex<Exit?>(nil)

    /// Starts waiting for `pid` (a child of this process) now.
    public init(pid: pid_t) {
        let thread = Thread { [self] in
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, 0) } while result == -1 && errno == EINTR
            let ended = Exit(
                status: result == pid ? ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)) : -1,
                at: .now
            )
            self.exit.withLock { $0 = ended }
        }
        thread.name = "exit-watch-\(pid)"
        thread.start()
    }

    /// The exit once it happened, waiting up to `deadline` (late is harmless: the instant was taken on the thread).
    public func wait(until deadline: ContinuousClock.Instant) async -> Exit? {
        while ContinuousClock.now < deadline {
            if let ended = exit.withLock({ $0 }) { return ended }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return exit.withLock { $0 }
    }
}

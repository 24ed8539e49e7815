#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Synchronization

/// When a server's event loops wait between turns so that one turn reads what many connections sent.
///
/// Ten thousand agents reporting once a second wake an idle event loop ten thousand times a second, one report per
/// wake-up; on Linux a quarter of the loop's CPU then goes to going to sleep in `epoll_wait` and being woken. A
/// loop that pauses for `window` between turns wakes a few hundred times a second instead and reads everything
/// that arrived meanwhile in one turn; what it reads is up to `window` late, which a report or a request does not
/// notice. Below `minimumConnectionsPerLoop` the loops run as NIO runs them, and so they do while connections are
/// arriving: a handshake takes several turns, and agents redialling a restarted manager must not wait a window at
/// each (10,000 took four times as long to connect to a group manager, and more when it shared its core).
public struct WakeupCoalescing: Hashable, Sendable {
    /// How long an engaged loop pauses between turns.
    public var window: Duration
    /// Connections served per event loop at which the loops start pausing (checked a few times a second).
    public var minimumConnectionsPerLoop: Int

    public init(window: Duration = .milliseconds(5), minimumConnectionsPerLoop: Int = 1_000) {
        precondition(window > .zero && window <= .milliseconds(100), "the window must be in (0, 100 ms]")
        precondition(minimumConnectionsPerLoop >= 1, "minimumConnectionsPerLoop must be at least 1")
        self.window = window
        self.minimumConnectionsPerLoop = minimumConnectionsPerLoop
    }
}

/// Runs `WakeupCoalescing` on every loop of a group: each loop checks the load on its own turn and, while it is
/// high enough, pauses there for the window. The pause blocks the loop's thread on purpose: it holds up only that
/// loop's own channels and tasks, by at most the window.
public final class WakeupCoalescer: Sendable {
    /// How often a loop that is not pausing looks at the load again.
    static let recheckInterval = TimeAmount.milliseconds(250)
    /// How long a loop that saw a connection arrive since its last turn runs without pausing before it looks again:
    /// long enough for the handshakes under way to end.
    static let arrivalsRecheck = TimeAmount.milliseconds(100)
    /// After a pause the next one is scheduled this far ahead: NIO runs every task already due before it polls
    /// again, so a pause rescheduled for "now" would never let the loop read.
    static let afterPause = TimeAmount.microseconds(100)

    private let coalescing: WakeupCoalescing
    private let loopCount: Int
    private let load: @Sendable () -> Int
    private let arrivals: @Sendable () -> Int
    private let stopped = Atomic<Bool>(false)
    private let pauseCount = Atomic<Int>(0)
    private let turnCount = Atomic<Int>(0)

    /// Starts on every loop of `group`; `load` answers how many connections are served (by all loops), `arrivals`
    /// how many were accepted so far (it only grows): a loop does not pause while it grows.
    public static func start(
        on group: any EventLoopGroup,
        _ coalescing: WakeupCoalescing,
        arrivals: @escaping @Sendable () -> Int = { 0 },
        load: @escaping @Sendable () -> Int
    ) -> WakeupCoalescer {
        let loops = Array(group.makeIterator())
        let coalescer = WakeupCoalescer(
            coalescing: coalescing,
            loopCount: max(1, loops.count),
            load: load,
            arrivals: arrivals
        )
        let arrived = arrivals()
        for loop in loops {
            loop.execute { coalescer.turn(on: loop, arrivedBefore: arrived) }
        }
        return coalescer
    }

    private init(
        coalescing: WakeupCoalescing,
        loopCount: Int,
        load: @escaping @Sendable () -> Int,
        arrivals: @escaping @Sendable () -> Int
    ) {
        self.coalescing = coalescing
        self.loopCount = loopCount
        self.load = load
        self.arrivals = arrivals
    }

    /// Pauses taken so far, by all loops.
    public var pauses: Int { pauseCount.load(ordering: .relaxed) }

    /// Turns the loops took so far, pausing or only looking at the load.
    public var turns: Int { turnCount.load(ordering: .relaxed) }

    /// The loops stop pausing at their next turn; a loop pausing now finishes its pause.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// One look at the load; `arrivedBefore` is what `arrivals` said at this loop's previous turn.
    private func turn(on loop: any EventLoop, arrivedBefore: Int) {
        guard !stopped.load(ordering: .relaxed) else { return }
        turnCount.add(1, ordering: .relaxed)
        let arrived = arrivals()
        guard arrived == arrivedBefore else {
            loop.scheduleTask(in: Self.arrivalsRecheck) { self.turn(on: loop, arrivedBefore: arrived) }
            return
        }
        guard load() >= coalescing.minimumConnectionsPerLoop * loopCount else {
            loop.scheduleTask(in: Self.recheckInterval) { self.turn(on: loop, arrivedBefore: arrived) }
            return
        }
        pauseCount.add(1, ordering: .relaxed)
        Self.pause(coalescing.window)
        loop.scheduleTask(in: Self.afterPause) { self.turn(on: loop, arrivedBefore: arrived) }
    }

    private static func pause(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        // Interrupted by a signal: sleep what is left.
        while nanosleep(&request, &remaining) == -1 && errno == EINTR {
            request = remaining
        }
    }
}

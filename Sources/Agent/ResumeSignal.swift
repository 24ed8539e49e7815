import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// What the systemd sleep hook (packaging/debian/torpor-agent.sleep) tells the agent by signal.
enum ResumeSignal: Sendable, Hashable, CustomStringConvertible {
    /// SIGUSR1, after any resume: reconnect to the manager at once.
    case resumed
    /// SIGUSR2, before a system sleep the agent did not order: tell the manager.
    case systemSleeping

    var description: String {
        switch self {
        case .resumed: "SIGUSR1"
        case .systemSleeping: "SIGUSR2"
        }
    }

    /// SIGUSR1 and SIGUSR2 from now on, through Dispatch signal sources (as ServiceLifecycle takes SIGTERM).
    /// Call it at start-up: until then either signal would kill the agent (their default action).
    static func stream() -> AsyncStream<ResumeSignal> {
        let (stream, continuation) = AsyncStream.makeStream(of: ResumeSignal.self)
        let queue = DispatchQueue(label: "torpor.agent.resume-signals")
        let sources = SignalSources(
            [(SIGUSR1, ResumeSignal.resumed), (SIGUSR2, .systemSleeping)].map { number, value in
                // Dispatch sees the signal only once its default action (terminate) is off.
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { continuation.yield(value) }
                source.resume()
                return source
            }
        )
        continuation.onTermination = { _ in sources.cancel() }
        return stream
    }
}

/// Dispatch sources are thread-safe but not marked Sendable; they are only cancelled from here.
private struct SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]

    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

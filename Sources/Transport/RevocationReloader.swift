import Dispatch
import Logging
import Trust

#if canImport(Glibc)
import Glibc
#endif

/// Rereads the revocation list (`tls.crl`) on SIGHUP: new connections from a revoked certificate are refused,
/// and an open one closes at its next message. A list that does not load is logged and the previous one kept.
public struct RevocationReloader: Sendable {
    public let trust: TrustStore
    public let logger: Logger
    private let hangups: AsyncStream<Void>

    /// Takes SIGHUP from now on (its default action would end the process); call it at start-up.
    public init(trust: TrustStore, logger: Logger) {
        self.trust = trust
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        signal(SIGHUP, SIG_IGN)
        let source = HangupSource(DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global()))
        source.source.setEventHandler { continuation.yield() }
        source.source.resume()
        continuation.onTermination = { _ in source.source.cancel() }
        self.hangups = stream
    }

    /// Reloads on each SIGHUP until the task is cancelled.
    public func run() async {
        for await _ in hangups {
            if Task.isCancelled { return }
            do {
                let count = try trust.reloadRevocations()
                logger.notice(
                    "reloaded the revocation list",
                    metadata: ["torpor.crl": "\(trust.revocationListPath ?? "none")", "torpor.revoked": "\(count)"]
                )
            } catch {
                logger.error(
                    "cannot reload the revocation list; keeping the previous one",
                    metadata: ["torpor.error": "\(error)"]
                )
            }
        }
    }
}

/// Dispatch sources are thread-safe but not marked Sendable; this one is only resumed and cancelled.
private struct HangupSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(_ source: any DispatchSourceSignal) { self.source = source }
}

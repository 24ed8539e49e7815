import Foundation

/// Blocking work (a `recv` with a timeout, a `waitpid`) on a thread started for it, awaited without holding a thread
/// of the cooperative pool: with one pool thread per core, two tests blocked there would stall every other test of
/// the process, and a listener in the same process that answers through the pool would never answer them.
public enum OwnThread {
    public static func run<Value: Sendable>(
        _ body: @escaping @Sendable () throws -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result<Value, any Error>(catching: body))
            }
            thread.start()
        }
    }

    public static func run<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.start()
        }
    }
}

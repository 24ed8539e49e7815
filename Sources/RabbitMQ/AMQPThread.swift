import Foundation

/// One dedicated OS thread that runs every blocking rabbitmq-c call of a publisher, one at a time, in order: they
/// wait on the network for seconds and must never run on Swift's cooperative pool.
public final class AMQPThread: @unchecked Sendable {
    // @unchecked: `jobs` and `isStopping` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var isStopping = false

    public init(name: String) {
        let thread = Thread { [self] in self.runJobs() }
        // Linux keeps only 15 bytes of a thread name.
        thread.name = String(name.prefix(15))
        thread.start()
    }

    /// Runs `body` on the thread; the calling task suspends (no cooperative thread is held) until it ends.
    public func run<Value: Sendable>(
        _ body: @escaping @Sendable () throws(AMQPError) -> Value
    ) async throws(AMQPError) -> Value {
        let result: Result<Value, AMQPError> = await withCheckedContinuation { continuation in
            condition.lock()
            if isStopping {
                condition.unlock()
                continuation.resume(returning: .failure(AMQPError(step: .connect, message: "publisher stopped")))
                return
            }
            jobs.append { continuation.resume(returning: Result(catching: body)) }
            condition.signal()
            condition.unlock()
        }
        return try result.get()
    }

    /// Lets the thread exit once the jobs queued so far have run.
    public func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isStopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

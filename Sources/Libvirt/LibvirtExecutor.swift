import Dispatch
import Foundation

/// One dedicated OS thread per connection that runs every libvirt call of that connection, one at a time, in
/// submission order.
///
/// libvirt calls block (an RPC round trip to libvirtd, or a slow hypervisor), so they must never run on Swift's
/// cooperative pool. Running them all on one thread also keeps libvirt's thread-local last error next to the
/// call that set it.
final class LibvirtExecutor: @unchecked Sendable {
    // @unchecked: `jobs`, `isStopping`, `hasExited` and `threadID` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var isStopping = false
    private var hasExited = false
    private var threadID: pthread_t?

    init(name: String) {
        // The thread keeps the executor alive until `shutdown()` lets it drain its queue and exit.
        let thread = Thread { [self] in
            self.runJobs()
        }
        // Linux keeps only 15 bytes of a thread name.
        thread.name = String(name.prefix(15))
        thread.start()
    }

    /// True on the executor's own thread, where jobs may call the blocking layer directly.
    var isCurrentThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Queues `job`; it runs after every job queued before it.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !hasExited else {
            condition.unlock()
            // Unreachable while anyone can still reach the connection; running the job beats losing it.
            job()
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the executor thread and suspends the calling task (not a cooperative thread) until it ends.
    /// A libvirt call cannot be interrupted, so task cancellation does not stop it.
    func run<Value: Sendable>(
        _ body: @escaping @Sendable () throws(LibvirtError) -> Value
    ) async throws(LibvirtError) -> Value {
        let result: Result<Value, LibvirtError> = await withCheckedContinuation { continuation in
            enqueue {
                continuation.resume(returning: Result(catching: body))
            }
        }
        return try result.get()
    }

    /// Runs `body` on the executor thread and blocks the calling thread until it ends. On the executor thread
    /// itself it runs inline, so the blocking layer can be called from inside a job.
    func runSync<Value: Sendable>(
        _ body: @escaping @Sendable () throws(LibvirtError) -> Value
    ) throws(LibvirtError) -> Value {
        if isCurrentThread {
            return try body()
        }
        let outcome = JobOutcome<Value>()
        enqueue {
            outcome.finish(Result(catching: body))
        }
        return try outcome.wait().get()
    }

    /// Lets the thread exit once the jobs queued so far have run.
    func shutdown() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        condition.lock()
        threadID = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while jobs.isEmpty && !isStopping {
                condition.wait()
            }
            if jobs.isEmpty {
                hasExited = true
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// The result of one `runSync` job, handed from the executor thread to the blocked caller.
private final class JobOutcome<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `result` is written once before `done.signal()` and read only after `done.wait()`.
    private var result: Result<Value, LibvirtError>?
    private let done = DispatchSemaphore(value: 0)

    func finish(_ result: Result<Value, LibvirtError>) {
        self.result = result
        done.signal()
    }

    func wait() -> Result<Value, LibvirtError> {
        done.wait()
        return result
            ?? .failure(.wrapper(.internalError, "job ended without a result", function: "runSync", subject: nil))
    }
}

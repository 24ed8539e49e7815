import Foundation

/// A task executor on threads of its own, for tests whose work is heavy on CPU (thousands of connections, large
/// replies decoded in a debug build): run under `withTaskExecutorPreference(DedicatedThreadsExecutor.shared)`,
/// that work (child tasks and default actors included) leaves the cooperative pool, which has one thread per core
/// and which every other test's timing waits on.
public final class DedicatedThreadsExecutor: TaskExecutor, @unchecked Sendable {
    /// Two threads, started on first use and kept for the life of the test process.
    public static let shared = DedicatedThreadsExecutor(threads: 2)

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var next = 0

    public init(threads: Int) {
        for _ in 0..<threads {
            // Marked, not named: on Linux a Thread's name reads back as the process's or dispatch's.
            Thread { [self] in
                Thread.current.threadDictionary[Self.marker] = true
                run()
            }.start()
        }
    }

    private static let marker = "torpor.DedicatedThreadsExecutor"

    /// Whether the calling code runs on one of an executor of this kind's threads. Synchronous: `Thread.current`
    /// may not be read from an async context.
    public static var isCurrentThreadOne: Bool { Thread.current.threadDictionary[marker] as? Bool ?? false }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

import Foundation
import TestSupport
import Testing

/// The heavy tests' executor really takes their work off the cooperative pool: the body, its child tasks and a
/// default actor's methods run on its threads.
struct DedicatedThreadsExecutorTests {
    actor Recorder {
        var onItsThreads: [Bool] = []
        func record() { onItsThreads.append(DedicatedThreadsExecutor.isCurrentThreadOne) }
    }

    @Test func bodyChildTasksAndActorsRunOnItsThreads() async {
        let recorder = Recorder()
        #expect(!DedicatedThreadsExecutor.isCurrentThreadOne)
        let onItsThreads: [Bool] = await withTaskExecutorPreference(DedicatedThreadsExecutor.shared) {
            let onItsThreads = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { DedicatedThreadsExecutor.isCurrentThreadOne }
                }
                var onItsThreads = [DedicatedThreadsExecutor.isCurrentThreadOne]
                for await onItsThread in group { onItsThreads.append(onItsThread) }
                return onItsThreads
            }
            // Called from its threads (the body's first steps may still run where it was called from).
            await recorder.record()
            return onItsThreads
        }
        #expect(onItsThreads == Array(repeating: true, count: 9))
        #expect(await recorder.onItsThreads == [true])
    }
}

import Foundation
import Logging
import Testing
import Wire

@testable import Manager

/// A task queued twice runs once: `run()` queues the tasks the store holds unfinished, and a task submitted while it
/// reads them was queued by its submission too. Both ran, and a start sent twice made the second see "already
/// running" and record a running VM failed (seen in a CI rehearsal on a loaded machine).
@Suite struct TaskExecutedOnceTests {
    @Test func twoExecutionsOfOneTaskSendOneStart() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        var configuration = ManagerConfiguration()
        configuration.checkTemplateDisks = false
        let fake = FakeGroupManager(hosts: ["h1"], cores: 64)
        // Not running: only the executions below run the tasks.
        let leader = try GroupLeader(
            store: store,
            groupManager: fake,
            configuration: configuration,
            logger: Logger(label: "test")
        )
        await GroupLeaderMigrationTests.join(leader, ["h1"], cores: 64)
        // One cluster of one VM per round: each start task executed twice at once, as `run()` and its submission
        // both queue it.
        for round in 1...20 {
            try await GroupLeaderTests.cluster(leader, "c\(round)", count: 1, prefix: "r\(round)")
            let id = try await GroupLeaderTests.submit(leader, .start, "c\(round)")
            async let first: Void = leader.execute(taskID: id)
            async let second: Void = leader.execute(taskID: id)
            _ = await (first, second)
            let task = try #require(try await store.task(id: id))
            #expect(task.state == .succeeded, "round \(round): \(task.detail)")
            let vm = try #require(try await store.vm(named: "r\(round)-1"))
            #expect(vm.state == .running, "round \(round): \(vm.state) \(vm.reason)")
            // Once it has ended, running it again does nothing.
            await leader.execute(taskID: id)
        }
        let starts = await fake.sent.filter { $0.command == "start" }.map(\.vm)
        #expect(starts.count == 20, "\(starts)")
    }
}

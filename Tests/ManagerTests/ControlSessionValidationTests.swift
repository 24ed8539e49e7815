import Logging
import Testing
import Wire

@testable import Manager

/// Cluster requests are checked (`ClusterRequest.validated()`) before the group leader sees them: a 49-day task
/// wait or an absurd bandwidth is refused naming the field, not waited on or placed.
@Suite struct ControlSessionValidationTests {
    @Test func aClusterRequestPastTheLimitsIsRefusedNamingTheField() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let leader = try GroupLeader(
            store: try database.open(),
            groupManager: GroupManager(registry: registry, logger: Logger(label: "test")),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        let control = ControlSession(
            registry: registry,
            leader: leader,
            managerID: "m",
            softwareVersion: "t",
            heartbeatTimeout: .seconds(5),
            startedAt: .now,
            logger: Logger(label: "test")
        )
        let clock = ContinuousClock()
        let asked = clock.now
        let wait = await control.answer(.clusterRequest(.task(id: "t-1", waitMilliseconds: .max)), at: .now)
        guard case .commandResult(let refused) = wait else {
            Issue.record("expected a CommandResult, got \(String(describing: wait))")
            return
        }
        #expect(refused.code == .invalidArgument)
        #expect(refused.message.contains("wait = 4294967295"), "\(refused.message)")
        // Refused at once, not after polling: generous for a loaded machine, far below the wait asked for.
        #expect(clock.now - asked < .seconds(30))

        let add = ClusterRequest.add(
            cluster: "c",
            vms: [.init(templateXML: "<domain/>", networkTxBytesPerSecond: .max)]
        )
        guard case .commandResult(let bandwidth) = await control.answer(.clusterRequest(add), at: .now) else {
            Issue.record("expected a CommandResult")
            return
        }
        #expect(bandwidth.code == .invalidArgument)
        #expect(bandwidth.message.contains("vms[0].networkTx"), "\(bandwidth.message)")
    }
}

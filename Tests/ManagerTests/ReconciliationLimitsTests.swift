import Logging
import Testing
import Wire

@testable import Manager

/// Reconciliation with values past what `Inventory.validated()` lets in, as a caller that skipped it would pass:
/// the leader must not trap (before the fix, `memoryKiB * 1024` overflowed while adopting).
@Suite struct ReconciliationLimitsTests {
    /// A leader on `store` with no hosts, for reconciling inventories handed to it directly.
    static func leader(on store: ManagerStore) throws -> GroupLeader {
        try GroupLeader(
            store: store,
            groupManager: ManagerPowerNoticeTests.NoHosts(),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
    }

    @Test func anAdoptedVMWithAbsurdMemoryIsClampedNotATrap() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let leader = try Self.leader(on: store)
        let entry = Inventory.Entry(
            slot: 0,
            uuid: WireUUID(high: 1, low: 2),
            name: "huge",
            state: .running,
            virtualCPUs: .max,
            memoryKiB: 1 << 60
        )
        await leader.inventoryReceived(Inventory(hostID: "h1", vms: [entry]), from: "h1")
        let adopted = try #require(try await store.vm(named: "huge"))
        #expect(adopted.memoryBytes == Int64.max / 1024 * 1024)
        #expect(adopted.virtualCPUs == Int(UInt16.max))
    }
}

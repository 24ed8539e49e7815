import Testing
import Wire

@testable import Manager

/// VMs a host runs that the store does not know are adopted together, one transaction per inventory (one each made
/// a new leader adopt 460 VMs a second under `bench/run ingest --group-manager`), each named as before.
@Suite struct AdoptionTests {
    static func entry(_ slot: UInt16, _ name: String, state: VMState = .running) -> Inventory.Entry {
        Inventory.Entry(
            slot: slot,
            uuid: WireUUID(high: 7, low: UInt64(slot) + 1),
            name: name,
            state: state,
            virtualCPUs: 2,
            memoryKiB: 1 << 20
        )
    }

    @Test func aHostsUnknownVMsAreAdoptedTogetherWithTheirNamesStatesAndHost() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let leader = try ReconciliationLimitsTests.leader(on: store)
        let inventory = Inventory(
            hostID: "h1",
            vms: [Self.entry(0, "web"), Self.entry(1, "db", state: .shutOff), Self.entry(2, "web")]
        )
        await leader.inventoryReceived(inventory, from: "h1")
        let adopted = try await store.vms(inCluster: GroupLeader.adoptedCluster).sorted { $0.id < $1.id }
        #expect(adopted.count == 3)
        // The second "web" (another UUID) keeps its name with its UUID's first 8 characters.
        #expect(adopted.map(\.name) == ["web", "db", "web-00000000"])
        #expect(adopted.map(\.state) == [.running, .stopped, .running])
        #expect(adopted.map(\.desiredState) == [.running, .stopped, .running])
        #expect(adopted.allSatisfy { $0.hostID == "h1" && $0.memoryBytes == 1 << 30 && $0.virtualCPUs == 2 })
        // The same inventory again adopts nothing more.
        await leader.inventoryReceived(inventory, from: "h1")
        #expect(try await store.vms(inCluster: GroupLeader.adoptedCluster).count == 3)
    }
}

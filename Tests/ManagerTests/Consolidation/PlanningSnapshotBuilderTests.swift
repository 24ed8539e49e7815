import Foundation
import Placement
import Testing
import Wire

@testable import Manager

@Suite struct PlanningSnapshotBuilderTests {
    static let capacity = ResourceVector(
        cpuCores: 8,
        memoryBytes: 16e9,
        networkRxBytesPerSecond: 1e9,
        networkTxBytesPerSecond: 1e9
    )

    static func vm(_ id: String, on host: String?, _ state: StoredVM.State = .running, cores: Int = 2) -> StoredVM {
        StoredVM(
            id: id,
            name: "vm-\(id)",
            vcName: "c",
            templateXML: "<domain/>",
            networkRx: 1_000,
            networkTx: 0,
            virtualCPUs: cores,
            memoryBytes: 2_000_000_000,
            desiredState: .running,
            hostID: host,
            state: state,
            highlyAvailable: false
        )
    }

    static func demand(_ id: String, on host: String, cpu: [Double]) -> VMDemand {
        VMDemand(
            vmID: id,
            name: "vm-\(id)",
            hostID: host,
            state: .running,
            configured: ResourceVector(cpuCores: 2, memoryBytes: 2e9),
            samples: cpu.map { ResourceVector(cpuCores: $0, memoryBytes: 1e9) }
        )
    }

    @Test func hostsCarryTheirVMsEstimatesAndVMsTheirRequests() {
        let snapshot = PlanningSnapshotBuilder.build(
            hosts: [
                PlanningHost(id: "h2", capacity: Self.capacity, state: .active),
                PlanningHost(id: "h1", capacity: Self.capacity, state: .active),
                PlanningHost(id: "h3", capacity: Self.capacity, state: .sleeping),
            ],
            vms: [
                Self.vm("a", on: "h1"),
                Self.vm("b", on: "h1", .suspended),
                Self.vm("c", on: "h2"),
                Self.vm("d", on: nil, .pending),
                Self.vm("e", on: "h2", .stopped),
                Self.vm("f", on: "gone"),
            ],
            demands: [
                Self.demand("a", on: "h1", cpu: [0.5, 1.5]),
                // c's samples come from h1, where it ran before a migration: they do not count on h2.
                Self.demand("c", on: "h1", cpu: [7]),
            ],
            estimator: Estimator(window: 15),
            migratingHosts: ["h2", "elsewhere"]
        )
        #expect(snapshot.cluster.hosts.map(\.id) == ["h1", "h2", "h3"])
        #expect(snapshot.cluster.hosts.map(\.state) == [.active, .active, .sleeping])
        #expect(snapshot.vms.map(\.id) == ["a", "b", "c"])
        #expect(snapshot.vms.map(\.movable) == [true, false, true])
        let a = snapshot.vms[0]
        #expect(a.estimated == ResourceVector(cpuCores: 1, memoryBytes: 1e9))
        #expect(a.requested == ResourceVector(cpuCores: 2, memoryBytes: 2e9, networkRxBytesPerSecond: 1_000))
        #expect(a.memoryBytes == 2e9)
        #expect(a.dirtyRateBytesPerSecond == nil)
        // b has no samples: its request; c's samples were on another host: its request.
        #expect(snapshot.vms[1].estimated == snapshot.vms[1].requested)
        #expect(snapshot.vms[2].estimated == snapshot.vms[2].requested)
        let h1 = snapshot.cluster.hosts[0]
        #expect(h1.vmIDs == ["a", "b"])
        #expect(h1.estimatedUse == a.estimated + snapshot.vms[1].requested)
        #expect(snapshot.cluster.hosts[2].vmIDs.isEmpty)
        #expect(snapshot.cluster.hosts[2].estimatedUse == .zero)
        #expect(snapshot.migratingHosts == ["h2"])
    }

    @Test func theSameInputsGiveTheSameSnapshot() {
        let hosts = (1...4).map { PlanningHost(id: "h\($0)", capacity: Self.capacity, state: .active) }
        let vms = (1...12).map { Self.vm("v\($0)", on: "h\($0 % 4 + 1)") }
        let one = PlanningSnapshotBuilder.build(hosts: hosts, vms: vms, demands: [], estimator: Estimator())
        let two = PlanningSnapshotBuilder.build(
            hosts: hosts.reversed(),
            vms: vms.shuffled(),
            demands: [],
            estimator: Estimator()
        )
        #expect(one == two)
    }
}

import Foundation
import Testing
import Wire

@testable import Manager

/// `GET /ui/state`'s shape, built without I/O from the replies and VMs of `WebViewFixture`.
@Suite struct WebViewStateTests {
    static func json(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func theHierarchyHasTheLeaderItsGroupManagerEveryHostAndTheirVMs() throws {
        let state = WebViewState(
            at: WebViewFixture.date,
            status: WebViewFixture.status,
            energy: WebViewFixture.energy,
            vms: WebViewFixture.vms
        )
        #expect(state.time == 1_700_000_000_000)
        #expect(state.leader == "manager-1")
        #expect(state.groupManagers.map(\.id) == ["manager-1"])
        let hosts = try #require(state.groupManagers.first?.hosts)
        #expect(hosts.map(\.id) == ["h1", "h2", "h3"])
        #expect(hosts.map(\.state) == ["active", "sleeping", "waking"])
        #expect(hosts.map(\.watts) == [150, 8, nil])
        #expect(hosts[0].vms.map(\.name) == ["web-1", "web-2"])
        #expect(hosts[0].vms.map(\.ip) == ["10.42.0.2", "10.42.0.3"])
        #expect(hosts[0].cores == 8 && hosts[0].memoryBytes == 64 << 30)
        #expect(hosts[0].secondsInState == 90)
        #expect(hosts[1].usedKilowattHours == 0.5 && hosts[1].alwaysOnKilowattHours == 2)
        #expect(hosts[1].vms.isEmpty)
        // Pending, and on a host the manager does not list.
        #expect(state.unassigned.map(\.name) == ["lost", "queued"])
        #expect(state.unassigned.map(\.state) == ["missing", "pending"])
        #expect(
            state.cluster
                == WebViewState.Cluster(
                    hosts: 3,
                    hostsAwake: 1,
                    hostsAsleep: 1,
                    hostsWaking: 1,
                    hostsFailed: 0,
                    watts: 158,
                    usedKilowattHours: 2.5,
                    savedKilowattHours: 1.5,
                    savedShare: 0.375
                )
        )
        #expect(state.host("h2")?.groupManager == "manager-1")
        #expect(state.host("h2")?.host.state == "sleeping")
        #expect(state.host("nope") == nil)
    }

    @Test func theJSONNamesEveryFieldThePageReads() throws {
        let object = try Self.json(
            WebViewState(
                at: WebViewFixture.date,
                status: WebViewFixture.status,
                energy: WebViewFixture.energy,
                vms: WebViewFixture.vms
            )
        )
        #expect(Set(object.keys) == ["time", "leader", "groupManagers", "unassigned", "cluster"])
        let cluster = try #require(object["cluster"] as? [String: Any])
        #expect(
            Set(cluster.keys) == [
                "hosts", "hostsAwake", "hostsAsleep", "hostsWaking", "hostsFailed", "watts", "usedKilowattHours",
                "savedKilowattHours", "savedShare",
            ]
        )
        let manager = try #require((object["groupManagers"] as? [[String: Any]])?.first)
        #expect(Set(manager.keys) == ["id", "hosts"])
        let hosts = try #require(manager["hosts"] as? [[String: Any]])
        #expect(
            Set(hosts[0].keys) == [
                "id", "hostname", "state", "connected", "secondsInState", "watts", "usedKilowattHours",
                "alwaysOnKilowattHours", "cores", "memoryBytes", "vms",
            ]
        )
        // No reading: no watts key at all (the page shows "–").
        #expect(hosts[2]["watts"] == nil)
        let vm = try #require((hosts[0]["vms"] as? [[String: Any]])?.first)
        #expect(Set(vm.keys) == ["id", "name", "cluster", "state", "ip"])
        #expect(vm["name"] as? String == "web-1" && vm["cluster"] as? String == "vc-a")
    }

    @Test func aCordonedHostCarriesItsReasonAndOthersNone() throws {
        var status = WebViewFixture.status
        for index in status.hosts.indices {
            status.hosts[index].cordonReason = ["h2": "new DIMMs", "h3": ""][status.hosts[index].hostID]
        }
        let object = try Self.json(
            WebViewState(
                at: WebViewFixture.date,
                status: status,
                energy: WebViewFixture.energy,
                vms: WebViewFixture.vms
            )
        )
        let manager = try #require((object["groupManagers"] as? [[String: Any]])?.first)
        let hosts = try #require(manager["hosts"] as? [[String: Any]])
        // In service: no key at all; cordoned: the reason, empty when none was given.
        #expect(hosts.map { $0["cordonReason"] as? String } == [nil, "new DIMMs", ""])
        #expect(hosts[0].keys.contains("cordonReason") == false)
    }

    @Test func aHostWithoutHypervisorCarriesWhatItsAgentSaidAndOthersNothing() throws {
        var status = WebViewFixture.status
        for index in status.hosts.indices where status.hosts[index].hostID == "h2" {
            status.hosts[index].hypervisorProblem = "libvirtd down"
        }
        let object = try Self.json(
            WebViewState(at: WebViewFixture.date, status: status, energy: WebViewFixture.energy, vms: WebViewFixture.vms)
        )
        let manager = try #require((object["groupManagers"] as? [[String: Any]])?.first)
        let hosts = try #require(manager["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["hypervisorProblem"] as? String } == [nil, "libvirtd down", nil])
        #expect(hosts[0].keys.contains("hypervisorProblem") == false)
    }

    @Test func withoutEnergyMeasuredThereIsNoSavedShare() throws {
        let state = WebViewState(at: WebViewFixture.date, status: WebViewFixture.status, energy: nil, vms: [])
        #expect(state.cluster.savedShare == nil)
        #expect(state.cluster.usedKilowattHours == 0)
        #expect(state.groupManagers.first?.hosts.allSatisfy { $0.usedKilowattHours == nil } == true)
        let cluster = try #require(try Self.json(state)["cluster"] as? [String: Any])
        #expect(cluster["savedShare"] == nil)
    }

    @Test func anEmptyClusterStillHasItsLeaderAndGroupManager() throws {
        let status = ManagerStatusReply(
            managerID: "m",
            softwareVersion: "t",
            uptimeSeconds: 0,
            heartbeatTimeoutMilliseconds: 1,
            hosts: []
        )
        let state = WebViewState(at: WebViewFixture.date, status: status, energy: nil, vms: [])
        #expect(state.groupManagers.map(\.id) == ["m"])
        #expect(state.groupManagers.first?.hosts.isEmpty == true)
        #expect(state.cluster.hosts == 0 && state.cluster.watts == 0)
    }

    @Test func withGroupManagerProcessesEachHostIsUnderTheOneHoldingIt() {
        var status = WebViewFixture.status
        status.hosts[0].groupManagerID = "gm-2"  // h2
        status.hosts[1].groupManagerID = "gm-1"  // h1
        let state = WebViewState(at: WebViewFixture.date, status: status, energy: nil, vms: [])
        #expect(state.leader == status.managerID)
        #expect(state.groupManagers.map(\.id) == ["(none)", "gm-1", "gm-2"])
        #expect(state.groupManagers.map { $0.hosts.map(\.id) } == [["h3"], ["h1"], ["h2"]])
        #expect(state.host("h2")?.groupManager == "gm-2")
    }
}

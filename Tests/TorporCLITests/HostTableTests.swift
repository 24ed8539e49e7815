import AgentControl
import Testing
import Wire

@testable import TorporCLI

/// A host that is not connected, or FAILED, shows its VM count and CPU as unknown with the age of its last
/// report, not as current numbers.
@Suite struct HostTableTests {
    static func host(
        _ id: String,
        state: ManagerStatusReply.HostState,
        connected: Bool,
        sinceReport: UInt64? = 2_000
    ) -> ManagerStatusReply.Host {
        ManagerStatusReply.Host(
            hostID: id,
            hostname: "\(id).lab",
            state: state,
            connected: connected,
            millisecondsSinceHeartbeat: 1_000,
            millisecondsSinceReport: sinceReport,
            ringFill: 3,
            ringCapacity: 30,
            vmCount: 7,
            capacity: HostCapacity(cores: 8, memoryBytes: 16 << 30, nicRxBytesPerSecond: 0, nicTxBytesPerSecond: 0),
            usage: MonitoringReport.HostSample(
                cpuCoresInUse: 2.5,
                memoryInUseBytes: 1 << 30,
                networkRxBytesPerSecond: 0,
                networkTxBytesPerSecond: 0
            ),
            millisecondsInState: 60_000
        )
    }

    static func reply(_ hosts: [ManagerStatusReply.Host]) -> ManagerStatusReply {
        ManagerStatusReply(
            managerID: "m",
            softwareVersion: "1",
            uptimeSeconds: 1,
            heartbeatTimeoutMilliseconds: 5_000,
            hosts: hosts
        )
    }

    @Test(arguments: [
        (ManagerStatusReply.HostState.active, true, true),
        (.waking, true, true),
        (.active, false, false),
        (.failed, false, false),
        (.failed, true, false),
        (.sleeping, false, false),
    ])
    func onlyAConnectedHostThatIsNotFailedIsCurrent(state: ManagerStatusReply.HostState, connected: Bool, current: Bool)
    {
        let host = Self.host("h", state: state, connected: connected)
        #expect(ManagerHostFormat.reportIsCurrent(host) == current)
        #expect(ManagerHostFormat.vms(host) == (current ? "7" : "-"))
        #expect(ManagerHostFormat.cpuUsed(host) == (current ? "2.50" : "-"))
    }

    @Test func aFailedHostShowsDashesAndTheAgeOfItsLastReport() throws {
        let failed = Self.host("h-failed", state: .failed, connected: false, sinceReport: 754_000)
        let text = HostTable.text(
            Self.reply([Self.host("h-ok", state: .active, connected: true), failed]),
            address: "x"
        )
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("HOST ") })
        let failedRow = try #require(lines.first { $0.hasPrefix("h-failed ") })
        let okRow = try #require(lines.first { $0.hasPrefix("h-ok ") })
        func column(_ name: String, _ row: String) -> String {
            let start = header.range(of: name)!.lowerBound
            let offset = header.distance(from: header.startIndex, to: start)
            return String(row.dropFirst(offset).prefix { $0 != " " })
        }
        #expect(column("CPU USED", failedRow) == "-")
        #expect(column("VMS", failedRow) == "-")
        #expect(column("REPORT", failedRow) == "13")  // "13 min ago"
        #expect(failedRow.contains("13 min ago"))
        #expect(column("CPU USED", okRow) == "2.50")
        #expect(column("VMS", okRow) == "7")
    }

    @Test func theJSONMarksStaleHostsAndKeepsTheirLastNumbersApart() throws {
        let json = HostTable.json(
            Self.reply([
                Self.host("ok", state: .active, connected: true), Self.host("gone", state: .failed, connected: false),
            ]),
            address: "x"
        )
        let hosts = try #require(json["hosts"] as? [[String: Any]])
        #expect(hosts[0]["stale"] as? Bool == false)
        #expect(hosts[0]["vms"] as? Int == 7)
        #expect(hosts[0]["cpuUsedCores"] as? Double == 2.5)
        #expect(hosts[1]["stale"] as? Bool == true)
        #expect(hosts[1]["vms"] == nil && hosts[1]["cpuUsedCores"] == nil)
        #expect(hosts[1]["lastVms"] as? Int == 7)
        #expect(hosts[1]["lastCpuUsedCores"] as? Double == 2.5)
        #expect(hosts[1]["millisecondsSinceReport"] as? Int == 2_000)
    }

    @Test func aCordonedHostIsMarkedInTheTableAndTheJSON() {
        var cordoned = Self.host("h2", state: .active, connected: true)
        cordoned.cordonReason = "new DIMMs"
        var silent = Self.host("h3", state: .active, connected: true)
        silent.cordonReason = ""
        let reply = Self.reply([Self.host("h1", state: .active, connected: true), cordoned, silent])
        let text = HostTable.text(reply, address: "m:1")
        #expect(text.contains("ACTIVE (cordoned)"))
        #expect(text.hasSuffix("h2 is cordoned: new DIMMs\nh3 is cordoned"), "\(text)")
        let rows = (HostTable.json(reply, address: "m:1")["hosts"] as? [[String: Any]]) ?? []
        #expect(rows.map { $0["cordoned"] as? Bool } == [false, true, true])
        #expect(rows.map { $0["cordonReason"] as? String } == [nil, "new DIMMs", nil])
    }

    @Test func hostMaintenanceCommandsParse() throws {
        #expect(try HostCordon.parse(["h2", "--reason", "fw"]).reason == "fw")
        #expect(try HostCordon.parse(["h2"]).reason == "")
        #expect(try HostUncordon.parse(["h2"]).host == "h2")
        let drain = try HostDrain.parse(["h2", "--method", "copy-storage-all", "--wait-timeout", "30"])
        #expect(drain.reason == "drained")
        #expect(drain.method == .copyStorageAll)
        #expect(throws: (any Error).self) { try HostDrain.parse(["h2", "--wait-timeout", "0"]) }
        #expect(throws: (any Error).self) { try HostCordon.parse([]) }
        #expect(try HostRemove.parse(["h9"]).host == "h9")
        #expect(try HostRemove.parse(["h9"]).confirmOff == false)
        #expect(try HostRemove.parse(["h9", "--confirm-off"]).confirmOff)
        #expect(throws: (any Error).self) { try HostRemove.parse([]) }
        #expect(throws: (any Error).self) { try HostRemove.parse(["h9", "h10"]) }
    }

    @Test func theTreeMarksACordonedHost() throws {
        var cordoned = Self.host("h2", state: .active, connected: true)
        cordoned.cordonReason = "new DIMMs"
        let tree = ClusterTopology(
            status: Self.reply([Self.host("h1", state: .active, connected: true), cordoned]),
            clusters: ClusterReply(clusters: [])
        )
        #expect(tree.text.contains("host h1 ACTIVE (8 cores, 16.0 GiB)\n"), "\(tree.text)")
        #expect(tree.text.hasSuffix("host h2 ACTIVE (8 cores, 16.0 GiB) cordoned: new DIMMs"), "\(tree.text)")
        let managers = try #require(tree.json["groupManagers"] as? [[String: Any]])
        let hosts = (managers.first?["hosts"] as? [[String: Any]]) ?? []
        #expect(hosts.map { $0["cordoned"] as? Bool } == [false, true])
        #expect(hosts.last?["cordonReason"] as? String == "new DIMMs")
    }

    /// A host whose agent said its libvirtd does not answer: marked in the table, what the agent said under it, and
    /// both in JSON.
    @Test func aHostWithoutLibvirtdIsMarkedWithWhatItsAgentSaid() {
        var down = Self.host("h1", state: .active, connected: true)
        down.hypervisorProblem = "cannot connect"
        let up = Self.host("h2", state: .active, connected: true)
        let status = Self.reply([down, up])
        let text = HostTable.text(status, address: "127.0.0.1:7700")
        #expect(text.contains("ACTIVE (no libvirtd)"), "\(text)")
        #expect(text.hasSuffix("h1's libvirtd does not answer (nothing is placed there until it does): cannot connect"))
        #expect(!text.contains("h2's libvirtd"))
        let hosts = HostTable.json(status, address: "127.0.0.1:7700")["hosts"] as? [[String: Any]] ?? []
        #expect(hosts.map { $0["hypervisorAnswers"] as? Bool } == [false, true])
        #expect(hosts.map { $0["hypervisorProblem"] as? String } == ["cannot connect", nil])
    }
}

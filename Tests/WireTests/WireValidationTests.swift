import Testing
import Wire

/// `validated()`: values that decode but no real peer sends are refused, naming message, field and value.
@Suite struct WireValidationTests {
    static func entry(slot: UInt16 = 0, uuid: UInt64 = 1, memoryKiB: UInt64 = 1 << 20) -> Inventory.Entry {
        Inventory.Entry(
            slot: slot,
            uuid: WireUUID(high: 0, low: uuid),
            name: "vm\(slot)",
            state: .running,
            virtualCPUs: 2,
            memoryKiB: memoryKiB
        )
    }

    @Test func anInventoryWithinTheLimitsIsKept() throws {
        let inventory = Inventory(
            hostID: "h1",
            vms: [Self.entry(), Self.entry(slot: 1, uuid: 2, memoryKiB: WireLimits.maximumMemoryKiB)]
        )
        #expect(try inventory.validated() == inventory)
    }

    @Test(arguments: [
        (Inventory(hostID: "h1", vms: [entry(memoryKiB: 1 << 60)]), "vms[0].memoryKiB", "1152921504606846976"),
        (Inventory(hostID: "h1", vms: [entry(), entry(slot: 0, uuid: 2)]), "vms[1].slot", "0"),
        (
            Inventory(hostID: "h1", vms: [entry(), entry(slot: 1, uuid: 1)]), "vms[1].uuid",
            "00000000-0000-0000-0000-000000000001"
        ),
    ])
    func aBadInventoryNamesTheField(inventory: Inventory, field: String, value: String) throws {
        let error = try #require(throws: WireValidationError.self) { try inventory.validated() }
        #expect(error.message == .inventory)
        #expect(error.field == field)
        #expect(error.value == value)
        #expect(error.description.hasPrefix("Inventory.\(field) = \(value): "))
    }

    @Test(arguments: [Float.nan, .infinity, -1])
    func aReportWithAnUnusableRateIsRefused(value: Float) throws {
        let host = MonitoringReport.HostSample(
            cpuCoresInUse: 1,
            memoryInUseBytes: 1 << 30,
            networkRxBytesPerSecond: 0,
            networkTxBytesPerSecond: 0
        )
        let vm = MonitoringReport.VMSample(
            slot: 0,
            state: .running,
            cpuCoresInUse: 0.5,
            memoryInUseKiB: 1024,
            networkRxBytesPerSecond: 0,
            networkTxBytesPerSecond: value,
            diskReadBytesPerSecond: 0,
            diskWriteBytesPerSecond: 0
        )
        let report = MonitoringReport(timestampMilliseconds: 1, host: host, vms: [vm])
        let error = try #require(throws: WireValidationError.self) { try report.validated() }
        #expect(error.field == "vms[0].networkTxBytesPerSecond")
        var fine = report
        fine.vms[0].networkTxBytesPerSecond = 10
        #expect(try fine.validated() == fine)
        fine.host.memoryInUseBytes = .max
        #expect(throws: WireValidationError.self) { try fine.validated() }
    }

    @Test func helloNeedsAUsableAgentDescription() throws {
        let agent = AgentDescription(
            hostID: "h1",
            hostname: "h1.lab",
            capabilities: [],
            capacity: HostCapacity(cores: 8, memoryBytes: 16 << 30, nicRxBytesPerSecond: 1, nicTxBytesPerSecond: 1),
            wake: WakeSettings(),
            listenAddress: ""
        )
        let hello = Hello(role: .agent, softwareVersion: "t", nodeName: "n", agent: agent)
        #expect(try hello.validated() == hello)
        // A control peer needs no description.
        _ = try Hello(role: .control, softwareVersion: "t", nodeName: "n").validated()

        var cases: [(Hello, String)] = [(Hello(role: .agent, softwareVersion: "t", nodeName: "n"), "agent")]
        for id in ["", "a\nb", String(repeating: "x", count: 256)] {
            var bad = hello
            bad.agent?.hostID = id
            cases.append((bad, "agent.hostID"))
        }
        var bigMemory = hello
        bigMemory.agent?.capacity.memoryBytes = .max
        cases.append((bigMemory, "agent.capacity.memoryBytes"))
        var fastNIC = hello
        fastNIC.agent?.capacity.nicTxBytesPerSecond = .max
        cases.append((fastNIC, "agent.capacity.nicTxBytesPerSecond"))
        for (bad, field) in cases {
            let error = try #require(throws: WireValidationError.self) { try bad.validated() }
            #expect(error.field == field)
        }
    }

    @Test func clusterRequestsAreBounded() throws {
        let task = ClusterRequest.task(id: "t", waitMilliseconds: 1000)
        #expect(try task.validated() == task)
        let wait = try #require(throws: WireValidationError.self) {
            try ClusterRequest.task(id: "t", waitMilliseconds: .max).validated()
        }
        #expect(wait.field == "wait")
        let add = ClusterRequest.add(
            cluster: "c",
            vms: [.init(templateXML: "<domain/>"), .init(templateXML: "<domain/>", networkRxBytesPerSecond: .max)]
        )
        let error = try #require(throws: WireValidationError.self) { try add.validated() }
        #expect(error.field == "vms[1].networkRx")
        #expect(try ClusterRequest.list.validated() == .list)
    }
}

import Libvirt
import Logging
import NIOCore
import Testing
import Wire

@testable import Agent

@Suite struct AgentMonitorTests {
    static func monitor(_ connection: LibvirtConnection, interval: Duration) async throws -> AgentMonitor {
        var configuration = AgentConfiguration(hostname: "monitor-test")
        configuration.sampleInterval = interval
        configuration.ringCapacity = 5
        return try await AgentMonitor(
            configuration: configuration,
            connection: connection,
            link: ManagerLinkStatus(address: nil),
            logger: Logger(label: "test")
        )
    }

    /// With a sampling interval of a minute, only the lifecycle event can bring the new VM into the inventory.
    @Test func lifecycleEventUpdatesInventoryBeforeTheNextInterval() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await monitor.sampleOnce()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await monitor.followLifecycleEvents(of: connection) }
            group.addTask { await monitor.runSampling() }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await DomainCollectorTests.defineAndStart("event-vm", on: connection)
            var seen = false
            for _ in 0..<50 where !seen {
                seen = await monitor.inventory().vms.contains { $0.name == "event-vm" && $0.state == .running }
                if !seen { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(seen)
            group.cancelAll()
        }
        await connection.close()
    }

    /// Concurrent requests for a round (VM commands while sampling) never run two rounds at once, so the
    /// second reading of a VM still has rates computed from the first.
    @Test func concurrentRoundsAreSerialised() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        _ = try await DomainCollectorTests.defineAndStart("serial-vm", on: connection)
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await monitor.sampleOnce() } }
        }
        let samples = try #require(await monitor.samples(vm: "serial-vm", last: nil))
        #expect(samples.samples.count >= 1)
        #expect(samples.samples.allSatisfy { $0.cpuCoresInUse >= 0 })
        await connection.close()
    }

    /// A round whose domain collector fails is a gap: no report repeats the previous readings as current, no sample
    /// is added to a VM's ring, and the VMs are not forgotten.
    @Test func failedDomainRoundIsAGapNotStaleData() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        _ = try await DomainCollectorTests.defineAndStart("gap-vm", on: connection)
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await monitor.sampleOnce()
        try await Task.sleep(for: .milliseconds(20))
        await monitor.sampleOnce()
        let fresh = try #require(await monitor.report(), "two good rounds make a report")
        #expect(!fresh.vms.isEmpty)
        let ringBefore = try #require(await monitor.samples(vm: "gap-vm", last: nil)).samples.count

        // Closing the connection makes the domain collector fail from now on.
        await connection.close()
        try await Task.sleep(for: .milliseconds(20))
        await monitor.sampleOnce()
        #expect(await monitor.report() == nil, "a failed round was reported as current")
        #expect(try #require(await monitor.samples(vm: "gap-vm", last: nil)).samples.count == ringBefore)
        #expect(await monitor.inventory().vms.contains { $0.name == "gap-vm" })
    }
}

@Suite struct AgentDaemonAddressTests {
    @Test func wildcardBindIsAdvertisedByHostname() throws {
        let wildcard = try SocketAddress(ipAddress: "0.0.0.0", port: 7701)
        #expect(AgentDaemon.reachableAddress(wildcard, hostname: "h3.lab") == "h3.lab:7701")
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 7801)
        #expect(AgentDaemon.reachableAddress(loopback, hostname: "h3.lab") == "127.0.0.1:7801")
        let v6 = try SocketAddress(ipAddress: "::1", port: 7701)
        #expect(AgentDaemon.reachableAddress(v6, hostname: "h3.lab") == "[::1]:7701")
        #expect(AgentDaemon.reachableAddress(nil, hostname: "h3.lab") == "")
    }
}

/// A host measured as the sum of its VMs (`host_metrics: vms`, the lab's hosts): never the machine's /proc.
@Suite struct HostFromVMsTests {
    static let capacity = HostCapacity(cores: 4, memoryBytes: 8 << 30, nicRxBytesPerSecond: 1, nicTxBytesPerSecond: 1)

    static func vm(_ state: VMState, cpu: Double?, memory: UInt64 = 1 << 30) -> VMObservation {
        VMObservation(
            uuid: WireUUID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255) })!,
            name: "vm",
            state: state,
            virtualCPUs: 1,
            memoryKiB: 1 << 20,
            metrics: cpu.map {
                VMMetrics(
                    timestampMilliseconds: 1,
                    cpuCoresInUse: $0,
                    memoryInUseBytes: memory,
                    networkRxBytesPerSecond: 10,
                    networkTxBytesPerSecond: 20,
                    diskReadBytesPerSecond: 0,
                    diskWriteBytesPerSecond: 0
                )
            },
            nics: []
        )
    }

    @Test(arguments: [
        // No VMs: an idle host, whatever the machine is doing.
        ([], 0.0 as Double?, UInt64(0)),
        ([vm(.running, cpu: 0.5), vm(.paused, cpu: 0.25)], 0.75, UInt64(2 << 30)),
        // A running VM without rates yet: unknown, not an undercount.
        ([vm(.running, cpu: 0.5), vm(.running, cpu: nil)], nil, UInt64(1 << 30)),
        // A stopped VM counts nothing, even with (made-up) rates.
        ([vm(.shutOff, cpu: nil), vm(.shutOff, cpu: 1)], 0.0, UInt64(0)),
    ])
    func hostIsTheSumOfItsVMs(vms: [VMObservation], cpu: Double?, memory: UInt64) {
        let output = HostFromVMs.output(of: vms, capacity: Self.capacity)
        #expect(output.cpuCoresInUse == cpu)
        #expect(output.memoryInUseBytes == memory)
        #expect(output.cores == 4 && output.memoryTotalBytes == 8 << 30)
    }

    /// The agent's report for a host without VMs says 0 cores in use, not the test machine's load.
    @Test func agentReportsItsVMsNotTheMachine() async throws {
        // A private empty node: test:///default is shared by every test in this process.
        let scratch = try AgentPowerTests.Scratch()
        defer { scratch.remove() }
        let connection = try await LibvirtConnection.open(try scratch.emptyNodeURI())
        var configuration = AgentConfiguration(hostname: "vms-host")
        configuration.hostMetrics = .vms
        let monitor = try await AgentMonitor(
            configuration: configuration,
            connection: connection,
            link: ManagerLinkStatus(address: nil),
            logger: Logger(label: "test")
        )
        await monitor.sampleOnce()
        try await Task.sleep(for: .milliseconds(100))
        await monitor.sampleOnce()
        let report = try #require(await monitor.report())
        #expect(report.host.cpuCoresInUse == 0)
        #expect(report.host.memoryInUseBytes == 0)
        await connection.close()
    }
}

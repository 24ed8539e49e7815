import Foundation
import Libvirt
import Testing
import Wire

@testable import Agent

/// The domain collector on libvirt's test driver with a fixture node (three running domains with NICs and
/// disks). The driver's bulk stats return only the state, so every figure here comes through the per-call
/// fallback.
@Suite struct DomainCollectorTests {
    static func nodeURI() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/node", withExtension: "xml"))
        return "test://" + url.path
    }

    @Test func ratesNeedTwoReadingsThenCoverEveryNICAndDisk() async throws {
        let connection = try await LibvirtConnection.open(try Self.nodeURI())
        var collector = DomainCollector(connection: connection)
        let start = ContinuousClock.now
        let first = try await collector.collect(at: SampleTime(monotonic: start, wallClockMilliseconds: 1_000))
        #expect(Set(first.map(\.name)) == ["web-1", "db-1", "batch-1"])
        #expect(first.allSatisfy { $0.metrics == nil }, "no fake zero sample on the first reading")
        #expect(first.allSatisfy { $0.state == .running })
        let db = try #require(first.first { $0.name == "db-1" })
        #expect(db.nics.map(\.name).sorted() == ["tap-db1a", "tap-db1b"])

        try await Task.sleep(for: .milliseconds(200))
        let second = try await collector.collect(
            at: SampleTime(
                monotonic: .now,
                wallClockMilliseconds: 1_000 + Int64((ContinuousClock.now - start).components.seconds * 1000)
            )
        )
        for vm in second {
            let metrics = try #require(vm.metrics, "\(vm.name) has two readings now")
            #expect(metrics.cpuCoresInUse >= 0)
            #expect(metrics.memoryInUseBytes > 0)
            // The per-VM totals are the sums over its NICs.
            let rx = vm.nics.reduce(0) { $0 + $1.rxBytesPerSecond }
            #expect(abs(metrics.networkRxBytesPerSecond - rx) < 1e-6)
        }
        await connection.close()
    }

    /// test:///default is shared by every test in this process: each test works on domains of its own.
    static func defineAndStart(_ name: String, on connection: LibvirtConnection) async throws -> LibvirtDomain {
        let xml = """
            <domain type='test'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
            <os><type>hvm</type></os></domain>
            """
        let domain = try await connection.defineDomain(xml: xml)
        try await domain.start()
        return domain
    }

    @Test func vanishedDomainLeavesAndNewOneStartsWithoutRates() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let old = try await Self.defineAndStart("collector-old", on: connection)
        var collector = DomainCollector(connection: connection)
        _ = try await collector.collect(at: SampleTime(monotonic: .now, wallClockMilliseconds: 0))
        _ = try await Self.defineAndStart("collector-fresh", on: connection)
        try await old.destroy()
        try await old.undefine()
        let next = try await collector.collect(
            at: SampleTime(monotonic: .now + .seconds(1), wallClockMilliseconds: 1000)
        )
        let fresh = try #require(next.first { $0.name == "collector-fresh" })
        #expect(fresh.metrics == nil)
        #expect(fresh.virtualCPUs == 1)
        #expect(!next.contains { $0.name == "collector-old" })
        await connection.close()
    }
}

/// Commands through the executor: VM lifecycle on the test driver, power actions through a recording script.
@Suite struct CommandExecutorTests {
    static func recordingPower() throws -> (AgentConfiguration.PowerCommands, record: String) {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-power")
        let record = directory.appendingPathComponent("calls").path
        let script = directory.appendingPathComponent("power").path
        try
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \(record)\n[ \"$1\" = fail ] && { echo 'no sleep for you' >&2; exit 2; }\nexit 0\n"
            .writeExecutable(to: script)
        var power = AgentConfiguration.PowerCommands()
        power.suspendToRam = [script, "ram", "--now"]
        power.suspendToDisk = [script, "fail"]
        power.shutdown = [script, "off"]
        return (power, record)
    }

    @Test func powerActionsRunTheConfiguredProgramWithItsArguments() async throws {
        let (power, record) = try Self.recordingPower()
        let connection = try await LibvirtConnection.open("test:///default")
        let executor = CommandExecutor(connection: connection, power: power, logger: .init(label: "test"))
        // Forced: test:///default always runs the domain `test`, which would make the agent refuse.
        let ok = await executor.execute(PowerCommand(action: .suspendToRam, timeoutSeconds: 60, force: true))
        #expect(ok.isOK, "\(ok)")
        let failed = await executor.execute(PowerCommand(action: .suspendToDisk, timeoutSeconds: 60, force: true))
        #expect(failed.code == .commandFailed)
        #expect(failed.message.contains("exited with status 2"))
        #expect(failed.detail == "no sleep for you\n")
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "ram --now\nfail\n")
        await connection.close()
    }

    @Test func vmLifecycleAndErrorsBecomeCommandResults() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let executor = CommandExecutor(connection: connection, power: .init(), logger: .init(label: "test"))
        _ = try await DomainCollectorTests.defineAndStart("executor-vm", on: connection)
        #expect(await executor.execute(.suspend(name: "executor-vm")).isOK)
        #expect(try await connection.domain(named: "executor-vm").info().state == .paused)
        #expect(await executor.execute(.resume(name: "executor-vm")).isOK)
        #expect(await executor.execute(.destroy(name: "executor-vm")).isOK)
        #expect(try await connection.domain(named: "executor-vm").info().state == .shutoff)

        let missing = await executor.execute(.suspend(name: "nope"))
        #expect(missing.code == .notFound)
        #expect(missing.message.contains("nope"))
        let malformed = await executor.execute(.start(domainXML: "<domain type='test'><name>x</name>"))
        #expect(malformed.code == .invalidArgument || malformed.code == .hypervisorError)
        #expect(!malformed.isOK)

        let started = await executor.execute(
            .start(
                domainXML:
                    "<domain type='test'><name>new-vm</name><memory>65536</memory><os><type>hvm</type></os></domain>"
            )
        )
        #expect(started.isOK, "\(started)")
        #expect(try await connection.domain(named: "new-vm").isPersistent())
        #expect(try await connection.domain(named: "new-vm").isActive())
        await connection.close()
    }
}

import Foundation
import Libvirt
import Logging
import Testing
import Wire

@testable import Agent

/// Bad input and failures of the runner against libvirt's test driver, which cannot migrate: every refusal is a
/// clear CommandResult, and the VM is left running where it was. Real migrations: MigrationEndToEndTests.
@Suite struct MigrationRunnerTests {
    static func runner(progress: @escaping MigrationRunner.ProgressSink = { _ in }) -> MigrationRunner {
        var configuration = MigrationWatchdogConfiguration()
        configuration.sampleInterval = .milliseconds(100)
        return MigrationRunner(configuration: configuration, progress: progress, logger: Logger(label: "test"))
    }

    static func domainXML(_ name: String) -> String {
        """
        <domain type='test'>
          <name>\(name)</name>
          <memory unit='KiB'>65536</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
        </domain>
        """
    }

    static func uniqueName(_ purpose: String) -> String {
        "torpor-mig-\(purpose)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func order(_ name: String, method: VMCommand.Migration.Method = .live) -> VMCommand.Migration {
        VMCommand.Migration(
            name: name,
            destinationURI: "qemu+tcp://192.0.2.1/system",
            method: method,
            timeoutSeconds: 0
        )
    }

    @Test func offlineIsRefusedAsUnsupported() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let result = await Self.runner().migrate(Self.order("test", method: .offline), on: connection)
        #expect(result.code == .unsupported)
        #expect(result.message.contains("offline"))
        #expect(try await connection.domain(named: "test").info().state == .running)
    }

    @Test func anEmptyDestinationIsAnInvalidArgument() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        var order = Self.order("test")
        order.destinationURI = ""
        let result = await Self.runner().migrate(order, on: connection)
        #expect(result.code == .invalidArgument)
        #expect(result.message.contains("destination"))
    }

    @Test func anUnknownVMIsNotFound() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let name = Self.uniqueName("unknown")
        let result = await Self.runner().migrate(Self.order(name), on: connection)
        #expect(result.code == .notFound)
        #expect(result.message.contains(name))
    }

    @Test func aVMThatIsNotRunningIsRefused() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let name = Self.uniqueName("stopped")
        let domain = try await connection.defineDomain(xml: Self.domainXML(name))
        let result = await Self.runner().migrate(Self.order(name), on: connection)
        #expect(result.code == .invalidArgument)
        #expect(result.message.contains("not running"))
        try await domain.undefine()
    }

    @Test func aRefusedMigrationLeavesTheVMRunningAndSaysSo() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let name = Self.uniqueName("refused")
        let domain = try await connection.createDomain(xml: Self.domainXML(name))
        let pushes = PushLog()
        let runner = Self.runner { pushes.append($0) }
        let result = await runner.migrate(Self.order(name), on: connection)
        #expect(result.code == .hypervisorError)
        #expect(result.message.contains("virDomainMigrateToURI3"), "\(result.message)")
        #expect(result.message.contains("runs on this host"))
        #expect(try await domain.info().state == .running)
        #expect(runner.migratingVMs.isEmpty)
        // The last push is the outcome.
        let last = try #require(pushes.all.last)
        #expect(last.vmName == name)
        #expect(last.phase == .failed)
        #expect(last.steps.isEmpty)
        try await domain.destroy()
    }

    @Test func cancellingWhenNothingMigratesIsNotFound() {
        let result = Self.runner().cancel(MigrationCancel(vmName: "nobody"))
        #expect(result.code == .notFound)
        #expect(result.message.contains("nobody"))
    }

    @Test func describedStepsAndWireStepsAgree() {
        let records: [MigrationWatchdog.Record] = [
            .step(.raiseDowntime, at: .milliseconds(6_250)), .step(.pause, at: .seconds(10)),
            .stepFailed(.pause, at: .milliseconds(10_100)), .step(.abort, at: .seconds(14)),
            .resumed(.source, at: .milliseconds(14_500)),
        ]
        #expect(
            MigrationRunner.describe(records) == [
                "raise_downtime at 6.2 s", "pause at 10.0 s", "pause failed at 10.1 s", "abort at 14.0 s",
                "resume on source at 14.5 s",
            ]
        )
        #expect(
            MigrationRunner.wireSteps(records) == [
                .init(.raiseDowntime, atMilliseconds: 6_250), .init(.abort, atMilliseconds: 14_000),
                .init(.resume, atMilliseconds: 14_500),
            ]
        )
    }
}

/// MigrationProgress pushes, in order.
final class PushLog: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var pushes: [MigrationProgress] = []

    func append(_ push: MigrationProgress) { lock.withLock { pushes.append(push) } }

    var all: [MigrationProgress] { lock.withLock { pushes } }
}

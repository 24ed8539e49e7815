import CLibvirt
import Foundation
import Testing

@testable import Libvirt

/// The test driver cannot migrate or run jobs: these tests pin the flags and the typed errors; the real
/// migration runs in the KVM end-to-end tests.
@Suite struct LibvirtMigrationTests {
    @Test(arguments: [
        (MigrationStorage.shared, MigrationFlags()),
        (.copyAll, MigrationFlags.nonSharedDisk),
        (.copyIncremental, MigrationFlags.nonSharedIncremental),
    ])
    func everyMethodIsLivePeerToPeerAndMovesTheDefinition(storage: MigrationStorage, diskFlag: MigrationFlags) {
        let request = MigrationRequest(destinationURI: "qemu+tcp://10.77.0.2/system", storage: storage)
        let always: MigrationFlags = [.live, .peerToPeer, .persistDestination, .undefineSource, .abortOnError]
        #expect(request.flags == always.union(diskFlag))
        #expect(request.flags.rawValue & VIR_MIGRATE_LIVE.rawValue != 0)
    }

    @Test func autoConvergeAndPostCopyAreOptIn() {
        var request = MigrationRequest(destinationURI: "qemu+tcp://h2/system")
        #expect(!request.flags.contains(.autoConverge))
        #expect(!request.flags.contains(.postCopy))
        request.autoConverge = true
        request.allowPostCopy = true
        #expect(request.flags.contains(.autoConverge))
        #expect(request.flags.rawValue & VIR_MIGRATE_POSTCOPY.rawValue != 0)
    }

    @Test func jobStatsReadLibvirtsFieldNames() {
        let parameters = TypedParameters([
            "time_elapsed": .uint64(1_500),
            "data_total": .uint64(70_000_000),
            "data_processed": .uint64(50_000_000),
            "data_remaining": .uint64(20_000_000),
            "memory_dirty_rate": .uint64(2_000),
            "memory_page_size": .uint64(4_096),
            "memory_iteration": .uint64(3),
            "memory_remaining": .uint64(19_000_000),
        ])
        let stats = DomainJobStats(type: Int32(VIR_DOMAIN_JOB_UNBOUNDED.rawValue), parameters: parameters)
        #expect(stats.type == .unbounded)
        #expect(stats.type.isActive)
        #expect(stats.elapsedMilliseconds == 1_500)
        #expect(stats.dataTotalBytes == 70_000_000)
        #expect(stats.dataProcessedBytes == 50_000_000)
        #expect(stats.dataRemainingBytes == 20_000_000)
        #expect(stats.memoryIteration == 3)
        #expect(stats.memoryRemainingBytes == 19_000_000)
        #expect(stats.memoryDirtyRateBytesPerSecond == 8_192_000)

        let none = DomainJobStats(type: 0, parameters: TypedParameters([:]))
        #expect(none.type == .none)
        #expect(!none.type.isActive)
        #expect(none.memoryDirtyRateBytesPerSecond == nil)
        #expect(DomainJobType(libvirtValue: 99) == .unknown(99))
        #expect(none.operation == nil)
    }

    @Test func jobStatsReadTheOperation() {
        let outgoing = DomainJobStats(
            type: Int32(VIR_DOMAIN_JOB_UNBOUNDED.rawValue),
            parameters: TypedParameters(["operation": .int32(Int32(VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT.rawValue))])
        )
        #expect(outgoing.operation == .migrationOut)
        let incoming = DomainJobStats(
            type: Int32(VIR_DOMAIN_JOB_UNBOUNDED.rawValue),
            parameters: TypedParameters(["operation": .int32(Int32(VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN.rawValue))])
        )
        #expect(incoming.operation == .migrationIn)
        #expect(DomainJobOperation(libvirtValue: 99) == .other(99))
    }

    @Test func stateReasonSaysWhoPausedTheDomain() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("reason")
        let domain = try await connection.createDomain(xml: DefaultDriver.domainXML(name: name))
        #expect(try await domain.stateReason().state == .running)
        try await domain.suspend()
        let paused = try await domain.stateReason()
        #expect(paused.state == .paused)
        #expect(paused.reason == Int32(VIR_DOMAIN_PAUSED_USER.rawValue))
        #expect(!paused.isPausedByMigration)
        #expect(!paused.isPausedByPostCopy)
        #expect(DomainStateReason.pausedByMigration.isPausedByMigration)
        #expect(DomainStateReason.pausedByPostCopy.isPausedByPostCopy)
        try await domain.destroy()
        await connection.close()
    }

    @Test func theTestDriverRefusesToMigrateWithATypedError() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("migrate")
        let domain = try await connection.createDomain(xml: DefaultDriver.domainXML(name: name))
        let request = MigrationRequest(destinationURI: "qemu+tcp://192.0.2.1/system", bandwidthMiBPerSecond: 1)
        let error = await libvirtError { () async throws(LibvirtError) in try await domain.migrate(request) }
        #expect(error?.function == "virDomainMigrateToURI3")
        #expect(error?.subject == name)
        #expect(error?.message.contains("migration") == true)
        // The refused migration left the domain where it was, running.
        #expect(try await domain.info().state == .running)
        try await domain.destroy()
    }

    @Test func jobCallsAreUnsupportedByTheTestDriver() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("job")
        let domain = try await connection.createDomain(xml: DefaultDriver.domainXML(name: name))
        let calls: [(String, @Sendable () async throws(LibvirtError) -> Void)] = [
            ("virDomainGetJobStats", { () async throws(LibvirtError) in _ = try await domain.jobStats() }),
            ("virDomainAbortJob", { () async throws(LibvirtError) in try await domain.abortJob() }),
            (
                "virDomainMigrateSetMaxDowntime",
                { () async throws(LibvirtError) in try await domain.setMigrationMaxDowntime(milliseconds: 500) }
            ),
            (
                "virDomainMigrateSetMaxSpeed",
                { () async throws(LibvirtError) in try await domain.setMigrationMaxSpeed(mebibytesPerSecond: 64) }
            ),
            ("virDomainMigrateStartPostCopy", { () async throws(LibvirtError) in try await domain.startPostCopy() }),
        ]
        for (function, call) in calls {
            let error = await libvirtError(call)
            #expect(error?.function == function)
            #expect(error?.errorCode == .noSupport, "\(function): \(String(describing: error))")
            #expect(error?.subject == name)
        }
        try await domain.destroy()
    }

    @Test func migratingOnAClosedConnectionIsAnInvalidConnection() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let domain = try await connection.domain(named: "test")
        await connection.close()
        let request = MigrationRequest(destinationURI: "qemu+tcp://192.0.2.1/system")
        let error = await libvirtError { () async throws(LibvirtError) in try await domain.migrate(request) }
        #expect(error?.errorCode == .invalidConnection)
        let stats = await libvirtError { () async throws(LibvirtError) in try await domain.jobStats() }
        #expect(stats?.errorCode == .invalidConnection)
    }
}

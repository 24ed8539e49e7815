import Foundation
import Synchronization
import Testing

@testable import Libvirt

/// The stats fallback reads each running domain's XML once, not on every sample, and reads it again when the domain
/// restarts (a new id), when a lifecycle event names it, or never again once it is gone.
@Suite struct DomainDeviceCacheTests {
    /// Counts `virDomainGetXMLDesc` calls on a connection, through the connection's own call observer.
    private final class XMLReads: Sendable {
        private let count = Mutex(0)

        init(_ connection: LibvirtConnection) {
            connection.observeCalls { [self] record in
                if record.function == "virDomainGetXMLDesc" { count.withLock { $0 += 1 } }
            }
        }

        var value: Int { count.withLock { $0 } }
    }

    @Test func eachDomainsXMLIsReadOnceAcrossSamples() async throws {
        let connection = try await NodeFixture.open()
        let reads = XMLReads(connection)
        for _ in 0..<5 {
            let collected = try await connection.collectStats()
            for stats in collected {
                #expect(stats.fallbackErrors.isEmpty, "\(stats.fallbackErrors)")
                #expect(stats.interfaces.map(\.name) == NodeFixture.interfaces[stats.name])
                #expect(stats.disks.map(\.name) == NodeFixture.disks[stats.name])
            }
        }
        #expect(reads.value == NodeFixture.domainNames.count)
        #expect(connection.deviceCache.count == NodeFixture.domainNames.count)
    }

    @Test func aRestartedDomainIsReadAgain() async throws {
        let connection = try await NodeFixture.open()
        let reads = XMLReads(connection)
        _ = try await connection.collectStats()
        let web = try await connection.domain(named: "web-1")
        let idBefore = try await web.id()
        try await web.destroy()
        try await web.start()
        #expect(try await web.id() != idBefore)
        let collected = try await connection.collectStats()
        #expect(reads.value == NodeFixture.domainNames.count + 1)
        #expect(collected.first { $0.name == "web-1" }?.interfaces.map(\.name) == ["tap-web1"])
    }

    @Test func aLifecycleEventMakesTheNextSampleReadAgain() async throws {
        let connection = try await NodeFixture.open()
        let events = try await connection.domainLifecycleEvents()
        let reads = XMLReads(connection)
        _ = try await connection.collectStats()
        let web = try await connection.domain(named: "web-1")
        // Suspend and resume keep the id: only the events tell the cache.
        let id = try await web.id()
        try await web.suspend()
        try await web.resume()
        #expect(try await web.id() == id)
        let received = await firstEvents(2, of: events, timeout: .seconds(60))
        #expect(received.map(\.kind) == [.suspended, .resumed])
        _ = try await connection.collectStats()
        #expect(reads.value == NodeFixture.domainNames.count + 1)
    }

    @Test func aDomainWhoseDevicesChangedIsSeenWithItsNewDevices() async throws {
        let connection = try await NodeFixture.open()
        let reads = XMLReads(connection)
        let uuid = UUID()
        let name = DefaultDriver.uniqueName("devices")
        let domain = try await connection.defineDomain(xml: Self.domainXML(name: name, uuid: uuid, nics: ["tap-dc-a"]))
        try await domain.start()
        #expect(try await connection.collectStats().first { $0.uuid == uuid }?.interfaces.map(\.name) == ["tap-dc-a"])

        // A second NIC in the persistent definition takes effect at the next start, as on a real host.
        _ = try await connection.defineDomain(
            xml: Self.domainXML(name: name, uuid: uuid, nics: ["tap-dc-a", "tap-dc-b"])
        )
        #expect(try await connection.collectStats().first { $0.uuid == uuid }?.interfaces.map(\.name) == ["tap-dc-a"])
        let readsBeforeRestart = reads.value
        try await domain.destroy()
        try await domain.start()
        let after = try #require(try await connection.collectStats().first { $0.uuid == uuid })
        #expect(after.interfaces.map(\.name) == ["tap-dc-a", "tap-dc-b"])
        #expect(after.fallbackErrors.isEmpty, "\(after.fallbackErrors)")
        #expect(reads.value == readsBeforeRestart + 1)
    }

    @Test func anUndefinedDomainLeavesTheCache() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.defineDomain(
            xml: Self.domainXML(name: DefaultDriver.uniqueName("gone"), uuid: UUID(), nics: ["tap-gone"])
        )
        try await domain.start()
        _ = try await connection.collectStats()
        #expect(connection.deviceCache.count == NodeFixture.domainNames.count + 1)
        try await domain.destroy()
        try await domain.undefine()
        _ = try await connection.collectStats()
        #expect(connection.deviceCache.count == NodeFixture.domainNames.count)
    }

    private static func domainXML(name: String, uuid: UUID, nics: [String]) -> String {
        let interfaces = nics.map { "<interface type='ethernet'><target dev='\($0)'/></interface>" }.joined()
        return DefaultDriver.domainXML(
            name: name,
            uuid: uuid,
            devices: "<disk type='file' device='disk'><source file='/var/lib/test/\(name).img'/>"
                + "<target dev='vda' bus='virtio'/></disk>\(interfaces)"
        )
    }
}

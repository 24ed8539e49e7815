import Foundation
import Testing

@testable import Libvirt

@Suite struct LibvirtDomainTests {
    @Test func persistentDomainLifecycle() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("lifecycle")
        let domain = try await connection.defineDomain(xml: DefaultDriver.domainXML(name: name))
        #expect(domain.name == name)
        #expect(try await domain.isPersistent())
        #expect(try await !domain.isActive())
        #expect(try await domain.info().state == .shutoff)
        #expect(try await domain.id() == nil)

        try await domain.start()
        #expect(try await domain.isActive())
        #expect(try await domain.info().state == .running)
        #expect(try await domain.id() != nil)

        try await domain.suspend()
        #expect(try await domain.info().state == .paused)
        try await domain.resume()
        #expect(try await domain.info().state == .running)

        try await domain.reboot()
        #expect(try await domain.info().state == .running)

        // The test driver completes a guest shutdown at once.
        try await domain.shutdown()
        #expect(try await domain.info().state == .shutoff)

        try await domain.start()
        try await domain.destroy()
        #expect(try await domain.info().state == .shutoff)
        #expect(try await !domain.isActive())

        try await domain.undefine()
        let gone = await libvirtError { () async throws(LibvirtError) in try await connection.domain(named: name) }
        #expect(gone?.errorCode == .noDomain)
    }

    @Test func transientDomainVanishesWhenDestroyed() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("transient")
        let domain = try await connection.createDomain(xml: DefaultDriver.domainXML(name: name))
        #expect(try await domain.isActive())
        #expect(try await !domain.isPersistent())
        #expect(try await domain.info().state == .running)

        try await domain.destroy()
        let gone = await libvirtError { () async throws(LibvirtError) in
            try await connection.domain(uuid: domain.uuid)
        }
        #expect(gone?.errorCode == .noDomain)
    }

    @Test func lookupsByNameAndUUIDFindTheSameDomain() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let name = DefaultDriver.uniqueName("lookup")
        let uuid = UUID()
        let defined = try await connection.defineDomain(xml: DefaultDriver.domainXML(name: name, uuid: uuid))
        #expect(defined.uuid == uuid)
        #expect(defined.uuidString == uuid.uuidString.lowercased())
        #expect(defined.uuidBytes.count == 16)

        let byName = try await connection.domain(named: name)
        let byUUID = try await connection.domain(uuid: uuid)
        let byBytes = try await connection.domain(uuidBytes: defined.uuidBytes)
        let byString = try await connection.domain(uuidString: defined.uuidString)
        let byUppercase = try await connection.domain(uuidString: uuid.uuidString)
        for found in [byName, byUUID, byBytes, byString, byUppercase] {
            #expect(found.name == name)
            #expect(found.uuid == uuid)
        }

        let listed = try await connection.allDomains()
        #expect(listed.contains { $0.uuid == uuid && $0.name == name })
        // Inactive domains are listed too, next to the running built-in one.
        #expect(try await listed.first { $0.name == name }?.isActive() == false)
        #expect(listed.contains { $0.name == "test" })

        try await defined.undefine()
    }

    @Test func xmlDescriptionNamesTheDomainAndItsDevices() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(uuidString: NodeFixture.web1UUID)
        #expect(domain.name == "web-1")
        let xml = try await domain.xmlDescription()
        #expect(xml.contains("<name>web-1</name>"))
        #expect(xml.contains(NodeFixture.web1UUID))
        let devices = DomainXMLDevices(domainXML: xml)
        #expect(devices.interfaces.compactMap(\.targetDevice) == ["tap-web1"])
        #expect(devices.disks.map(\.targetDevice) == ["vda", "vdb"])

        let inactiveXML = try await domain.xmlDescription(flags: .inactive)
        #expect(inactiveXML.contains("<name>web-1</name>"))
    }

    @Test func infoReportsTheFixtureSizes() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(named: "web-1")
        let info = try await domain.info()
        #expect(info.state == .running)
        #expect(info.memoryKiB == NodeFixture.web1CurrentMemoryKiB)
        #expect(info.maxMemoryKiB == NodeFixture.web1MaxMemoryKiB)
        #expect(info.virtualCPUCount == 2)
        #expect(info.cpuTimeNanoseconds > 0)
    }

    @Test func everyStateHasASwiftName() {
        #expect(DomainState(libvirtValue: 0) == .noState)
        #expect(DomainState(libvirtValue: 1) == .running)
        #expect(DomainState(libvirtValue: 2) == .blocked)
        #expect(DomainState(libvirtValue: 3) == .paused)
        #expect(DomainState(libvirtValue: 4) == .shutdown)
        #expect(DomainState(libvirtValue: 5) == .shutoff)
        #expect(DomainState(libvirtValue: 6) == .crashed)
        #expect(DomainState(libvirtValue: 7) == .pmSuspended)
        #expect(DomainState(libvirtValue: 99) == .noState)
    }
}

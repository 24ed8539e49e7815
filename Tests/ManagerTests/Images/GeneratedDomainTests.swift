import Testing

@testable import Manager

/// The domain written for a VM from an image, checked by the manager's own strict template parser (which every
/// domain passes through when a VM gets a new lease); libvirt's test driver takes it in GroupLeaderImageTests.
@Suite struct GeneratedDomainTests {
    static let domain = GeneratedDomain(
        name: "web-1",
        uuid: "0b7e9c1a-54f1-4c38-9a0e-2f6d1e0c9b11",
        domainType: "kvm",
        virtualCPUs: 2,
        memoryBytes: 512 << 20,
        overlayPath: "/srv/vms/web-1.qcow2",
        seedPath: "/srv/vms/web-1-seed.iso",
        network: "default",
        macAddress: "52:54:00:a8:7a:0a"
    )

    /// A pragma frontend's second NIC: one more interface per MAC, in order, on the same network.
    @Test func moreMACsAreMoreInterfacesInOrder() throws {
        var domain = Self.domain
        domain.moreMacAddresses = ["7a:77:6e:a8:7a:0a"]
        let template = try DomainTemplate.parse(domain.xml, diskExists: { _ in true })
        #expect(template.interfaceCount == 2)
        let first = try #require(domain.xml.range(of: "<mac address='52:54:00:a8:7a:0a'/>"))
        let second = try #require(domain.xml.range(of: "<mac address='7a:77:6e:a8:7a:0a'/>"))
        #expect(first.upperBound < second.lowerBound)
        #expect(domain.xml.components(separatedBy: "<source network='default'/>").count == 3)
    }

    @Test func itParsesAsATemplateWithTheFlavorsSizeAndBothDisks() throws {
        let template = try DomainTemplate.parse(Self.domain.xml, diskExists: { _ in true })
        #expect(template.name == "web-1")
        #expect(template.uuid == Self.domain.uuid)
        #expect(template.domainType == "kvm")
        #expect(template.virtualCPUs == 2)
        #expect(template.memoryBytes == 512 << 20)
        #expect(template.diskSources == ["/srv/vms/web-1.qcow2", "/srv/vms/web-1-seed.iso"])
        #expect(template.interfaceCount == 1)
        // Re-applying the identity (a new lease) keeps everything but the MAC.
        let again = template.domainXML(uuid: Self.domain.uuid, mac: "52:54:00:a8:7a:0b")
        #expect(again.contains("<mac address=\"52:54:00:a8:7a:0b\"/>") || again.contains("'52:54:00:a8:7a:0b'"))
        #expect(again.contains("web-1-seed.iso"))
    }

    @Test func theSeedIsAReadOnlyCDROMAndTheOverlayAVirtioDisk() {
        let xml = Self.domain.xml
        #expect(xml.contains("<disk type='file' device='cdrom'>"))
        #expect(xml.contains("<readonly/>"))
        #expect(xml.contains("<driver name='qemu' type='qcow2'/>\n      <source file='/srv/vms/web-1.qcow2'/>"))
        #expect(xml.contains("<target dev='vda' bus='virtio'/>"))
        #expect(xml.contains("<rom enabled='no'/>"))
        var noSeed = Self.domain
        noSeed.seedPath = ""
        #expect(!noSeed.xml.contains("cdrom"))
    }

    @Test(arguments: [
        (ImagesConfiguration.InterfaceType.network, "<interface type='network'>", "<source network='lab'/>" as String?),
        (.bridge, "<interface type='bridge'>", "<source bridge='lab'/>"),
        (.ethernet, "<interface type='ethernet'>", nil),
    ])
    func theInterfaceIsConnectedAsConfigured(type: ImagesConfiguration.InterfaceType, element: String, source: String?)
    {
        var domain = Self.domain
        domain.interfaceType = type
        domain.network = "lab"
        #expect(domain.xml.contains(element))
        if let source {
            #expect(domain.xml.contains(source))
        } else {
            #expect(!domain.xml.contains("<source network") && !domain.xml.contains("<source bridge"))
        }
    }

    @Test func valuesCannotBreakOutOfTheirAttributes() throws {
        var domain = Self.domain
        domain.overlayPath = "/srv/vms/a'b<c>&d\".qcow2"
        domain.network = "x'/><evil/>"
        let template = try DomainTemplate.parse(domain.xml, diskExists: { _ in true })
        #expect(template.diskSources.first == "/srv/vms/a'b<c>&d\".qcow2")
        #expect(!domain.xml.contains("<evil/>"))
    }

    @Test func theTestDriversDomainHasNoVirtioOrConsole() {
        var domain = Self.domain
        domain.domainType = "test"
        #expect(!domain.xml.contains("virtio"))
        #expect(!domain.xml.contains("<serial"))
        #expect(domain.xml.hasPrefix("<domain type='test'>"))
    }
}

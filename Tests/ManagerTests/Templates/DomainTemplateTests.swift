import Testing

@testable import Manager

@Suite struct DomainTemplateTests {
    static let webTemplate = """
        <?xml version="1.0"?>
        <!-- web server template -->
        <domain type='kvm'>
          <name> web-template </name>
          <uuid>4DEA22B3-1D52-D8F3-2516-782E98AB3FA0</uuid>
          <memory unit='MiB'>2048</memory>
          <currentMemory unit='MiB'>2048</currentMemory>
          <vcpu placement='static'>2</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source file='/var/lib/torpor/web.qcow2'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <disk type='file' device='cdrom'>
              <target dev='hdc' bus='ide'/>
              <readonly/>
            </disk>
            <disk type='network' device='disk'>
              <source protocol='rbd' name='pool/image'/>
              <target dev='vdb' bus='virtio'/>
            </disk>
            <disk type='file' device='disk'>
              <source file="/var/lib/torpor/data &amp; logs.qcow2"/>
              <target dev='vdc' bus='virtio'/>
            </disk>
            <interface type='network'>
              <mac address='52:54:00:aa:bb:cc'/>
              <source network='default'/>
            </interface>
            <interface type='bridge'>
              <source bridge='br0'/>
            </interface>
          </devices>
        </domain>
        """

    /// A small valid domain with the interesting parts replaceable.
    static func domain(
        type: String = "kvm",
        name: String? = "vm-1",
        uuid: String? = nil,
        memory: String = "<memory>1024</memory>",
        vcpu: String = "",
        devices: String = ""
    ) -> String {
        var xml = "<domain type='\(type)'>\n"
        if let name {
            xml += "  <name>\(name)</name>\n"
        }
        if let uuid {
            xml += "  <uuid>\(uuid)</uuid>\n"
        }
        xml += "  \(memory)\n  \(vcpu)\n"
        if !devices.isEmpty {
            xml += "  <devices>\n    \(devices)\n  </devices>\n"
        }
        return xml + "</domain>\n"
    }

    static func parse(_ xml: String, nameOverride: String? = nil) throws(TemplateError) -> DomainTemplate {
        try DomainTemplate.parse(xml, nameOverride: nameOverride) { _ in true }
    }

    // MARK: Fields

    @Test func readsEveryField() throws {
        let template = try Self.parse(Self.webTemplate)
        #expect(template.name == "web-template")
        #expect(template.uuid == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0")
        #expect(template.domainType == "kvm")
        #expect(template.virtualCPUs == 2)
        #expect(template.memoryBytes == 2048 * 1024 * 1024)
        #expect(template.diskSources == ["/var/lib/torpor/web.qcow2", "/var/lib/torpor/data & logs.qcow2"])
        #expect(template.interfaceCount == 2)
    }

    @Test func minimalDomainHasDefaults() throws {
        let template = try Self.parse("<domain type='test'><name>t</name><memory>1</memory></domain>")
        #expect(template.name == "t")
        #expect(template.uuid == nil)
        #expect(template.domainType == "test")
        #expect(template.virtualCPUs == 1)
        #expect(template.memoryBytes == 1024)
        #expect(template.diskSources.isEmpty)
        #expect(template.interfaceCount == 0)
    }

    @Test(
        arguments: [
            (nil, "1024", 1_048_576),
            ("b", "512", 512),
            ("bytes", "512", 512),
            ("KB", "1", 1000),
            ("k", "1", 1024),
            ("KiB", "1", 1024),
            ("MB", "3", 3_000_000),
            ("M", "3", 3 * 1_048_576),
            ("MiB", "3", 3 * 1_048_576),
            ("GB", "2", 2_000_000_000),
            ("G", "2", 2 << 30),
            ("GiB", "2", 2 << 30),
            ("TB", "1", 1_000_000_000_000),
            ("T", "1", 1 << 40),
            ("TiB", "1", 1 << 40),
            // libvirt reads units case-insensitively: only the "B" without "i" selects powers of 1000.
            ("kb", "1", 1000),
            ("K", "1", 1024),
            ("mib", "1", 1 << 20),
            ("gB", "1", 1_000_000_000),
            ("B", "7", 7),
            ("GiB", " 4\n", 4 << 30),
            ("b", "18446744073709551615", UInt64.max),
        ] as [(String?, String, UInt64)]
    )
    func scalesMemoryByUnit(unit: String?, amount: String, bytes: UInt64) throws {
        let unitAttribute = unit.map { " unit='\($0)'" } ?? ""
        let template = try Self.parse(Self.domain(memory: "<memory\(unitAttribute)>\(amount)</memory>"))
        #expect(template.memoryBytes == bytes)
    }

    @Test(arguments: [
        ("<memory>abc</memory>", "domain/memory", "abc"),
        ("<memory>0</memory>", "domain/memory", "0"),
        ("<memory unit='GiB'>0</memory>", "domain/memory", "0"),
        ("<memory>-1</memory>", "domain/memory", "-1"),
        ("<memory>+5</memory>", "domain/memory", "+5"),
        ("<memory unit='GiB'>1.5</memory>", "domain/memory", "1.5"),
        ("<memory>1 024</memory>", "domain/memory", "1 024"),
        ("<memory></memory>", "domain/memory", ""),
        ("<memory>18446744073709551616</memory>", "domain/memory", "18446744073709551616"),
        ("<memory>18446744073709551615</memory>", "domain/memory", "18446744073709551615"),
        ("<memory unit='EiB'>16</memory>", "domain/memory", "16"),
        ("<memory unit='XB'>1</memory>", "domain/memory@unit", "XB"),
        ("<memory unit=''>1</memory>", "domain/memory@unit", ""),
        ("<memory unit='KiBB'>1</memory>", "domain/memory@unit", "KiBB"),
        ("<memory unit='kilobytes'>1</memory>", "domain/memory@unit", "kilobytes"),
    ])
    func rejectsBadMemory(memory: String, element: String, value: String) {
        let error = #expect(throws: TemplateError.self) { try Self.parse(Self.domain(memory: memory)) }
        guard case .invalidValue(element, value, _) = error else {
            Issue.record("expected invalid \(element) \"\(value)\", got \(String(describing: error))")
            return
        }
    }

    @Test func memoryIsRequired() {
        #expect(throws: TemplateError.missingElement("domain/memory")) {
            try Self.parse(Self.domain(memory: "<currentMemory>1024</currentMemory>"))
        }
        #expect(
            TemplateError.missingElement("domain/memory").description
                == "the template lacks the required element domain/memory"
        )
    }

    @Test(arguments: [
        ("", 1),
        ("<vcpu>1</vcpu>", 1),
        ("<vcpu placement='static' current='2'> 8 </vcpu>", 8),
        ("<vcpu>4096</vcpu>", 4096),
    ])
    func readsVirtualCPUs(vcpu: String, count: Int) throws {
        #expect(try Self.parse(Self.domain(vcpu: vcpu)).virtualCPUs == count)
    }

    @Test(arguments: ["0", "4097", "two", "-1", "", "2.0", "99999999999999999999999"])
    func rejectsBadVirtualCPUs(value: String) {
        let error = #expect(throws: TemplateError.self) { try Self.parse(Self.domain(vcpu: "<vcpu>\(value)</vcpu>")) }
        guard case .invalidValue("domain/vcpu", value, _) = error else {
            Issue.record("expected invalid domain/vcpu \"\(value)\", got \(String(describing: error))")
            return
        }
    }

    @Test(arguments: [
        ("4dea22b3-1d52-d8f3-2516-782e98ab3fa0", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"),
        ("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"),
        (" 4dea22b3-1D52-d8f3-2516-782e98ab3fa0\n", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"),
        ("4dea22b31d52d8f32516782e98ab3fa0", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"),
        ("00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"),
    ])
    func canonicalisesUUID(written: String, canonical: String) throws {
        let template = try Self.parse(Self.domain(uuid: written))
        #expect(template.uuid == canonical)
    }

    @Test(arguments: [
        "",
        "not-a-uuid",
        "4dea22b3-1d52-d8f3-2516-782e98ab3fa",
        "4dea22b3-1d52-d8f3-2516-782e98ab3fa00",
        "4dea22b3-1d52-d8f3-2516-782e98ab3fag",
        "4dea22b3_1d52_d8f3_2516_782e98ab3fa0",
        "4dea22b31-d52-d8f3-2516-782e98ab3fa0",
        "{4dea22b3-1d52-d8f3-2516-782e98ab3fa0}",
        "4dea22b31d52d8f32516782e98ab3fa",
        "4dea 22b3-1d52-d8f3-2516-782e98ab3fa0",
        "４dea22b3-1d52-d8f3-2516-782e98ab3fa0",
    ])
    func rejectsInvalidUUID(uuid: String) {
        let error = #expect(throws: TemplateError.self) { try Self.parse(Self.domain(uuid: uuid)) }
        guard case .invalidValue("domain/uuid", _, _) = error else {
            Issue.record("expected invalid domain/uuid, got \(String(describing: error))")
            return
        }
    }

    // MARK: Names

    static let longestName = String(repeating: "a", count: 64)

    @Test(arguments: ["a", "web-1", "A.b_c-9", "1abc", "_x", longestName])
    func acceptsValidNames(name: String) throws {
        #expect(DomainTemplate.isValidName(name))
        #expect(try Self.parse(Self.domain(name: name)).name == name)
        #expect(try Self.parse(Self.domain(), nameOverride: name).name == name)
    }

    @Test(arguments: ["-web", ".web", "", longestName + "a", "web 1", "wéb", "web/1", "a:b", "web\t", "😀"])
    func rejectsInvalidNames(name: String) {
        #expect(!DomainTemplate.isValidName(name))
        #expect(throws: TemplateError.invalidName(name)) { try Self.parse(Self.domain(), nameOverride: name) }
    }

    @Test(arguments: ["-web", ".web", "", "  ", "web 1", "web/1", longestName + "a"])
    func rejectsInvalidTemplateNames(name: String) {
        let trimmed = name.trimmingSpaces
        #expect(throws: TemplateError.invalidName(trimmed)) { try Self.parse(Self.domain(name: name)) }
    }

    @Test func invalidNameDescriptionExplainsTheRule() {
        #expect(
            TemplateError.invalidName("-web").description
                == "invalid VM name \"-web\": a name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', "
                + "and does not start with '-' or '.'"
        )
    }

    // MARK: Structure errors

    @Test(arguments: [
        ("<vm type='kvm'><name>a</name></vm>", TemplateError.notADomain(root: "vm")),
        ("<domain><name>a</name><memory>1</memory></domain>", .missingElement("domain@type")),
        (
            "<domain type=''><name>a</name><memory>1</memory></domain>",
            .invalidValue(
                element: "domain@type",
                value: "",
                reason: "expected a libvirt domain type such as kvm, qemu or test"
            )
        ),
        (
            "<domain type='KVM'><name>a</name><memory>1</memory></domain>",
            .invalidValue(
                element: "domain@type",
                value: "KVM",
                reason: "expected a libvirt domain type such as kvm, qemu or test"
            )
        ),
        ("<domain type='kvm'><memory>1</memory></domain>", .missingElement("domain/name")),
        (
            "<domain type='kvm'><name>a</name><name>b</name><memory>1</memory></domain>",
            .duplicateElement("domain/name")
        ),
        (
            domain(uuid: "00000000-0000-0000-0000-000000000000")
                .replacingFirst("</uuid>", with: "</uuid><uuid>00000000-0000-0000-0000-000000000001</uuid>"),
            .duplicateElement("domain/uuid")
        ),
        (domain(memory: "<memory>1</memory><memory>2</memory>"), .duplicateElement("domain/memory")),
        (domain(vcpu: "<vcpu>1</vcpu><vcpu>2</vcpu>"), .duplicateElement("domain/vcpu")),
        (domain(vcpu: "<devices/>", devices: "<disk/>"), .duplicateElement("domain/devices")),
        (
            domain(devices: "<disk type='file'><source file=''/></disk>"),
            .invalidValue(
                element: "domain/devices/disk/source@file",
                value: "",
                reason: "a disk image path must not be empty"
            )
        ),
        (
            "<domain type='kvm'>",
            .malformedXML(
                line: 1,
                message: "unexpected end of input: <domain> opened on line 1 is never closed"
            )
        ),
    ])
    func rejectsBrokenStructure(xml: String, expected: TemplateError) {
        #expect(throws: expected) { try Self.parse(xml) }
    }

    @Test(arguments: [
        (
            TemplateError.malformedXML(line: 3, message: "</devices> closes <disk> opened on line 2"),
            "malformed XML at line 3: </devices> closes <disk> opened on line 2"
        ),
        (.notADomain(root: "foo"), "the root element is <foo>, expected <domain>"),
        (.missingElement("domain/name"), "the template lacks the required element domain/name"),
        (.missingElement("domain@type"), "the template lacks the required attribute domain@type"),
        (.duplicateElement("domain/uuid"), "the element domain/uuid appears more than once in the template"),
        (
            .invalidValue(element: "domain/vcpu", value: "0", reason: "expected a whole number from 1 to 4096"),
            "invalid value \"0\" for domain/vcpu: expected a whole number from 1 to 4096"
        ),
        (
            .missingDisk(vm: "web-1", path: "/var/lib/torpor/missing.qcow2"),
            "VM web-1: disk /var/lib/torpor/missing.qcow2 does not exist"
        ),
        (
            .tooLarge(bytes: 2_000_000, limit: 1_048_576),
            "the template is 2000000 bytes, more than the limit of 1048576 bytes"
        ),
    ])
    func errorsDescribeThemselvesInASentence(error: TemplateError, description: String) {
        #expect(error.description == description)
        #expect("\(error)" == description)
    }

    @Test func notADomainDescription() {
        #expect(TemplateError.notADomain(root: "foo").description == "the root element is <foo>, expected <domain>")
    }

    @Test func oversizedTemplateIsRejected() {
        let xml = Self.domain() + "<!--" + String(repeating: "x", count: TemplateXMLParser.maximumBytes) + "-->"
        #expect(throws: TemplateError.tooLarge(bytes: xml.utf8.count, limit: 1_048_576)) { try Self.parse(xml) }
    }

    // MARK: Name override and disks

    @Test func nameOverrideReplacesNameAndDropsUUID() throws {
        let template = try Self.parse(Self.webTemplate, nameOverride: "web-7")
        #expect(template.name == "web-7")
        #expect(template.uuid == nil)
        #expect(template.root.firstElement(named: "uuid") == nil)
        #expect(template.root.firstElement(named: "name")?.text == "web-7")

        let reparsed = try Self.parse(template.domainXML(uuid: "11111111-2222-3333-4444-555555555555", mac: nil))
        #expect(reparsed.name == "web-7")
        #expect(reparsed.uuid == "11111111-2222-3333-4444-555555555555")
        #expect(reparsed.root.elements.prefix(3).map(\.name) == ["name", "uuid", "memory"])
    }

    @Test func templateIsValidatedBeforeTheOverrideApplies() {
        #expect(
            throws: TemplateError.invalidValue(
                element: "domain/uuid",
                value: "bogus",
                reason: "expected 32 hex digits as 8-4-4-4-12, e.g. 4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
            )
        ) {
            try Self.parse(Self.domain(uuid: "bogus"), nameOverride: "vm-2")
        }
    }

    @Test func asksAboutEveryDiskSourceInOrder() throws {
        var asked: [String] = []
        let template = try DomainTemplate.parse(Self.webTemplate) { path in
            asked.append(path)
            return true
        }
        #expect(asked == ["/var/lib/torpor/web.qcow2", "/var/lib/torpor/data & logs.qcow2"])
        #expect(asked == template.diskSources)
    }

    @Test func missingDiskNamesThePathAndTheVM() {
        var asked: [String] = []
        #expect(throws: TemplateError.missingDisk(vm: "web-1", path: "/var/lib/torpor/data & logs.qcow2")) {
            try DomainTemplate.parse(Self.webTemplate, nameOverride: "web-1") { path in
                asked.append(path)
                return path == "/var/lib/torpor/web.qcow2"
            }
        }
        #expect(asked == ["/var/lib/torpor/web.qcow2", "/var/lib/torpor/data & logs.qcow2"])
        #expect(
            TemplateError.missingDisk(vm: "web-1", path: "/var/lib/torpor/missing.qcow2").description
                == "VM web-1: disk /var/lib/torpor/missing.qcow2 does not exist"
        )
    }

    @Test func invalidTemplatesNeverReachTheDiskCheck() {
        var asked = 0
        #expect(throws: TemplateError.self) {
            try DomainTemplate.parse(Self.webTemplate.replacingFirst("2048", with: "lots")) { _ in
                asked += 1
                return true
            }
        }
        #expect(asked == 0)
    }

    // MARK: Domain XML

    @Test func domainXMLRoundTripsNameUUIDAndMAC() throws {
        let template = try Self.parse(Self.webTemplate, nameOverride: "web-3")
        let uuid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        let xml = template.domainXML(uuid: uuid, mac: "52:54:c0:a8:7a:06")
        let reparsed = try Self.parse(xml)
        #expect(reparsed.name == "web-3")
        #expect(reparsed.uuid == uuid)
        #expect(reparsed.domainType == template.domainType)
        #expect(reparsed.virtualCPUs == template.virtualCPUs)
        #expect(reparsed.memoryBytes == template.memoryBytes)
        #expect(reparsed.diskSources == template.diskSources)
        #expect(reparsed.interfaceCount == 2)
        let interfaces = reparsed.root.firstElement(named: "devices")?.elements(named: "interface") ?? []
        #expect(interfaces.first?.elements(named: "mac").map { $0.attribute("address") } == ["52:54:c0:a8:7a:06"])
        #expect(interfaces.last?.firstElement(named: "mac") == nil)
        // Everything the manager does not interpret passes through unchanged.
        let original = try TemplateXMLParser.parse(Self.webTemplate)
        for name in ["os", "currentMemory", "vcpu"] {
            #expect(
                reparsed.root.firstElement(named: name)?.xmlString() == original.firstElement(named: name)?.xmlString()
            )
        }
        #expect(xml.contains("<name>web-3</name>\n  <uuid>\(uuid)</uuid>\n  <memory unit=\"MiB\">"))
    }

    @Test func domainXMLReplacesTheTemplatesUUID() throws {
        let template = try Self.parse(Self.webTemplate)
        let reparsed = try TemplateXMLParser.parse(
            template.domainXML(uuid: "00000000-0000-0000-0000-000000000009", mac: nil)
        )
        #expect(reparsed.elements(named: "uuid").map(\.text) == ["00000000-0000-0000-0000-000000000009"])
        #expect(reparsed.elements.prefix(2).map(\.name) == ["name", "uuid"])
    }

    @Test func domainXMLUsesTheCurrentName() throws {
        var template = try Self.parse(Self.webTemplate)
        template.name = "renamed"
        let reparsed = try Self.parse(template.domainXML(uuid: "00000000-0000-0000-0000-000000000009", mac: nil))
        #expect(reparsed.name == "renamed")
    }

    @Test func macReplacesTheExistingAddressKeepingOtherAttributes() throws {
        let template = try Self.parse(
            Self.domain(
                devices: "<interface type='network'><source network='default'/>"
                    + "<mac type='static' address='52:54:00:00:00:01'/></interface>"
            )
        )
        let reparsed = try TemplateXMLParser.parse(
            template.domainXML(uuid: "00000000-0000-0000-0000-000000000001", mac: "52:54:0a:00:00:05")
        )
        let interface = try #require(reparsed.firstElement(named: "devices")?.firstElement(named: "interface"))
        #expect(interface.elements.map(\.name) == ["source", "mac"])
        #expect(
            interface.firstElement(named: "mac")?.attributes == [
                .init(name: "type", value: "static"), .init(name: "address", value: "52:54:0a:00:00:05"),
            ]
        )
    }

    @Test func macIsInsertedAsTheFirstChildOfTheFirstInterface() throws {
        let template = try Self.parse(Self.webTemplate.replacingFirst("<mac address='52:54:00:aa:bb:cc'/>", with: ""))
        let xml = template.domainXML(uuid: "00000000-0000-0000-0000-000000000001", mac: "52:54:0a:00:00:05")
        let devices = try #require(try TemplateXMLParser.parse(xml).firstElement(named: "devices"))
        let interfaces = devices.elements(named: "interface")
        guard case .element(let first) = interfaces.first?.children.first else {
            Issue.record("the first interface's first child is not an element: \(xml)")
            return
        }
        #expect(first.name == "mac")
        #expect(first.attributes == [.init(name: "address", value: "52:54:0a:00:00:05")])
        #expect(interfaces.last?.firstElement(named: "mac") == nil)
    }

    @Test func macIsLeftAloneWhenNil() throws {
        let template = try Self.parse(Self.webTemplate)
        let xml = template.domainXML(uuid: "00000000-0000-0000-0000-000000000001", mac: nil)
        #expect(xml.contains("<mac address=\"52:54:00:aa:bb:cc\"/>"))
    }

    @Test(arguments: [
        "",
        "<disk type='file'><source file='/var/lib/torpor/a.img'/></disk>",
    ])
    func templatesWithoutInterfacesIgnoreMAC(devices: String) throws {
        let template = try Self.parse(Self.domain(devices: devices))
        #expect(template.interfaceCount == 0)
        let uuid = "00000000-0000-0000-0000-000000000001"
        let withMAC = template.domainXML(uuid: uuid, mac: "52:54:0a:00:00:05")
        #expect(!withMAC.contains("mac"))
        #expect(withMAC == template.domainXML(uuid: uuid, mac: nil))
        #expect(try Self.parse(withMAC).uuid == uuid)
    }

    @Test func textAndEntitiesSurviveDomainXML() throws {
        let template = try Self.parse(
            Self.domain(devices: "<disk type='file'><source file='/a &amp; &lt;b&gt; &quot;c&quot;.img'/></disk>")
                .replacingFirst(
                    "<memory>",
                    with: "<description>x &lt; y &amp;&amp; <![CDATA[<z>]]></description><memory>"
                )
        )
        let reparsed = try Self.parse(template.domainXML(uuid: "00000000-0000-0000-0000-000000000001", mac: nil))
        #expect(reparsed.diskSources == ["/a & <b> \"c\".img"])
        #expect(reparsed.root.firstElement(named: "description")?.text == "x < y && <z>")
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines; Foundation-free for the tests.
    fileprivate var trimmingSpaces: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
            let end = scalars.lastIndex(where: { !isSpace($0) })
        else {
            return ""
        }
        return String(scalars[start...end])
    }

    /// The string with the first occurrence of `target` replaced.
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }
}

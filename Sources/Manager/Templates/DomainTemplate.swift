/// A libvirt domain template, validated before any host sees it: a bad template should fail at submission with a
/// message naming the problem, not minutes later as a libvirt error on whichever host was picked.
///
/// Only the fields placement and bookkeeping need are extracted; the rest of the document is kept as parsed and
/// passed through to the hypervisor by `domainXML(uuid:mac:)`.
public struct DomainTemplate: Sendable, Hashable {
    /// /domain/name text, trimmed; a valid VM name (see `isValidName`).
    public var name: String
    /// /domain/uuid in canonical lower-case 8-4-4-4-12 form, or nil if the template has none.
    public var uuid: String?
    /// /domain@type: "kvm", "qemu", "test", ...
    public var domainType: String
    /// /domain/vcpu, 1 when absent, as libvirt defaults.
    public var virtualCPUs: Int
    /// /domain/memory scaled by its unit attribute.
    public var memoryBytes: UInt64
    /// /domain/devices/disk/source@file of every disk with a file source, in document order.
    public var diskSources: [String]
    /// The number of /domain/devices/interface elements.
    public var interfaceCount: Int
    /// The parsed document, kept so domainXML passes through everything the manager does not interpret.
    var root: TemplateXMLNode

    static let vcpuRange = 1...4096
    static let maximumNameLength = 64

    /// Parses and validates. `nameOverride` replaces the <name> text and drops the template's <uuid> (so one
    /// template can make many VMs). `diskExists` is asked for each disk source file path; a false answer is an error
    /// naming the disk path and the VM.
    ///
    /// The template is validated as written, <name> and <uuid> included, before the override is applied: a template
    /// that libvirt would reject on its own is a broken template even when its name is always replaced.
    public static func parse(
        _ xml: String,
        nameOverride: String? = nil,
        diskExists: (String) -> Bool
    ) throws(TemplateError) -> DomainTemplate {
        var root = try TemplateXMLParser.parse(xml)
        guard root.name == "domain" else {
            throw .notADomain(root: root.name)
        }

        guard let domainType = root.attribute("type") else {
            throw .missingElement("domain@type")
        }
        guard !domainType.isEmpty, domainType.unicodeScalars.allSatisfy(isLowerCaseAlphanumeric) else {
            throw .invalidValue(
                element: "domain@type",
                value: domainType,
                reason: "expected a libvirt domain type such as kvm, qemu or test"
            )
        }

        guard let nameElement = try singleElement("name", in: root, path: "domain/name") else {
            throw .missingElement("domain/name")
        }
        let templateName = trimmed(nameElement.text)
        guard isValidName(templateName) else {
            throw .invalidName(templateName)
        }

        var uuid: String?
        if let uuidElement = try singleElement("uuid", in: root, path: "domain/uuid") {
            let text = trimmed(uuidElement.text)
            guard let canonical = canonicalUUID(text) else {
                throw .invalidValue(
                    element: "domain/uuid",
                    value: text,
                    reason: "expected 32 hex digits as 8-4-4-4-12, e.g. 4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
                )
            }
            uuid = canonical
        }

        var name = templateName
        if let nameOverride {
            guard isValidName(nameOverride) else {
                throw .invalidName(nameOverride)
            }
            name = nameOverride
            uuid = nil
            root.removeElements(named: "uuid")
        }

        let virtualCPUs = try parseVirtualCPUs(root)
        let memoryBytes = try parseMemory(root)

        var diskSources: [String] = []
        var interfaceCount = 0
        if let devices = try singleElement("devices", in: root, path: "domain/devices") {
            for disk in devices.elements(named: "disk") {
                guard let file = disk.firstElement(named: "source")?.attribute("file") else {
                    continue  // network, block and empty CD-ROM disks have no file to check
                }
                guard !file.isEmpty else {
                    throw .invalidValue(
                        element: "domain/devices/disk/source@file",
                        value: file,
                        reason: "a disk image path must not be empty"
                    )
                }
                diskSources.append(file)
            }
            interfaceCount = devices.elements(named: "interface").count
        }
        // Last, once the cheap checks passed: the disk check may touch the file system.
        for path in diskSources where !diskExists(path) {
            throw .missingDisk(vm: name, path: path)
        }

        var template = DomainTemplate(
            name: name,
            uuid: uuid,
            domainType: domainType,
            virtualCPUs: virtualCPUs,
            memoryBytes: memoryBytes,
            diskSources: diskSources,
            interfaceCount: interfaceCount,
            root: root
        )
        template.root = template.applyingIdentity(uuid: uuid, mac: nil)
        return template
    }

    /// The domain XML to send to the hypervisor: the parsed tree with <name> set to `name`, <uuid> set to `uuid`
    /// (inserted right after <name> when the template had none), and, when `mac` is non-nil and the template has at
    /// least one interface, the first interface's <mac address='…'/> set (replacing an existing <mac> element's
    /// address attribute or inserting a <mac> element as the interface's first child).
    public func domainXML(uuid: String, mac: String?) -> String {
        applyingIdentity(uuid: uuid, mac: mac).xmlString()
    }

    /// 1–64 characters of [A-Za-z0-9._-], not starting with '-' (read as an option by virsh and scripts) or '.'
    /// (hidden, and "." and ".." are path components).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "-", first != ".",
            name.unicodeScalars.count <= maximumNameLength
        else {
            return false
        }
        return name.unicodeScalars.allSatisfy { scalar in
            isLowerCaseAlphanumeric(scalar) || ("A"..."Z").contains(scalar) || scalar == "." || scalar == "_"
                || scalar == "-"
        }
    }

    // MARK: Tree edits

    /// The tree with this template's name, the given uuid (none when nil) and, if given, the first interface's MAC.
    private func applyingIdentity(uuid: String?, mac: String?) -> TemplateXMLNode {
        var tree = root
        let nameIndex: Int
        if let index = tree.indexOfElement(named: "name") {
            nameIndex = index
            tree.updateElement(at: index) { $0.setText(name) }
        } else {
            nameIndex = 0
            tree.children.insert(.element(TemplateXMLNode(name: "name", children: [.text(name)])), at: 0)
        }

        if let uuid {
            if let index = tree.indexOfElement(named: "uuid") {
                tree.updateElement(at: index) { $0.setText(uuid) }
            } else {
                // Repeat the indentation before <name> so the inserted line lines up with it.
                var inserted: [TemplateXMLNode.Child] = [
                    .element(TemplateXMLNode(name: "uuid", children: [.text(uuid)]))
                ]
                if nameIndex > 0, case .text(let indentation) = tree.children[nameIndex - 1],
                    indentation.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" })
                {
                    inserted.insert(.text(indentation), at: 0)
                }
                tree.children.insert(contentsOf: inserted, at: nameIndex + 1)
            }
        }

        if let mac, let devicesIndex = tree.indexOfElement(named: "devices") {
            tree.updateElement(at: devicesIndex) { devices in
                guard let interfaceIndex = devices.indexOfElement(named: "interface") else {
                    return
                }
                devices.updateElement(at: interfaceIndex) { interface in
                    if let macIndex = interface.indexOfElement(named: "mac") {
                        interface.updateElement(at: macIndex) { $0.setAttribute("address", to: mac) }
                    } else {
                        let element = TemplateXMLNode(name: "mac", attributes: [.init(name: "address", value: mac)])
                        interface.children.insert(.element(element), at: 0)
                    }
                }
            }
        }
        return tree
    }

    // MARK: Field parsing

    /// The only child called `name`, nil if none; libvirt keeps only one of these, so two is a template bug.
    private static func singleElement(
        _ name: String,
        in parent: TemplateXMLNode,
        path: String
    ) throws(TemplateError) -> TemplateXMLNode? {
        let matches = parent.elements(named: name)
        guard matches.count <= 1 else {
            throw .duplicateElement(path)
        }
        return matches.first
    }

    private static func parseVirtualCPUs(_ root: TemplateXMLNode) throws(TemplateError) -> Int {
        guard let element = try singleElement("vcpu", in: root, path: "domain/vcpu") else {
            return 1
        }
        let text = trimmed(element.text)
        guard let count = decimal(text).flatMap({ Int(exactly: $0) }), vcpuRange.contains(count) else {
            throw .invalidValue(
                element: "domain/vcpu",
                value: text,
                reason: "expected a whole number from \(vcpuRange.lowerBound) to \(vcpuRange.upperBound)"
            )
        }
        return count
    }

    private static func parseMemory(_ root: TemplateXMLNode) throws(TemplateError) -> UInt64 {
        guard let element = try singleElement("memory", in: root, path: "domain/memory") else {
            throw .missingElement("domain/memory")
        }
        let unit = element.attribute("unit") ?? "KiB"
        guard let multiplier = memoryUnitMultiplier(unit) else {
            throw .invalidValue(
                element: "domain/memory@unit",
                value: unit,
                reason: "expected a unit such as b, bytes, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T or TiB"
            )
        }
        let text = trimmed(element.text)
        guard let amount = decimal(text) else {
            throw .invalidValue(element: "domain/memory", value: text, reason: "expected a whole number")
        }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: multiplier)
        guard !overflow else {
            throw .invalidValue(element: "domain/memory", value: text, reason: "\(text) \(unit) is too large")
        }
        guard bytes > 0 else {
            throw .invalidValue(element: "domain/memory", value: text, reason: "memory must be greater than zero")
        }
        return bytes
    }

    /// Bytes per unit, following libvirt's virScaleInteger: case-insensitive; "b"/"bytes" are bytes; a prefix alone
    /// or with "iB" is a power of 1024, with "B" a power of 1000.
    static func memoryUnitMultiplier(_ unit: String) -> UInt64? {
        let lower = unit.lowercased()
        if lower == "b" || lower == "bytes" {
            return 1
        }
        let scalars = Array(lower.unicodeScalars)
        guard let prefix = scalars.first, let power = Array("kmgtpe".unicodeScalars).firstIndex(of: prefix) else {
            return nil
        }
        let base: UInt64
        switch String(String.UnicodeScalarView(scalars.dropFirst())) {
        case "", "ib": base = 1024
        case "b": base = 1000
        default: return nil
        }
        var multiplier: UInt64 = 1
        for _ in 0...power {
            multiplier *= base  // at most 1024^6 = 2^60
        }
        return multiplier
    }

    /// A lower-case 8-4-4-4-12 UUID from that form in any case or from 32 bare hex digits, as libvirt accepts both.
    static func canonicalUUID(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        let hyphenPositions: Set<Int> = [8, 13, 18, 23]
        var digits: [Unicode.Scalar] = []
        switch scalars.count {
        case 36:
            for (position, scalar) in scalars.enumerated() {
                if hyphenPositions.contains(position) {
                    guard scalar == "-" else {
                        return nil
                    }
                } else {
                    digits.append(scalar)
                }
            }
        case 32:
            digits = scalars
        default:
            return nil
        }
        var canonical = ""
        for (position, digit) in digits.enumerated() {
            guard digit.properties.isASCIIHexDigit else {
                return nil
            }
            if [8, 12, 16, 20].contains(position) {
                canonical += "-"
            }
            canonical.unicodeScalars.append(contentsOf: Character(digit).lowercased().unicodeScalars)
        }
        return canonical
    }

    /// Plain ASCII digits only: no sign, no '+', no spaces inside, which UInt64.init(_:) would partly accept.
    private static func decimal(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else {
            return nil
        }
        return UInt64(text)
    }

    static func trimmed(_ text: String) -> String {
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let scalars = text.unicodeScalars
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
            let end = scalars.lastIndex(where: { !isSpace($0) })
        else {
            return ""
        }
        return String(scalars[start...end])
    }

    private static func isLowerCaseAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

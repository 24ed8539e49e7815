import Foundation

/// The NICs and disks named in a domain XML, found by a small tag scanner.
///
/// A scanner rather than an XML parser: we need two attributes from libvirt's own well-formed output, and
/// FoundationXML would drag libxml2 into every binary that links this module.
struct DomainXMLDevices: Sendable, Equatable {
    /// One `<devices><interface>`.
    struct Interface: Sendable, Equatable {
        /// `<target dev='...'/>`: the host-side device, present while the domain runs (or when set in the XML).
        var targetDevice: String?
        /// `<mac address='...'/>`.
        var macAddress: String?

        /// The name `virDomainInterfaceStats` accepts: the target device, else the MAC address.
        var statsName: String? { targetDevice ?? macAddress }
    }

    /// One `<devices><disk>` with a `<target dev='...'/>`.
    struct Disk: Sendable, Equatable {
        var targetDevice: String
        /// The `device` attribute: "disk", "cdrom", "floppy" or "lun".
        var kind: String?
    }

    var interfaces: [Interface] = []
    var disks: [Disk] = []

    init(interfaces: [Interface] = [], disks: [Disk] = []) {
        self.interfaces = interfaces
        self.disks = disks
    }

    init(domainXML xml: String) {
        var path: [String] = []
        var interface: Interface?
        var disk: (kind: String?, target: String?)?
        for tag in XMLTagScanner(xml) {
            switch tag {
            case .open(let name, let attributes, let selfClosing):
                let parent = path.last
                if parent == "devices" && name == "interface" {
                    interface = Interface()
                } else if parent == "devices" && name == "disk" {
                    disk = (kind: attributes["device"], target: nil)
                } else if parent == "interface" && interface != nil {
                    if name == "target" { interface?.targetDevice = attributes["dev"] }
                    if name == "mac" { interface?.macAddress = attributes["address"] }
                } else if parent == "disk" && name == "target" && disk != nil {
                    disk?.target = attributes["dev"]
                }
                if selfClosing {
                    // An empty <interface/> or <disk/> names nothing worth counting.
                    if parent == "devices" && (name == "interface" || name == "disk") {
                        interface = nil
                        disk = nil
                    }
                } else {
                    path.append(name)
                }
            case .close(let name):
                if name == "interface", let finished = interface {
                    interfaces.append(finished)
                    interface = nil
                } else if name == "disk", let finished = disk {
                    if let target = finished.target {
                        disks.append(Disk(targetDevice: target, kind: finished.kind))
                    }
                    disk = nil
                }
                // Tolerate stray close tags instead of failing: pop back to the matching open tag, if any.
                if let index = path.lastIndex(of: name) {
                    path.removeSubrange(index...)
                }
            }
        }
    }
}

/// Start and end tags of an XML text, skipping comments, processing instructions, CDATA and DOCTYPE.
struct XMLTagScanner: Sequence, IteratorProtocol {
    enum Tag: Equatable {
        case open(name: String, attributes: [String: String], selfClosing: Bool)
        case close(name: String)
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func next() -> Tag? {
        while let start = bytes[index...].firstIndex(of: UInt8(ascii: "<")) {
            index = start + 1
            if hasPrefix("!--") {
                skip(past: "-->")
            } else if hasPrefix("![CDATA[") {
                skip(past: "]]>")
            } else if hasPrefix("?") || hasPrefix("!") {
                skip(past: ">")
            } else if hasPrefix("/") {
                index += 1
                let name = readName()
                skip(past: ">")
                return .close(name: name)
            } else {
                return readOpenTag()
            }
        }
        index = bytes.count
        return nil
    }

    private func hasPrefix(_ text: String) -> Bool {
        bytes[index...].starts(with: text.utf8)
    }

    private mutating func skip(past terminator: String) {
        let pattern = Array(terminator.utf8)
        while index < bytes.count {
            if bytes[index...].starts(with: pattern) {
                index += pattern.count
                return
            }
            index += 1
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        !isWhitespace(byte) && byte != UInt8(ascii: ">") && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "=")
    }

    private mutating func readName() -> String {
        let start = index
        while index < bytes.count && Self.isNameByte(bytes[index]) {
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count && Self.isWhitespace(bytes[index]) {
            index += 1
        }
    }

    private mutating func readOpenTag() -> Tag {
        let name = readName()
        var attributes: [String: String] = [:]
        while index < bytes.count {
            skipWhitespace()
            guard index < bytes.count else { break }
            switch bytes[index] {
            case UInt8(ascii: ">"):
                index += 1
                return .open(name: name, attributes: attributes, selfClosing: false)
            case UInt8(ascii: "/"):
                skip(past: ">")
                return .open(name: name, attributes: attributes, selfClosing: true)
            default:
                let attribute = readName()
                skipWhitespace()
                if index < bytes.count && bytes[index] == UInt8(ascii: "=") {
                    index += 1
                    skipWhitespace()
                    attributes[attribute] = readQuotedValue()
                } else if attribute.isEmpty {
                    index += 1  // a byte we cannot read as anything: step over it
                }
            }
        }
        return .open(name: name, attributes: attributes, selfClosing: false)
    }

    private mutating func readQuotedValue() -> String {
        guard index < bytes.count else { return "" }
        let quote = bytes[index]
        guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            return readName()
        }
        index += 1
        let start = index
        while index < bytes.count && bytes[index] != quote {
            index += 1
        }
        let raw = String(decoding: bytes[start..<index], as: UTF8.self)
        index = Swift.min(index + 1, bytes.count)
        return Self.decodeEntities(raw)
    }

    /// The five predefined XML entities; libvirt escapes nothing else in attribute values.
    private static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

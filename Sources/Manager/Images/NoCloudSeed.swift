/// What a booting guest is told through cloud-init's NoCloud data source: the files of its seed ISO (volume label
/// `cidata`). Built as text here, without I/O; `SeedISOBuilder` writes the ISO.
///
/// Values go into the YAML as double-quoted scalars (JSON strings are YAML), so a key or hostname can hold any
/// character without changing the document's structure.
public struct NoCloudSeed: Sendable, Equatable {
    /// cloud-init runs its once-per-instance steps again when this changes: the VM's UUID.
    public var instanceID: String
    public var hostname: String
    /// The guest's interface is matched by MAC, whatever the guest names it.
    public var macAddress: String
    public var address: IPv4Address
    public var prefixLength: Int
    public var gateway: IPv4Address?
    public var nameservers: [IPv4Address]
    public var sshKeys: [String]
    /// More files on the ISO by name (pragma_boot's `vc-out.xml`).
    public var extraFiles: [String: String]

    public init(
        instanceID: String,
        hostname: String,
        macAddress: String,
        address: IPv4Address,
        prefixLength: Int,
        gateway: IPv4Address?,
        nameservers: [IPv4Address] = [],
        sshKeys: [String] = [],
        extraFiles: [String: String] = [:]
    ) {
        self.instanceID = instanceID
        self.hostname = hostname
        self.macAddress = macAddress
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.nameservers = nameservers
        self.sshKeys = sshKeys
        self.extraFiles = extraFiles
    }

    /// The names cloud-init reads; extra files may not take them.
    public static let standardFiles = ["meta-data", "user-data", "network-config"]

    public var metaData: String {
        """
        instance-id: \(Self.quoted(instanceID))
        local-hostname: \(Self.quoted(hostname))

        """
    }

    public var userData: String {
        var lines = ["#cloud-config", "hostname: \(Self.quoted(hostname))", "preserve_hostname: false"]
        if !sshKeys.isEmpty {
            lines.append("ssh_authorized_keys:")
            lines += sshKeys.map { "  - \(Self.quoted($0))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Network configuration version 2: the interface with the VM's MAC gets its leased address.
    public var networkConfig: String {
        var lines = [
            "version: 2",
            "ethernets:",
            "  primary:",
            "    match:",
            "      macaddress: \(Self.quoted(macAddress))",
            "    addresses:",
            "      - \(Self.quoted("\(address)/\(prefixLength)"))",
        ]
        if let gateway {
            lines += ["    routes:", "      - to: \"0.0.0.0/0\"", "        via: \(Self.quoted("\(gateway)"))"]
        }
        let servers = nameservers.isEmpty ? (gateway.map { [$0] } ?? []) : nameservers
        if !servers.isEmpty {
            lines += ["    nameservers:", "      addresses:"]
            lines += servers.map { "        - \(Self.quoted("\($0)"))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every file of the ISO, by name, in name order.
    public var files: [(name: String, contents: String)] {
        var all = ["meta-data": metaData, "user-data": userData, "network-config": networkConfig]
        for (name, contents) in extraFiles where !Self.standardFiles.contains(name) { all[name] = contents }
        return all.sorted { $0.key < $1.key }.map { (name: $0.key, contents: $0.value) }
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

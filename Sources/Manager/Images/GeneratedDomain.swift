/// The libvirt domain Torpor writes for a VM made from a flavor and an image: the flavor's vCPUs and memory, the
/// VM's own overlay as its disk, its seed ISO as a read-only CD-ROM, and one interface on the configured network
/// with the VM's MAC (which encodes its address, docs/addresses.md).
public struct GeneratedDomain: Sendable, Equatable {
    public var name: String
    public var uuid: String
    public var domainType: String
    public var virtualCPUs: Int
    public var memoryBytes: Int64
    public var overlayPath: String
    /// Empty: no CD-ROM.
    public var seedPath: String
    public var interfaceType: ImagesConfiguration.InterfaceType
    public var network: String
    public var macAddress: String
    /// More interfaces on the same network after the first, one per MAC (a pragma frontend's second NIC).
    public var moreMacAddresses: [String] = []

    public init(
        name: String,
        uuid: String,
        domainType: String,
        virtualCPUs: Int,
        memoryBytes: Int64,
        overlayPath: String,
        seedPath: String,
        interfaceType: ImagesConfiguration.InterfaceType = .network,
        network: String,
        macAddress: String
    ) {
        self.name = name
        self.uuid = uuid
        self.domainType = domainType
        self.virtualCPUs = virtualCPUs
        self.memoryBytes = memoryBytes
        self.overlayPath = overlayPath
        self.seedPath = seedPath
        self.interfaceType = interfaceType
        self.network = network
        self.macAddress = macAddress
    }

    /// Memory in KiB, libvirt's unit, rounded up.
    var memoryKiB: Int64 { (memoryBytes + 1023) / 1024 }

    public var xml: String {
        // The test driver has no emulator or bus devices to speak of: a plain disk is what it stores.
        let bus = domainType == "test" ? "" : " bus='virtio'"
        var lines = [
            "<domain type='\(Self.escaped(domainType))'>",
            "  <name>\(Self.escaped(name))</name>",
            "  <uuid>\(Self.escaped(uuid))</uuid>",
            "  <memory unit='KiB'>\(memoryKiB)</memory>",
            "  <vcpu>\(virtualCPUs)</vcpu>",
            "  <os>",
            "    <type arch='x86_64'>hvm</type>",
            "    <boot dev='hd'/>",
            "  </os>",
            "  <devices>",
            "    <disk type='file' device='disk'>",
            "      <driver name='qemu' type='qcow2'/>",
            "      <source file='\(Self.escaped(overlayPath))'/>",
            "      <target dev='vda'\(bus)/>",
            "    </disk>",
        ]
        if !seedPath.isEmpty {
            lines += [
                "    <disk type='file' device='cdrom'>",
                "      <driver name='qemu' type='raw'/>",
                "      <source file='\(Self.escaped(seedPath))'/>",
                "      <target dev='sda' bus='sata'/>",
                "      <readonly/>",
                "    </disk>",
            ]
        }
        for mac in [macAddress] + moreMacAddresses {
            lines += [
                "    <interface type='\(interfaceType.rawValue)'>",
                "      <mac address='\(Self.escaped(mac))'/>",
            ]
            switch interfaceType {
            case .network: lines.append("      <source network='\(Self.escaped(network))'/>")
            case .bridge: lines.append("      <source bridge='\(Self.escaped(network))'/>")
            case .ethernet: break
            }
            // No option ROM: the guest boots from its disk, and a QEMU without the ipxe ROM files would not start.
            if domainType != "test" { lines += ["      <model type='virtio'/>", "      <rom enabled='no'/>"] }
            lines += ["    </interface>"]
        }
        if domainType != "test" {
            lines += [
                "    <serial type='pty'/>",
                "    <console type='pty'/>",
            ]
        }
        lines += ["  </devices>", "</domain>"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text safe in element content and single-quoted attributes.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "'": result += "&apos;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}

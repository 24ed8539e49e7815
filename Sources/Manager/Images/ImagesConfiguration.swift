import ConfigFile

/// The manager's `images:` section (docs/images.md): where VMs made from images keep their files, and the programs
/// that make them.
public struct ImagesConfiguration: Sendable, Equatable {
    /// Where each VM's overlay and seed ISO are made: storage every host mounts at the same path.
    public var directory = "/var/lib/torpor/images"
    /// How generated domains' interface is connected: to a libvirt network or a host bridge named `network`, or
    /// (`ethernet`) to a tap libvirt makes and leaves unattached, for hosts that wire taps themselves (the lab).
    public var interfaceType = InterfaceType.network
    /// The libvirt network (or, with `interface_type: bridge`, the host bridge) generated domains' interface joins.
    public var network = "default"
    /// The generated domains' `<domain type>`: `kvm` on hosts, `qemu` without KVM, `test` for libvirt's test driver.
    public var domainType = "kvm"
    /// Run without a shell through `CommandRunner`; a bare name is looked up in PATH.
    public var qemuImg = "qemu-img"
    public var isoBuilder = "genisoimage"
    public var checksum = "sha256sum"
    /// The longest one of those programs may run (a checksum reads the whole image).
    public var commandTimeout: Duration = .seconds(600)
    /// Directories images must lie in (after symbolic links); empty: anywhere the manager can read, which lets
    /// anyone who can reach the manager hand any file of its host to a guest.
    public var roots: [String] = []
    /// Given to guests in `network-config`; empty: the subnet's gateway.
    public var nameservers: [IPv4Address] = []

    public enum InterfaceType: String, Sendable, CaseIterable {
        case network
        case bridge
        case ethernet
    }

    public init() {}

    static let domainTypes = ["kvm", "qemu", "test"]

    static func load(_ section: ConfigSection) throws -> ImagesConfiguration {
        var result = ImagesConfiguration()
        if let value = try section.string("directory") {
            guard value.hasPrefix("/") else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "directory"),
                    key: "images.directory",
                    problem: "must be an absolute path"
                )
            }
            result.directory = value
        }
        if let value = try section.string("network") { result.network = value }
        if let value = try section.choice("interface_type", from: InterfaceType.allCases.map(\.rawValue)) {
            result.interfaceType = InterfaceType(rawValue: value) ?? .network
        }
        if let value = try section.choice("domain_type", from: domainTypes) { result.domainType = value }
        if let value = try section.string("qemu_img") { result.qemuImg = value }
        if let value = try section.string("iso_builder") { result.isoBuilder = value }
        if let value = try section.string("checksum") { result.checksum = value }
        if let value = try section.duration("command_timeout", minimum: .seconds(1)) { result.commandTimeout = value }
        if let values = try section.stringList("roots") {
            for value in values where !value.hasPrefix("/") {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "roots"),
                    key: "images.roots",
                    problem: "'\(value)' is not an absolute path"
                )
            }
            result.roots = values
        }
        if let values = try section.stringList("nameservers") {
            result.nameservers = try values.map { text in
                do { return try IPv4Address(parsing: text) } catch {
                    throw ConfigError(
                        file: section.file,
                        line: section.line(of: "nameservers"),
                        key: "images.nameservers",
                        problem: "\(error)"
                    )
                }
            }
        }
        return result
    }
}

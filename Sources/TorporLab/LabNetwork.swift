import Foundation

/// `torpor-lab up --wol`: each host in its own network namespace, joined to the manager by a bridge in the root
/// namespace. Names and the /24 derive from the lab's base port, so labs on different ports never share a bridge,
/// a namespace or a subnet, and nothing leaves the machine.
struct LabNetwork: Codable {
    /// The bridge in the root namespace, holding the gateway address the manager listens on: "tlb17700".
    var bridge: String
    /// The first three octets of the lab's /24: "10.69.36".
    var prefix: String
    /// One namespace per host, host-1 first: "torpor-17700-1".
    var namespaces: [String]

    var gateway: String { "\(prefix).1" }
    var broadcast: String { "\(prefix).255" }

    /// The address of host `index` (1-based) inside its namespace.
    func address(ofHost index: Int) -> String { "\(prefix).\(10 + index)" }

    func namespace(ofHost index: Int) -> String { namespaces[index - 1] }

    /// A locally administered MAC for host `index`'s interface, which its Wake-on-LAN "NIC" answers to.
    static func mac(ofHost index: Int) -> String { String(format: "02:74:6c:00:%02x:%02x", index >> 8, index & 0xFF) }

    init(basePort: Int, hosts: Int) {
        bridge = "tlb\(basePort)"
        prefix = "10.\(basePort >> 8).\(basePort & 0xFF)"
        namespaces = (1...hosts).map { "torpor-\(basePort)-\($0)" }
    }

    /// The host-side end of host `index`'s veth pair (at most 15 characters: "tl17700h64").
    private func veth(ofHost index: Int) -> String { "tl\(bridge.dropFirst("tlb".count))h\(index)" }

    /// Creates the bridge, the namespaces and their veth pairs with addresses and MACs. Needs root and `ip`.
    func create() async throws(LabError) {
        try await Self.ip(["link", "add", bridge, "type", "bridge"])
        try await Self.ip(["addr", "add", "\(gateway)/24", "brd", "+", "dev", bridge])
        try await Self.ip(["link", "set", bridge, "up"])
        for index in 1...namespaces.count {
            let namespace = namespace(ofHost: index)
            let veth = veth(ofHost: index)
            try await Self.ip(["netns", "add", namespace])
            try await Self.ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace])
            try await Self.ip(["link", "set", veth, "master", bridge, "up"])
            try await Self.ip(["-n", namespace, "link", "set", "lo", "up"])
            try await Self.ip(["-n", namespace, "link", "set", "eth0", "address", Self.mac(ofHost: index)])
            let address = "\(address(ofHost: index))/24"
            try await Self.ip(["-n", namespace, "addr", "add", address, "brd", "+", "dev", "eth0"])
            try await Self.ip(["-n", namespace, "link", "set", "eth0", "up"])
        }
    }

    /// Deletes the namespaces (their veth pairs go with them), any veth left behind and the bridge; what does not
    /// exist is skipped, so it can run again after a crash at any point. Returns what could not be removed.
    func remove() async -> [String] {
        var failures: [String] = []
        let existing = Set(Self.namespaceNames((try? await Self.output(["netns", "list"])) ?? ""))
        for namespace in namespaces where existing.contains(namespace) {
            do { try await Self.ip(["netns", "del", namespace]) } catch { failures.append(error.description) }
        }
        // A namespace that a stray process still runs in outlives `netns del` and keeps its veth pair: cut it off.
        // The kernel dismantles a deleted namespace in the background: its veth may vanish while we delete it.
        for link in (1...namespaces.count).map(veth(ofHost:)) + [bridge] {
            guard await Self.linkExists(link) else { continue }
            do {
                try await Self.ip(["link", "del", link])
            } catch {
                if await Self.linkExists(link) { failures.append(error.description) }
            }
        }
        return failures
    }

    /// `ip netns list` prints "NAME" or "NAME (id: N)" per line.
    static func namespaceNames(_ listing: String) -> [String] {
        listing.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// The argv that runs `argv` inside host `index`'s namespace.
    func inNamespace(ofHost index: Int, _ argv: [String]) throws -> [String] {
        [try Self.ipBinary(), "netns", "exec", namespace(ofHost: index)] + argv
    }

    static func ipBinary() throws(LabError) -> String {
        if let found = try? LabProcesses.binary("ip") { return found }
        for candidate in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw LabError("network namespaces need the ip command (package iproute2)")
    }

    /// Checks what `--wol` and `--libvirt kvm` need before anything starts: root, and an `ip` that lists namespaces.
    static func preflight(for option: String) async throws(LabError) {
        guard geteuid() == 0 else { throw LabError("\(option) creates network namespaces and a bridge: run as root") }
        _ = try await output(["netns", "list"])
    }

    private static func ip(_ arguments: [String]) async throws(LabError) { _ = try await output(arguments) }

    private static func linkExists(_ name: String) async -> Bool { (try? await output(["link", "show", name])) != nil }

    private static func output(_ arguments: [String]) async throws(LabError) -> String {
        try await LabCommand.output([try ipBinary()] + arguments)
    }
}

/// What pragma_boot's `allocate` decides, without doing any of it: how many compute nodes N CPUs take, their names,
/// and each node's private address and MAC. Public addresses and MACs come from the manager's address pool, and
/// hosts from its placement policy; this plan is the part that depends only on the `vc-in.xml` and the request.
public struct PragmaClusterPlan: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var name: String
        public var virtualCPUs: Int
        public var memoryBytes: UInt64
        public var privateAddress: IPv4Address
        public var privateMAC: String
    }

    public var cluster: String
    public var frontend: Node
    public var computes: [Node]

    /// At most this many compute nodes in one cluster.
    public static let maximumComputes = 1000

    /// `cpus` CPUs of computes, each with the compute domain's vCPUs (the last may have more than the rest need:
    /// nodes are whole). Private addresses follow the frontend's in its subnet; `mac(index)` gives the private MAC
    /// of node `index` (0: the frontend).
    public static func make(
        _ spec: PragmaClusterSpec,
        cpus: Int,
        cluster: String,
        mac: (Int) -> String
    ) throws(PragmaPlanError) -> PragmaClusterPlan {
        guard DomainTemplate.isValidName(cluster), cluster.count <= DomainTemplate.maximumNameLength - 12 else {
            throw .invalidName(cluster)
        }
        guard cpus >= 0 else { throw .invalidCPUs(cpus) }
        let perNode = spec.compute.virtualCPUs
        let count = (cpus + perNode - 1) / perNode
        guard count <= maximumComputes else { throw .tooManyComputes(count, cpus: cpus) }
        let mask = spec.privateNetmask.value
        let network = spec.privateAddress.value & mask
        let broadcast = network | ~mask
        // Every address but the network's, the broadcast and the frontend's.
        guard count <= Int(broadcast) - Int(network) - 2 else {
            throw .privateNetworkFull(count, network: "\(spec.privateAddress)/\(spec.privatePrefixLength)")
        }
        var addresses: [IPv4Address] = []
        var next = spec.privateAddress.value
        while addresses.count < count {
            next = next == broadcast - 1 || next >= broadcast ? network + 1 : next + 1
            guard next != spec.privateAddress.value else {
                throw .privateNetworkFull(count, network: "\(spec.privateAddress)/\(spec.privatePrefixLength)")
            }
            addresses.append(IPv4Address(next))
        }
        return PragmaClusterPlan(
            cluster: cluster,
            frontend: Node(
                name: cluster,
                virtualCPUs: spec.frontend.virtualCPUs,
                memoryBytes: spec.frontend.memoryBytes,
                privateAddress: spec.privateAddress,
                privateMAC: mac(0)
            ),
            computes: addresses.enumerated().map { index, address in
                Node(
                    name: "\(cluster)-compute-\(index)",
                    virtualCPUs: perNode,
                    memoryBytes: spec.compute.memoryBytes,
                    privateAddress: address,
                    privateMAC: mac(index + 1)
                )
            }
        )
    }
}

public enum PragmaPlanError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case invalidCPUs(Int)
    case tooManyComputes(Int, cpus: Int)
    case privateNetworkFull(Int, network: String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "'\(name)' is not a valid virtual cluster name (1–52 of A–Z a–z 0–9 . _ -, so its nodes' names fit)"
        case .invalidCPUs(let cpus): "--cpus must be 0 or more, not \(cpus)"
        case .tooManyComputes(let count, let cpus):
            "\(cpus) CPUs take \(count) compute nodes; at most \(PragmaClusterPlan.maximumComputes) in one cluster"
        case .privateNetworkFull(let count, let network):
            "the private network \(network) has no room for \(count) compute nodes next to the frontend"
        }
    }
}

/// The `vc-out.xml` each node finds on its contextualization ISO, in the seed's two shapes: the frontend's (its
/// public and private addresses and every compute) and a compute's (its private address, the frontend its gateway).
public enum PragmaVCOut {
    public struct DNS: Sendable, Equatable {
        public var address: String
        public var search: String
        public var domain: String

        public init(address: String, search: String = "local", domain: String = "") {
            self.address = address
            self.search = search
            self.domain = domain
        }
    }

    public struct PublicAddress: Sendable, Equatable {
        public var fqdn: String
        public var address: IPv4Address
        public var netmask: IPv4Address
        public var gateway: IPv4Address?

        public init(fqdn: String, address: IPv4Address, netmask: IPv4Address, gateway: IPv4Address?) {
            self.fqdn = fqdn
            self.address = address
            self.netmask = netmask
            self.gateway = gateway
        }
    }

    public static func frontend(
        _ plan: PragmaClusterPlan,
        spec: PragmaClusterSpec,
        public address: PublicAddress,
        dns: DNS,
        key: String
    ) -> String {
        var xml = "<vc>\n  <frontend>\n"
        xml += "    <public" + attributes([
            ("fqdn", address.fqdn), ("ip", "\(address.address)"), ("netmask", "\(address.netmask)"),
            ("gw", address.gateway.map { "\($0)" } ?? ""),
        ]) + "/>\n"
        xml += "    <private" + attributes([
            ("ip", "\(plan.frontend.privateAddress)"), ("netmask", "\(spec.privateNetmask)"),
        ]) + "/>\n"
        xml += "  </frontend>\n"
        xml += "  <compute count=\"\(plan.computes.count)\">\n"
        for node in plan.computes {
            xml += "    <node" + attributes([
                ("name", node.name), ("mac", node.privateMAC), ("ip", "\(node.privateAddress)"),
                ("cpus", "\(node.virtualCPUs)"),
            ]) + "/>\n"
        }
        xml += "  </compute>\n"
        return xml + tail(dns: dns, key: key)
    }

    public static func compute(
        _ node: PragmaClusterPlan.Node,
        plan: PragmaClusterPlan,
        spec: PragmaClusterSpec,
        dns: DNS,
        key: String
    ) -> String {
        var xml = "<vc>\n  <compute>\n"
        xml += "    <private" + attributes([
            ("fqdn", node.name), ("ip", "\(node.privateAddress)"), ("netmask", "\(spec.privateNetmask)"),
            ("gw", "\(plan.frontend.privateAddress)"),
        ]) + "/>\n"
        xml += "  </compute>\n"
        return xml + tail(dns: dns, key: key)
    }

    static func tail(dns: DNS, key: String) -> String {
        var xml = "  <network>\n"
        xml += "    <dns" + attributes([("ip", dns.address), ("search", dns.search), ("domain", dns.domain)]) + "/>\n"
        xml += "  </network>\n  <key>"
        TemplateXMLNode.escape(key, inAttribute: false, to: &xml)
        return xml + "</key>\n</vc>\n"
    }

    static func attributes(_ pairs: [(String, String)]) -> String {
        var text = ""
        for (name, value) in pairs {
            text += " \(name)=\""
            TemplateXMLNode.escape(value, inAttribute: true, to: &text)
            text += "\""
        }
        return text
    }
}

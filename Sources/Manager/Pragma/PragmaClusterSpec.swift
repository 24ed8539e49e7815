/// A pragma_boot `vc-in.xml` (seed 004, docs/pragma.md): the libvirt domain of a frontend and of a compute node, how
/// long computes wait after the frontend starts, the private network and the frontend's public interface. Parsed
/// strictly with the templates' XML parser; every problem is a `PragmaSpecError` naming the element.
public struct PragmaClusterSpec: Sendable, Equatable {
    /// `<vc version>`.
    public var version: String
    /// `<virtualization engine>`: only `kvm` is a pragma engine.
    public var engine: String
    /// `<driver>`, kept as written (the Rocks client the images expect).
    public var driver: String
    /// The frontend's domain as written, and as a validated template.
    public var frontendXML: String
    public var frontend: DomainTemplate
    /// The compute node's domain; each compute made from it has its vCPUs.
    public var computeXML: String
    public var compute: DomainTemplate
    /// Seconds computes wait after the frontend started (`<boot_dependency><wait type='clock' value=…>`); 0: none.
    public var computeDelaySeconds: Int
    /// The private network: the frontend's address on it and its netmask.
    public var privateAddress: IPv4Address
    public var privateNetmask: IPv4Address
    /// The frontend interface (its `<source bridge>` or `<source network>`) that is its public one.
    public var publicInterface: String

    /// The longest dependency wait accepted (a day); a larger value is a mistake, not a plan.
    public static let maximumDelaySeconds = 86_400

    public static func parse(_ xml: String) throws(PragmaSpecError) -> PragmaClusterSpec {
        let root: TemplateXMLNode
        do {
            root = try TemplateXMLParser.parse(xml)
        } catch {
            throw .malformed("\(error)")
        }
        guard root.name == "vc" else { throw .malformed("the root element is <\(root.name)>, expected <vc>") }
        let engine = try single("virtualization", in: root, path: "vc")?.attribute("engine") ?? "kvm"
        guard engine == "kvm" else {
            throw .invalid("vc/virtualization@engine", value: engine, reason: "pragma clusters run on kvm")
        }
        let frontendSection = try required("frontend", in: root, path: "vc")
        let computeSection = try required("compute", in: root, path: "vc")
        let (frontendXML, frontend) = try domain(in: frontendSection, path: "vc/frontend")
        let (computeXML, compute) = try domain(in: computeSection, path: "vc/compute")
        guard frontend.name != compute.name else {
            throw .invalid("vc/compute/domain/name", value: compute.name, reason: "it is the frontend's name too")
        }

        var delay = 0
        if let dependency = try single("boot_dependency", in: computeSection, path: "vc/compute") {
            let parent = dependency.attribute("parent") ?? "frontend"
            guard parent == "frontend" else {
                throw .invalid("vc/compute/boot_dependency@parent", value: parent, reason: "only the frontend")
            }
            if let wait = try single("wait", in: dependency, path: "vc/compute/boot_dependency") {
                let type = wait.attribute("type") ?? ""
                guard type == "clock" else {
                    throw .invalid("vc/compute/boot_dependency/wait@type", value: type, reason: "only 'clock' waits")
                }
                let text = wait.attribute("value") ?? ""
                guard let seconds = Int(text), (0...maximumDelaySeconds).contains(seconds) else {
                    throw .invalid(
                        "vc/compute/boot_dependency/wait@value",
                        value: text,
                        reason: "seconds from 0 to \(maximumDelaySeconds)"
                    )
                }
                delay = seconds
            }
        }

        let networks = try required("networks", in: root, path: "vc")
        let privateNetworks = networks.elements(named: "network").filter { $0.attribute("name") == "private" }
        guard let privateNetwork = privateNetworks.first else { throw .missing("vc/networks/network[@name='private']") }
        let privatePath = "vc/networks/network[@name='private']"
        let address = try ipv4(try text("ipaddress", in: privateNetwork, path: privatePath), "\(privatePath)/ipaddress")
        let netmask = try ipv4(try text("netmask", in: privateNetwork, path: privatePath), "\(privatePath)/netmask")
        guard Self.isNetmask(netmask) else {
            throw .invalid("\(privatePath)/netmask", value: "\(netmask)", reason: "not a netmask")
        }
        let hostBits = ~netmask.value
        guard address.value & hostBits != 0, address.value & hostBits != hostBits else {
            throw .invalid(
                "\(privatePath)/ipaddress",
                value: "\(address)",
                reason: "the network's own or its broadcast address, not a host's"
            )
        }
        let frontendNetworks = try required("frontend", in: networks, path: "vc/networks")
        let publicInterface = try text("public", in: frontendNetworks, path: "vc/networks/frontend")
        let frontendInterfaces = Self.interfaceSources(frontendSection)
        guard frontendInterfaces.contains(publicInterface) else {
            throw .invalid(
                "vc/networks/frontend/public",
                value: publicInterface,
                reason: "the frontend has no interface on it (it has: \(frontendInterfaces.joined(separator: ", ")))"
            )
        }
        guard frontend.interfaceCount == 2 else {
            throw .invalid(
                "vc/frontend/domain/devices/interface",
                value: "\(frontend.interfaceCount)",
                reason: "a pragma frontend has 2 interfaces, private then public"
            )
        }
        guard compute.interfaceCount == 1 else {
            throw .invalid(
                "vc/compute/domain/devices/interface",
                value: "\(compute.interfaceCount)",
                reason: "a pragma compute node has 1 interface, on the private network"
            )
        }
        return PragmaClusterSpec(
            version: root.attribute("version") ?? "",
            engine: engine,
            driver: try single("driver", in: root, path: "vc").map { DomainTemplate.trimmed($0.text) } ?? "",
            frontendXML: frontendXML,
            frontend: frontend,
            computeXML: computeXML,
            compute: compute,
            computeDelaySeconds: delay,
            privateAddress: address,
            privateNetmask: netmask,
            publicInterface: publicInterface
        )
    }

    /// The prefix length of the private netmask.
    public var privatePrefixLength: Int { privateNetmask.value.nonzeroBitCount }

    static func isNetmask(_ mask: IPv4Address) -> Bool {
        let inverted = ~mask.value
        return mask.value != 0 && inverted & (inverted &+ 1) == 0
    }

    /// Each interface's `<source bridge|network|dev>` in document order.
    static func interfaceSources(_ section: TemplateXMLNode) -> [String] {
        guard let domain = section.firstElement(named: "domain"),
            let devices = domain.firstElement(named: "devices")
        else { return [] }
        return devices.elements(named: "interface").compactMap { interface in
            interface.firstElement(named: "source").flatMap {
                $0.attribute("bridge") ?? $0.attribute("network") ?? $0.attribute("dev")
            }
        }
    }

    static func domain(in section: TemplateXMLNode, path: String) throws(PragmaSpecError) -> (String, DomainTemplate) {
        let node = try required("domain", in: section, path: path)
        let xml = node.xmlString()
        do {
            // Disks are the images the VMs boot from; whether they exist is checked where they are used.
            return (xml, try DomainTemplate.parse(xml, diskExists: { _ in true }))
        } catch {
            throw .invalidDomain(path: "\(path)/domain", reason: "\(error)")
        }
    }

    static func single(
        _ name: String,
        in node: TemplateXMLNode,
        path: String
    ) throws(PragmaSpecError) -> TemplateXMLNode? {
        let found = node.elements(named: name)
        guard found.count <= 1 else { throw .duplicate("\(path)/\(name)") }
        return found.first
    }

    static func required(_ name: String, in node: TemplateXMLNode, path: String) throws(PragmaSpecError)
        -> TemplateXMLNode
    {
        guard let found = try single(name, in: node, path: path) else { throw .missing("\(path)/\(name)") }
        return found
    }

    static func text(_ name: String, in node: TemplateXMLNode, path: String) throws(PragmaSpecError) -> String {
        let value = DomainTemplate.trimmed(try required(name, in: node, path: path).text)
        guard !value.isEmpty else { throw .missing("\(path)/\(name) (it is empty)") }
        return value
    }

    static func ipv4(_ text: String, _ path: String) throws(PragmaSpecError) -> IPv4Address {
        do {
            return try IPv4Address(parsing: text)
        } catch {
            throw .invalid(path, value: text, reason: "not an IPv4 address")
        }
    }
}

/// Why a `vc-in.xml` was refused, naming the element at fault.
public enum PragmaSpecError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case missing(String)
    case duplicate(String)
    case invalid(String, value: String, reason: String)
    case invalidDomain(path: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let reason): "vc-in.xml: \(reason)"
        case .missing(let path): "vc-in.xml lacks \(path)"
        case .duplicate(let path): "vc-in.xml has more than one \(path)"
        case .invalid(let path, let value, let reason): "vc-in.xml: \(path) '\(value)': \(reason)"
        case .invalidDomain(let path, let reason): "vc-in.xml: \(path): \(reason)"
        }
    }
}

import Foundation

/// GENI RSpecs version 3 (http://www.geni.net/resources/rspec/3): the advertisement of Torpor's hosts and sliver
/// types, the request a client sends to Allocate, and the manifest of a slice's slivers.
public enum RSpec {
    public static let namespace = "http://www.geni.net/resources/rspec/3"
    static let schemaInstance = "http://www.w3.org/2001/XMLSchema-instance"

    /// A host as the advertisement shows it.
    public struct AdvertisedNode: Hashable, Sendable {
        public var hostID: String
        /// Whether it takes slivers now (connected and not failed).
        public var available: Bool

        public init(hostID: String, available: Bool) {
            self.hostID = hostID
            self.available = available
        }
    }

    /// One node of a request: what the client calls it, where it wants it (optional), of which sliver type
    /// (a flavor) and disk image (an image of the catalog).
    public struct RequestedNode: Hashable, Sendable {
        public var clientID: String
        public var componentID: String?
        public var sliverType: String
        public var diskImage: String?
    }

    /// One sliver of a manifest.
    public struct ManifestNode: Hashable, Sendable {
        public var clientID: String
        public var sliverID: String
        public var componentID: String?
        public var sliverType: String
        public var diskImage: String?
        /// Its address once it has one; `<services><login>` then names it.
        public var address: String?
        public var username: String

        public init(
            clientID: String,
            sliverID: String,
            componentID: String?,
            sliverType: String,
            diskImage: String?,
            address: String?,
            username: String
        ) {
            self.clientID = clientID
            self.sliverID = sliverID
            self.componentID = componentID
            self.sliverType = sliverType
            self.diskImage = diskImage
            self.address = address
            self.username = username
        }
    }

    // MARK: Advertisement

    public static func advertisement(
        nodes: [AdvertisedNode],
        sliverTypes: [String],
        images: [String],
        authority: String,
        availableOnly: Bool,
        generated: Date
    ) -> String {
        var root = TemplateXMLNode(
            name: "rspec",
            attributes: rootAttributes(type: "advertisement", schema: "ad.xsd")
                + [.init(name: "generated", value: XMLRPCTime.rfc3339(generated))]
        )
        let manager = GENIURN(authority: authority, type: "authority", name: "cm").description
        for node in nodes where node.available || !availableOnly {
            var element = TemplateXMLNode(
                name: "node",
                attributes: [
                    .init(name: "component_id", value: GENIURN(authority: authority, type: "node", name: node.hostID).description),
                    .init(name: "component_manager_id", value: manager),
                    .init(name: "component_name", value: node.hostID),
                    .init(name: "exclusive", value: "false"),
                ]
            )
            for type in sliverTypes {
                var sliverType = TemplateXMLNode(name: "sliver_type", attributes: [.init(name: "name", value: type)])
                for image in images {
                    sliverType.children.append(
                        .element(TemplateXMLNode(name: "disk_image", attributes: [.init(name: "name", value: image)]))
                    )
                }
                element.children.append(.element(sliverType))
            }
            element.children.append(
                .element(TemplateXMLNode(name: "available", attributes: [.init(name: "now", value: "\(node.available)")]))
            )
            root.children.append(.element(element))
        }
        return document(root)
    }

    // MARK: Request

    /// The nodes of a request RSpec; a malformed or empty one, or one of another type, is BADARGS naming why.
    public static func parseRequest(_ xml: String) throws(GENIFailure) -> [RequestedNode] {
        let root: TemplateXMLNode
        do {
            root = try TemplateXMLParser.parse(xml)
        } catch {
            throw GENIFailure(.badArgs, "the request RSpec is not well-formed XML: \(error)")
        }
        guard localName(root.name) == "rspec" else {
            throw GENIFailure(.badArgs, "the request RSpec's root is <\(root.name)>, expected <rspec>")
        }
        if let type = root.attribute("type"), type != "request" {
            throw GENIFailure(.badArgs, "the RSpec is of type '\(type)', expected 'request'")
        }
        var nodes: [RequestedNode] = []
        var seen: Set<String> = []
        for element in root.elements where localName(element.name) == "node" {
            guard let clientID = element.attribute("client_id"), !clientID.isEmpty else {
                throw GENIFailure(.badArgs, "a <node> of the request has no client_id (line \(element.line))")
            }
            guard DomainTemplate.isValidName(clientID) else {
                throw GENIFailure(.badArgs, "client_id '\(clientID.prefix(80))' is not 1–64 of A–Z a–z 0–9 . _ -")
            }
            guard seen.insert(clientID).inserted else {
                throw GENIFailure(.badArgs, "client_id '\(clientID)' appears twice in the request")
            }
            let sliverTypes = element.elements.filter { localName($0.name) == "sliver_type" }
            guard sliverTypes.count == 1, let type = sliverTypes[0].attribute("name"), !type.isEmpty else {
                throw GENIFailure(.badArgs, "node '\(clientID)' needs exactly one <sliver_type name=…>")
            }
            let images = sliverTypes[0].elements.filter { localName($0.name) == "disk_image" }
            guard images.count <= 1 else {
                throw GENIFailure(.badArgs, "node '\(clientID)' names \(images.count) disk images; one at most")
            }
            nodes.append(
                RequestedNode(
                    clientID: clientID,
                    componentID: element.attribute("component_id"),
                    sliverType: type,
                    diskImage: images.first.flatMap { $0.attribute("name") ?? $0.attribute("url") }
                )
            )
        }
        guard !nodes.isEmpty else { throw GENIFailure(.badArgs, "the request RSpec has no <node>") }
        return nodes
    }

    // MARK: Manifest

    public static func manifest(nodes: [ManifestNode], authority: String, generated: Date) -> String {
        var root = TemplateXMLNode(
            name: "rspec",
            attributes: rootAttributes(type: "manifest", schema: "manifest.xsd")
                + [.init(name: "generated", value: XMLRPCTime.rfc3339(generated))]
        )
        let manager = GENIURN(authority: authority, type: "authority", name: "cm").description
        for node in nodes {
            var attributes: [TemplateXMLNode.Attribute] = [
                .init(name: "client_id", value: node.clientID),
                .init(name: "component_manager_id", value: manager),
                .init(name: "exclusive", value: "false"),
                .init(name: "sliver_id", value: node.sliverID),
            ]
            if let component = node.componentID { attributes.append(.init(name: "component_id", value: component)) }
            var element = TemplateXMLNode(name: "node", attributes: attributes)
            var sliverType = TemplateXMLNode(name: "sliver_type", attributes: [.init(name: "name", value: node.sliverType)])
            if let image = node.diskImage {
                sliverType.children.append(
                    .element(TemplateXMLNode(name: "disk_image", attributes: [.init(name: "name", value: image)]))
                )
            }
            element.children.append(.element(sliverType))
            if let address = node.address, !address.isEmpty {
                let login = TemplateXMLNode(
                    name: "login",
                    attributes: [
                        .init(name: "authentication", value: "ssh-keys"), .init(name: "hostname", value: address),
                        .init(name: "port", value: "22"), .init(name: "username", value: node.username),
                    ]
                )
                element.children.append(.element(TemplateXMLNode(name: "services", children: [.element(login)])))
            }
            root.children.append(.element(element))
        }
        return document(root)
    }

    // MARK: Helpers

    private static func rootAttributes(type: String, schema: String) -> [TemplateXMLNode.Attribute] {
        [
            .init(name: "xmlns", value: namespace),
            .init(name: "xmlns:xsi", value: schemaInstance),
            .init(name: "xsi:schemaLocation", value: "\(namespace) \(namespace)/\(schema)"),
            .init(name: "type", value: type),
        ]
    }

    private static func document(_ root: TemplateXMLNode) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root.xmlString() + "\n"
    }

    /// `node` of `rs:node`: requests may use a prefix for the RSpec namespace.
    static func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }
}

import NIOCore

/// First frame on every connection, from the side that dialled. Its layout is frozen across versions
/// (see docs/protocol.md) so that any two peers can negotiate.
public struct Hello: WirePayload {
    public static let messageType = WireMessageType.hello

    /// Every protocol version the sender speaks.
    public var supportedVersions: [UInt8]
    public var role: PeerRole
    public var softwareVersion: String
    public var nodeName: String
    /// Present when `role == .agent`.
    public var agent: AgentDescription?

    public init(
        supportedVersions: [UInt8] = Array(WireVersion.supported),
        role: PeerRole,
        softwareVersion: String,
        nodeName: String,
        agent: AgentDescription? = nil
    ) {
        self.supportedVersions = supportedVersions
        self.role = role
        self.softwareVersion = softwareVersion
        self.nodeName = nodeName
        self.agent = agent
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(min(supportedVersions.count, 255)))
        buffer.writeBytes(supportedVersions.prefix(255))
        buffer.writeInteger(role.rawValue)
        buffer.writeWireString(softwareVersion)
        buffer.writeWireString(nodeName)
        buffer.writeWireOptional(agent) { buffer, agent in agent.encode(into: &buffer) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Hello {
        let count = try buffer.readWireCount(as: UInt8.self, minimumElementSize: 1, messageType, "supportedVersions")
        guard let versions = buffer.readBytes(length: count) else {
            throw .truncated(message: messageType, field: "supportedVersions")
        }
        let role = try buffer.readWireEnum(as: PeerRole.self, messageType, "role")
        let software = try buffer.readWireString(messageType, "softwareVersion")
        let node = try buffer.readWireString(messageType, "nodeName")
        let agent = try buffer.readWireOptional(messageType, "agent") { (buffer) throws(WireError) in
            try AgentDescription.decode(from: &buffer)
        }
        return Hello(supportedVersions: versions, role: role, softwareVersion: software, nodeName: node, agent: agent)
    }

    /// Extension tags of this message (docs/protocol.md). The fixed fields are frozen; the extension area is not.
    public enum ExtensionTag {
        /// `agent.migrationURI`: string, the libvirt URI other hosts migrate VMs to this host at. Sent only by an
        /// agent with one, so an older manager skips it.
        public static let migrationURI: UInt16 = 0x0001
    }

    public var extensionFields: [WireExtensionField] {
        guard let uri = agent?.migrationURI, !uri.isEmpty else { return [] }
        var value = ByteBuffer()
        value.writeWireString(uri)
        return [WireExtensionField(tag: ExtensionTag.migrationURI, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        // Meaningful only with an agent description; a Hello without one ignores it like an unknown tag.
        guard field.tag == ExtensionTag.migrationURI, agent != nil else { return }
        var value = field.value
        let uri = try value.readWireString(Self.messageType, "agent.migrationURI")
        guard value.readableBytes == 0 else {
            throw .invalidValue(
                message: Self.messageType,
                field: "agent.migrationURI.length",
                value: UInt64(field.value.readableBytes)
            )
        }
        agent?.migrationURI = uri
    }
}

/// What an agent says about its host when it joins.
public struct AgentDescription: Hashable, Sendable {
    /// Stable identity of the host (survives restarts and sleep).
    public var hostID: String
    public var hostname: String
    public var capabilities: AgentCapabilities
    public var capacity: HostCapacity
    public var wake: WakeSettings
    /// The agent's own listening endpoint ("host:port") for manager-initiated connections.
    public var listenAddress: String
    /// The libvirt URI other hosts' libvirtds reach this host at for migrations (`qemu+tcp://10.0.0.2/system`);
    /// empty when the agent did not say (an agent from before migrations). Travels in Hello's `migrationURI`
    /// extension field.
    public var migrationURI: String

    public init(
        hostID: String,
        hostname: String,
        capabilities: AgentCapabilities,
        capacity: HostCapacity,
        wake: WakeSettings,
        listenAddress: String,
        migrationURI: String = ""
    ) {
        self.migrationURI = migrationURI
        self.hostID = hostID
        self.hostname = hostname
        self.capabilities = capabilities
        self.capacity = capacity
        self.wake = wake
        self.listenAddress = listenAddress
    }

    /// Every field but `migrationURI`, which Hello sends in its extension area.
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        buffer.writeWireString(hostname)
        buffer.writeInteger(capabilities.rawValue)
        buffer.writeHostCapacity(capacity)
        buffer.writeWakeSettings(wake)
        buffer.writeWireString(listenAddress)
    }

    /// Reads what `encode(into:)` writes (not `migrationURI`, which travels apart); errors name `type`, the message
    /// that carries the description, and the fields `agent.…`.
    static func decode(
        from buffer: inout ByteBuffer,
        _ type: WireMessageType = .hello
    ) throws(WireError) -> AgentDescription {
        let hostID = try buffer.readWireString(type, "agent.hostID")
        let hostname = try buffer.readWireString(type, "agent.hostname")
        let capabilities = AgentCapabilities(rawValue: try buffer.readWireInteger(type, "agent.capabilities"))
        let capacity = try buffer.readHostCapacity(type)
        let wake = try buffer.readWakeSettings(type)
        let listen = try buffer.readWireString(type, "agent.listenAddress")
        return AgentDescription(
            hostID: hostID,
            hostname: hostname,
            capabilities: capabilities,
            capacity: capacity,
            wake: wake,
            listenAddress: listen
        )
    }
}

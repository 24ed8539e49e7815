import NIOCore

/// The answer to Hello: the version both sides now use and, for an agent, its assignment.
/// Layout frozen across versions, like Hello.
public struct Welcome: WirePayload {
    public static let messageType = WireMessageType.welcome

    public var version: UInt8
    public var role: PeerRole
    public var softwareVersion: String
    public var nodeName: String
    public var assignment: Assignment?

    /// What a manager tells a joining agent.
    public struct Assignment: Hashable, Sendable {
        public var managerID: String
        public var heartbeatIntervalMilliseconds: UInt32
        public var reportIntervalMilliseconds: UInt32

        public init(managerID: String, heartbeatIntervalMilliseconds: UInt32, reportIntervalMilliseconds: UInt32) {
            self.managerID = managerID
            self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
            self.reportIntervalMilliseconds = reportIntervalMilliseconds
        }
    }

    public init(
        version: UInt8,
        role: PeerRole,
        softwareVersion: String,
        nodeName: String,
        assignment: Assignment? = nil
    ) {
        self.version = version
        self.role = role
        self.softwareVersion = softwareVersion
        self.nodeName = nodeName
        self.assignment = assignment
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeInteger(role.rawValue)
        buffer.writeWireString(softwareVersion)
        buffer.writeWireString(nodeName)
        buffer.writeWireOptional(assignment) { buffer, assignment in
            buffer.writeWireString(assignment.managerID)
            buffer.writeMultipleIntegers(
                assignment.heartbeatIntervalMilliseconds,
                assignment.reportIntervalMilliseconds
            )
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Welcome {
        let version = try buffer.readWireInteger(as: UInt8.self, messageType, "version")
        let role = try buffer.readWireEnum(as: PeerRole.self, messageType, "role")
        let software = try buffer.readWireString(messageType, "softwareVersion")
        let node = try buffer.readWireString(messageType, "nodeName")
        let assignment = try buffer.readWireOptional(messageType, "assignment") {
            (buffer) throws(WireError) -> Assignment in
            let managerID = try buffer.readWireString(messageType, "assignment.managerID")
            let heartbeat = try buffer.readWireInteger(as: UInt32.self, messageType, "assignment.heartbeatInterval")
            let report = try buffer.readWireInteger(as: UInt32.self, messageType, "assignment.reportInterval")
            return Assignment(
                managerID: managerID,
                heartbeatIntervalMilliseconds: heartbeat,
                reportIntervalMilliseconds: report
            )
        }
        return Welcome(version: version, role: role, softwareVersion: software, nodeName: node, assignment: assignment)
    }
}

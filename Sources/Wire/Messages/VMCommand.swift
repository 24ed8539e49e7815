import NIOCore

/// An order about one VM. Answered by a CommandResult with the same request id.
public enum VMCommand: WirePayload {
    public static let messageType = WireMessageType.vmCommand

    case start(domainXML: String)
    case suspend(name: String)
    case resume(name: String)
    case shutdown(name: String)
    case destroy(name: String)
    case reboot(name: String)
    case migrate(Migration)
    /// Removes a stopped VM's definition from the host.
    case undefine(name: String)

    public struct Migration: Hashable, Sendable {
        public enum Method: UInt8, Hashable, Sendable, CaseIterable {
            case live = 1
            case offline = 2
            case liveNonSharedFullDisk = 3
            case liveNonSharedIncrementalDisk = 4
        }

        public var name: String
        /// libvirt URI of the destination, e.g. "qemu+tcp://10.0.0.2/system".
        public var destinationURI: String
        public var method: Method
        public var timeoutSeconds: UInt32

        public init(name: String, destinationURI: String, method: Method, timeoutSeconds: UInt32) {
            self.name = name
            self.destinationURI = destinationURI
            self.method = method
            self.timeoutSeconds = timeoutSeconds
        }
    }

    enum Kind: UInt8 {
        case start = 1
        case suspend = 2
        case resume = 3
        case shutdown = 4
        case destroy = 5
        case reboot = 6
        case migrate = 7
        case undefine = 8
    }

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .start(let xml):
            buffer.writeInteger(Kind.start.rawValue)
            buffer.writeWireLongString(xml)
        case .suspend(let name): Self.encode(.suspend, name, &buffer)
        case .resume(let name): Self.encode(.resume, name, &buffer)
        case .shutdown(let name): Self.encode(.shutdown, name, &buffer)
        case .destroy(let name): Self.encode(.destroy, name, &buffer)
        case .reboot(let name): Self.encode(.reboot, name, &buffer)
        case .undefine(let name): Self.encode(.undefine, name, &buffer)
        case .migrate(let migration):
            buffer.writeInteger(Kind.migrate.rawValue)
            buffer.writeWireString(migration.name)
            buffer.writeWireString(migration.destinationURI)
            buffer.writeMultipleIntegers(migration.method.rawValue, migration.timeoutSeconds)
        }
    }

    private static func encode(_ kind: Kind, _ name: String, _ buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.rawValue)
        buffer.writeWireString(name)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> VMCommand {
        let kind = try buffer.readWireEnum(as: Kind.self, messageType, "kind")
        switch kind {
        case .start: return .start(domainXML: try buffer.readWireLongString(messageType, "domainXML"))
        case .suspend: return .suspend(name: try buffer.readWireString(messageType, "name"))
        case .resume: return .resume(name: try buffer.readWireString(messageType, "name"))
        case .shutdown: return .shutdown(name: try buffer.readWireString(messageType, "name"))
        case .destroy: return .destroy(name: try buffer.readWireString(messageType, "name"))
        case .reboot: return .reboot(name: try buffer.readWireString(messageType, "name"))
        case .undefine: return .undefine(name: try buffer.readWireString(messageType, "name"))
        case .migrate:
            let name = try buffer.readWireString(messageType, "name")
            let destination = try buffer.readWireString(messageType, "destinationURI")
            let method = try buffer.readWireEnum(as: Migration.Method.self, messageType, "method")
            let timeout = try buffer.readWireInteger(as: UInt32.self, messageType, "timeoutSeconds")
            return .migrate(
                Migration(name: name, destinationURI: destination, method: method, timeoutSeconds: timeout)
            )
        }
    }
}

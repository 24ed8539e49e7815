import NIOCore

/// The manager asks an agent to cancel the migration of one VM it runs. Answered by a CommandResult: ok once the
/// job was aborted (the VM keeps running on the source), notFound when no migration of that VM runs.
/// Sent with the `ignorable` flag, so an agent older than the message drops it instead of closing the link.
public struct MigrationCancel: WirePayload {
    public static let messageType = WireMessageType.migrationCancel

    public var vmName: String

    public init(vmName: String) {
        self.vmName = vmName
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(vmName)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> MigrationCancel {
        MigrationCancel(vmName: try buffer.readWireString(messageType, "vmName"))
    }
}

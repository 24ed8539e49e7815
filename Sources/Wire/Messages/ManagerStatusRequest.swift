import NIOCore

/// agentctl asks the manager for its diagnostics. Answered by ManagerStatusReply. No fixed fields in version 1.
public struct ManagerStatusRequest: WirePayload {
    public static let messageType = WireMessageType.managerStatusRequest

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `page`: one HostPageRequest. Without it the manager sends every host in one reply (version 1).
        public static let page: UInt16 = 0x0001
    }

    /// The hosts wanted; nil asks for every host in one reply, which fails past the frame limit.
    public var page: HostPageRequest?

    public init(page: HostPageRequest? = nil) {
        self.page = page
    }

    public func encode(into buffer: inout ByteBuffer) {}

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ManagerStatusRequest {
        ManagerStatusRequest()
    }

    public var extensionFields: [WireExtensionField] {
        guard let page else { return [] }
        var value = ByteBuffer()
        value.writeHostPageRequest(page)
        return [WireExtensionField(tag: ExtensionTag.page, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.page else { return }
        page = try field.hostPageRequest(Self.messageType)
    }
}

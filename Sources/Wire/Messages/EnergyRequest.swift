import NIOCore

/// The torpor CLI asks the manager how much energy its hosts used and would have used had they never slept.
/// Answered by EnergyReply. No fixed fields in version 1.
public struct EnergyRequest: WirePayload {
    public static let messageType = WireMessageType.energyRequest

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

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EnergyRequest {
        EnergyRequest()
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

import NIOCore

/// One message body. Implementations live one per file in `Messages/`.
///
/// `encode` writes the fixed fields; `decode` reads exactly those fields. The extension area that follows
/// them, and the check that nothing trails it, are handled once in `WireMessage`.
public protocol WirePayload: Hashable, Sendable {
    static var messageType: WireMessageType { get }
    func encode(into buffer: inout ByteBuffer)
    static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Self

    /// Fields this build adds through the extension area (none in version 1).
    var extensionFields: [WireExtensionField] { get }
    /// Called for every extension field received; unknown tags must be ignored.
    mutating func apply(extensionField: WireExtensionField) throws(WireError)
}

extension WirePayload {
    public var extensionFields: [WireExtensionField] { [] }
    public mutating func apply(extensionField: WireExtensionField) throws(WireError) {}
}

import NIOCore

/// The tail of every message payload: fields added after a message's layout was fixed.
///
/// ```
/// UInt16 count
/// count × { UInt16 tag, UInt32 length, length bytes }
/// ```
/// A decoder reads the tags it knows and skips the others, so a newer peer can add a field without
/// breaking an older one. Version 1 messages send an empty area (two zero bytes).
public struct WireExtensionField: Hashable, Sendable {
    public var tag: UInt16
    public var value: ByteBuffer

    public init(tag: UInt16, value: ByteBuffer) {
        self.tag = tag
        self.value = value
    }

    /// A list with one entry per element of the message's own list (`count` of them), matched by position: a list of
    /// another length, or bytes after it, cannot be applied (`NAME.count`, `NAME.length`).
    public func positionalEntries<Entry>(
        count: Int,
        minimumEntrySize: Int,
        _ message: WireMessageType,
        _ name: StaticString,
        entry: (inout ByteBuffer) throws(WireError) -> Entry
    ) throws(WireError) -> [Entry] {
        var rest = value
        let entries = try rest.readWireArray(minimumElementSize: minimumEntrySize, message, name, element: entry)
        guard entries.count == count else {
            throw .invalidValue(message: message, field: "\(name).count", value: UInt64(entries.count))
        }
        guard rest.readableBytes == 0 else {
            throw .invalidValue(message: message, field: "\(name).length", value: UInt64(value.readableBytes))
        }
        return entries
    }

    /// `positionalEntries` of `optional<string>`: one per element of the message's list (cordons, hypervisor
    /// problems). `present` and `value` name the parts in errors (`NAME.present`, `NAME.VALUE`).
    public func positionalOptionalStrings(
        count: Int,
        _ message: WireMessageType,
        _ name: StaticString,
        present: StaticString,
        value: StaticString
    ) throws(WireError) -> [String?] {
        // A presence byte per element at least.
        try positionalEntries(count: count, minimumEntrySize: 1, message, name) {
            (buffer) throws(WireError) -> String? in
            try buffer.readWireOptional(message, present) { (buffer) throws(WireError) -> String in
                try buffer.readWireString(message, value)
            }
        }
    }

    /// The value `positionalOptionalStrings` reads.
    public static func optionalStrings(tag: UInt16, _ values: [String?]) -> WireExtensionField {
        var value = ByteBuffer()
        value.writeWireArray(values) { buffer, string in
            buffer.writeWireOptional(string) { buffer, string in buffer.writeWireString(string) }
        }
        return WireExtensionField(tag: tag, value: value)
    }
}

extension ByteBuffer {
    @inlinable
    public mutating func writeWireExtensionArea(_ fields: [WireExtensionField]) {
        self.writeInteger(UInt16(fields.count))
        for field in fields {
            self.writeInteger(field.tag)
            self.writeInteger(UInt32(field.value.readableBytes))
            self.writeImmutableBuffer(field.value)
        }
    }

    /// Reads the extension area; each field's bytes are a slice of this buffer (no copy).
    @inlinable
    public mutating func readWireExtensionArea(_ message: WireMessageType) throws(WireError) -> [WireExtensionField] {
        let count = try self.readWireCount(as: UInt16.self, minimumElementSize: 6, message, "extensions")
        var fields: [WireExtensionField] = []
        fields.reserveCapacity(count)
        for _ in 0..<count {
            let tag = try self.readWireInteger(as: UInt16.self, message, "extension.tag")
            let length = try self.readWireInteger(as: UInt32.self, message, "extension.length")
            guard let value = self.readSlice(length: Int(length)) else {
                throw .truncated(message: message, field: "extension.value")
            }
            fields.append(WireExtensionField(tag: tag, value: value))
        }
        return fields
    }
}

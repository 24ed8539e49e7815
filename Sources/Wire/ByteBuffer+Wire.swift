import NIOCore

// Field codecs shared by every message. Each reader throws a WireError naming the message and the field;
// counts are checked against the bytes that remain before anything is reserved, so a hostile count cannot
// make the decoder allocate more than the frame holds.

extension ByteBuffer {
    @inlinable
    public mutating func readWireInteger<T: FixedWidthInteger>(
        as: T.Type = T.self,
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> T {
        guard let value = self.readInteger(as: T.self) else {
            throw .truncated(message: message, field: "\(field)")
        }
        return value
    }

    @inlinable
    public mutating func writeWireFloat32(_ value: Float) {
        self.writeInteger(value.bitPattern)
    }

    @inlinable
    public mutating func readWireFloat32(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> Float {
        Float(bitPattern: try self.readWireInteger(as: UInt32.self, message, field))
    }

    @inlinable
    public mutating func writeWireFloat64(_ value: Double) {
        self.writeInteger(value.bitPattern)
    }

    @inlinable
    public mutating func readWireFloat64(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> Double
    {
        Double(bitPattern: try self.readWireInteger(as: UInt64.self, message, field))
    }

    @inlinable
    public mutating func writeWireBool(_ value: Bool) {
        self.writeInteger(value ? 1 as UInt8 : 0)
    }

    @inlinable
    public mutating func readWireBool(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> Bool {
        let raw = try self.readWireInteger(as: UInt8.self, message, field)
        switch raw {
        case 0: return false
        case 1: return true
        default: throw .invalidValue(message: message, field: "\(field)", value: UInt64(raw))
        }
    }

    /// A string with a UInt16 byte-length prefix (names, ids, short messages). A longer string is cut to at most
    /// 65535 bytes at a scalar boundary, so the receiver still gets valid UTF-8.
    @inlinable
    public mutating func writeWireString(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            var length = min(bytes.count, Int(UInt16.max))
            if length < bytes.count {
                // Back off over continuation bytes (10xxxxxx) to the start of the cut scalar.
                while length > 0, bytes[length] & 0xC0 == 0x80 { length -= 1 }
            }
            self.writeInteger(UInt16(length))
            self.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[..<length]))
        }
    }

    @inlinable
    public mutating func readWireString(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> String {
        let length = try self.readWireInteger(as: UInt16.self, message, field)
        return try self.readWireUTF8(length: Int(length), message, field)
    }

    /// A string with a UInt32 byte-length prefix (libvirt XML, command output).
    @inlinable
    public mutating func writeWireLongString(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            self.writeInteger(UInt32(bytes.count))
            self.writeBytes(bytes)
        }
    }

    @inlinable
    public mutating func readWireLongString(
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> String {
        let length = try self.readWireInteger(as: UInt32.self, message, field)
        return try self.readWireUTF8(length: Int(length), message, field)
    }

    @inlinable
    mutating func readWireUTF8(
        length: Int,
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> String {
        guard let view = self.readSlice(length: length) else {
            throw .truncated(message: message, field: "\(field)")
        }
        let decoded: String? = view.withUnsafeReadableBytes { bytes in
            String(validating: bytes, as: UTF8.self)
        }
        guard let decoded else { throw .invalidUTF8(message: message, field: "\(field)") }
        return decoded
    }

    /// Reads an element count of type `T` and checks that `count × minimumElementSize` bytes remain.
    @inlinable
    public mutating func readWireCount<T: FixedWidthInteger & UnsignedInteger>(
        as: T.Type,
        minimumElementSize: Int,
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> Int {
        let count = Int(try self.readWireInteger(as: T.self, message, field))
        let (needed, overflow) = count.multipliedReportingOverflow(by: max(minimumElementSize, 1))
        guard !overflow, needed <= self.readableBytes else {
            throw .absurdCount(message: message, field: "\(field)", count: count, remainingBytes: self.readableBytes)
        }
        return count
    }

    /// Reads a list with a UInt16 count prefix.
    @inlinable
    public mutating func readWireArray<Element>(
        minimumElementSize: Int,
        _ message: WireMessageType,
        _ field: StaticString,
        element: (inout ByteBuffer) throws(WireError) -> Element
    ) throws(WireError) -> [Element] {
        let count = try self.readWireCount(as: UInt16.self, minimumElementSize: minimumElementSize, message, field)
        var result: [Element] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(try element(&self))
        }
        return result
    }

    @inlinable
    public mutating func writeWireArray<Element>(_ elements: [Element], element: (inout ByteBuffer, Element) -> Void) {
        precondition(elements.count <= Int(UInt16.max), "a Wire list holds at most 65535 elements")
        self.writeInteger(UInt16(elements.count))
        for item in elements {
            element(&self, item)
        }
    }

    /// Reads a one-byte enum value.
    @inlinable
    public mutating func readWireEnum<E: RawRepresentable>(
        as: E.Type,
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> E where E.RawValue == UInt8 {
        let raw = try self.readWireInteger(as: UInt8.self, message, field)
        guard let value = E(rawValue: raw) else {
            throw .invalidValue(message: message, field: "\(field)", value: UInt64(raw))
        }
        return value
    }

    /// An optional value: a presence byte (0 or 1) followed by the value when present.
    @inlinable
    public mutating func readWireOptional<Value>(
        _ message: WireMessageType,
        _ field: StaticString,
        value: (inout ByteBuffer) throws(WireError) -> Value
    ) throws(WireError) -> Value? {
        guard try self.readWireBool(message, field) else { return nil }
        return try value(&self)
    }

    @inlinable
    public mutating func writeWireOptional<Value>(_ optional: Value?, value: (inout ByteBuffer, Value) -> Void) {
        if let optional {
            self.writeWireBool(true)
            value(&self, optional)
        } else {
            self.writeWireBool(false)
        }
    }
}

extension ByteBuffer {
    /// Another message's payload inside this one (docs/protocol.md, "Embedded payload"): a `u32` byte length, then
    /// the payload as its own frame would carry it, fixed fields and extension area.
    mutating func writeWireEmbedded<P: WirePayload>(_ payload: P) {
        let lengthIndex = self.writerIndex
        self.writeInteger(UInt32(0))
        let start = self.writerIndex
        WireMessage.encode(payload, &self)
        let length = self.writerIndex - start
        precondition(length <= Int(UInt32.max), "an embedded Wire payload holds at most 4 GiB")
        self.setInteger(UInt32(length), at: lengthIndex)
    }

    /// Reads what `writeWireEmbedded` writes. The payload is decoded from its own slice, so it cannot read past its
    /// length; errors inside it name the embedded message, and bytes it leaves are its `trailingBytes`. A length
    /// past the end of this buffer is `truncated` naming `message` and `field`.
    mutating func readWireEmbedded<P: WirePayload>(
        _: P.Type,
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> P {
        guard var slice = self.readLengthPrefixedSlice(as: UInt32.self) else {
            throw .truncated(message: message, field: "\(field)")
        }
        return try WireMessage.decode(P.self, &slice)
    }
}

/// Stores big-endian integers into raw memory reserved for a list of fixed-size records.
@usableFromInline
struct WireRecordWriter {
    @usableFromInline var bytes: UnsafeMutableRawBufferPointer
    @usableFromInline var offset = 0

    @inlinable
    init(bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        precondition(offset + MemoryLayout<T>.size <= bytes.count, "a Wire record overran its declared size")
        bytes.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }
}

extension ByteBuffer {
    /// Writes a list of fixed-size records with a UInt16 count prefix, the same bytes as `writeWireArray`, but with
    /// one capacity check and one buffer access for the whole list instead of one per write: per-write overhead
    /// was most of the cost of encoding a MonitoringReport.
    @inlinable
    mutating func writeWireRecords<Element>(
        _ elements: [Element],
        recordSize: Int,
        record: (inout WireRecordWriter, Element) -> Void
    ) {
        precondition(elements.count <= Int(UInt16.max), "a Wire list holds at most 65535 elements")
        self.writeInteger(UInt16(elements.count))
        let total = elements.count * recordSize
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { bytes in
            var writer = WireRecordWriter(bytes: UnsafeMutableRawBufferPointer(rebasing: bytes[..<total]))
            for element in elements {
                record(&writer, element)
            }
            precondition(writer.offset == total, "a Wire record fell short of its declared size")
            return total
        }
    }
}

/// Loads big-endian integers from the raw bytes of a list of fixed-size records.
@usableFromInline
struct WireRecordReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0

    @inlinable
    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable
    mutating func read<T: FixedWidthInteger>(as: T.Type = T.self) -> T {
        precondition(offset + MemoryLayout<T>.size <= bytes.count, "a Wire record overran its declared size")
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }
}

extension ByteBuffer {
    /// Reads a list written by `writeWireRecords`. The count is checked against the remaining bytes first, so
    /// every record is known to be there; `record` must read exactly `recordSize` bytes.
    @inlinable
    mutating func readWireRecords<Element>(
        recordSize: Int,
        _ message: WireMessageType,
        _ field: StaticString,
        record: (inout WireRecordReader) throws(WireError) -> Element
    ) throws(WireError) -> [Element] {
        let count = try self.readWireCount(as: UInt16.self, minimumElementSize: recordSize, message, field)
        let total = count * recordSize
        var elements: [Element] = []
        elements.reserveCapacity(count)
        let failure: WireError? = self.withUnsafeReadableBytes { bytes in
            var reader = WireRecordReader(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<total]))
            for _ in 0..<count {
                do throws(WireError) {
                    elements.append(try record(&reader))
                } catch {
                    return error
                }
            }
            precondition(reader.offset == total, "a Wire record fell short of its declared size")
            return nil
        }
        if let failure { throw failure }
        self.moveReaderIndex(forwardBy: total)
        return elements
    }
}

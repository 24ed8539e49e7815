import NIOCore

/// The manager's energy account for `torpor energy`: per host, its power state, latest BMC reading and the energy
/// used since the manager's first reading, beside what the host would have used had it never slept. Every host, or
/// one page of them when the request asked for a page.
public struct EnergyReply: WirePayload, HostPagedReply {
    public static let messageType = WireMessageType.energyReply

    /// Longest reading error in UTF-8 bytes; a longer one is cut at a scalar boundary by the sender.
    public static let maximumReadingErrorBytes = 256

    /// Since the manager's first power reading.
    public var millisecondsMeasured: UInt64
    public var hosts: [Host]
    /// Present when the request asked for a page (extension tag page).
    public var page: HostPageInfo?

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `page`: one HostPageInfo. Sent only in answer to a request with a page.
        public static let page: UInt16 = 0x0001
    }

    public struct Host: Hashable, Sendable {
        public var hostID: String
        public var state: ManagerStatusReply.HostState
        public var millisecondsInState: UInt64
        /// The latest BMC reading; nil if there is none.
        public var watts: Double?
        public var millisecondsSinceReading: UInt64?
        public var usedKilowattHours: Double
        /// The estimate had the host never slept.
        public var alwaysOnKilowattHours: Double
        /// The last sensor error (e.g. BMC unreachable); nil when readings are fine.
        public var readingError: String?

        public init(
            hostID: String,
            state: ManagerStatusReply.HostState,
            millisecondsInState: UInt64,
            watts: Double? = nil,
            millisecondsSinceReading: UInt64? = nil,
            usedKilowattHours: Double,
            alwaysOnKilowattHours: Double,
            readingError: String? = nil
        ) {
            self.hostID = hostID
            self.state = state
            self.millisecondsInState = millisecondsInState
            self.watts = watts
            self.millisecondsSinceReading = millisecondsSinceReading
            self.usedKilowattHours = usedKilowattHours
            self.alwaysOnKilowattHours = alwaysOnKilowattHours
            self.readingError = readingError.map { $0.prefix(utf8Bytes: EnergyReply.maximumReadingErrorBytes) }
        }
    }

    public init(millisecondsMeasured: UInt64, hosts: [Host], page: HostPageInfo? = nil) {
        self.millisecondsMeasured = millisecondsMeasured
        self.hosts = hosts
        self.page = page
    }

    public static func hostID(of host: Host) -> String { host.hostID }

    /// The cluster's total; not on the wire.
    public var usedKilowattHours: Double { hosts.reduce(0) { $0 + $1.usedKilowattHours } }
    /// The cluster's always-on estimate; not on the wire.
    public var alwaysOnKilowattHours: Double { hosts.reduce(0) { $0 + $1.alwaysOnKilowattHours } }

    /// hostID 2 + state 1 + millisecondsInState 8 + watts presence 1 + reading age presence 1 + used 8
    /// + always-on 8 + readingError presence 1.
    static let minimumHostSize = 30

    /// The bytes `host` adds to the payload.
    public static func encodedSize(of host: Host) -> Int {
        minimumHostSize + host.hostID.utf8.count + (host.watts == nil ? 0 : 8)
            + (host.millisecondsSinceReading == nil ? 0 : 8)
            + (host.readingError.map { 2 + $0.prefix(utf8Bytes: maximumReadingErrorBytes).utf8.count } ?? 0)
    }

    /// The payload's bytes, at most (exactly when the page field is sent): without building it, to decide whether it
    /// fits in a frame.
    public var encodedSize: Int {
        // millisecondsMeasured, host count; the extension area with page.
        8 + 2 + 2 + 6 + HostPageInfo.wireSize + hosts.reduce(0) { $0 + Self.encodedSize(of: $1) }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(millisecondsMeasured)
        buffer.writeWireArray(hosts) { buffer, host in
            buffer.writeWireString(host.hostID)
            buffer.writeInteger(host.state.rawValue)
            buffer.writeInteger(host.millisecondsInState)
            buffer.writeWireOptional(host.watts) { buffer, watts in buffer.writeWireFloat64(watts) }
            buffer.writeWireOptional(host.millisecondsSinceReading) { buffer, age in buffer.writeInteger(age) }
            buffer.writeWireFloat64(host.usedKilowattHours)
            buffer.writeWireFloat64(host.alwaysOnKilowattHours)
            // Bounded again: the property may have been set after init.
            buffer.writeWireOptional(host.readingError) { buffer, error in
                buffer.writeWireString(error.prefix(utf8Bytes: Self.maximumReadingErrorBytes))
            }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EnergyReply {
        let measured = try buffer.readWireInteger(as: UInt64.self, messageType, "millisecondsMeasured")
        let hosts = try buffer.readWireArray(minimumElementSize: minimumHostSize, messageType, "hosts") {
            (buffer) throws(WireError) -> Host in
            let hostID = try buffer.readWireString(messageType, "hosts.hostID")
            let state = try buffer.readWireEnum(as: ManagerStatusReply.HostState.self, messageType, "hosts.state")
            let inState = try buffer.readWireInteger(as: UInt64.self, messageType, "hosts.millisecondsInState")
            let watts = try buffer.readWireOptional(messageType, "hosts.watts") {
                (buffer) throws(WireError) -> Double in
                try buffer.readWireFloat64(messageType, "hosts.watts")
            }
            let readingAge = try buffer.readWireOptional(messageType, "hosts.millisecondsSinceReading") {
                (buffer) throws(WireError) -> UInt64 in
                try buffer.readWireInteger(as: UInt64.self, messageType, "hosts.millisecondsSinceReading")
            }
            let used = try buffer.readWireFloat64(messageType, "hosts.usedKilowattHours")
            let alwaysOn = try buffer.readWireFloat64(messageType, "hosts.alwaysOnKilowattHours")
            let readingError = try buffer.readWireOptional(messageType, "hosts.readingError") {
                (buffer) throws(WireError) -> String in
                let error = try buffer.readWireString(messageType, "hosts.readingError")
                guard error.utf8.count <= maximumReadingErrorBytes else {
                    throw .invalidValue(
                        message: messageType,
                        field: "hosts.readingError.length",
                        value: UInt64(error.utf8.count)
                    )
                }
                return error
            }
            return Host(
                hostID: hostID,
                state: state,
                millisecondsInState: inState,
                watts: watts,
                millisecondsSinceReading: readingAge,
                usedKilowattHours: used,
                alwaysOnKilowattHours: alwaysOn,
                readingError: readingError
            )
        }
        return EnergyReply(millisecondsMeasured: measured, hosts: hosts)
    }

    public var extensionFields: [WireExtensionField] {
        guard let page else { return [] }
        var value = ByteBuffer()
        value.writeHostPageInfo(page)
        return [WireExtensionField(tag: ExtensionTag.page, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.page else { return }
        page = try field.hostPageInfo(Self.messageType)
    }
}

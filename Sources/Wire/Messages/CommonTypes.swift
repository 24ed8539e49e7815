import NIOCore

// Value types shared by several messages. Each has a fixed layout; see docs/protocol.md.

/// Who is speaking on a connection.
public enum PeerRole: UInt8, Hashable, Sendable, CaseIterable {
    case agent = 1
    case manager = 2
    /// agentctl or the torpor CLI.
    case control = 3
}

/// A domain's state, numbered as libvirt's `virDomainState`.
public enum VMState: UInt8, Hashable, Sendable, CaseIterable {
    case noState = 0
    case running = 1
    case blocked = 2
    case paused = 3
    case shuttingDown = 4
    case shutOff = 5
    case crashed = 6
    case pmSuspended = 7
}

/// What an agent can do. Unknown bits from newer peers are kept and ignored.
public struct AgentCapabilities: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let vmLifecycle = AgentCapabilities(rawValue: 1 << 0)
    public static let liveMigration = AgentCapabilities(rawValue: 1 << 1)
    public static let suspendToRam = AgentCapabilities(rawValue: 1 << 2)
    public static let suspendToDisk = AgentCapabilities(rawValue: 1 << 3)
    public static let suspendToBoth = AgentCapabilities(rawValue: 1 << 4)
    public static let shutdown = AgentCapabilities(rawValue: 1 << 5)
    public static let powerMetering = AgentCapabilities(rawValue: 1 << 6)
}

/// A host's capacity. 26 bytes: UInt16 cores, UInt64 memory bytes, UInt64 NIC rx and tx bytes/s.
public struct HostCapacity: Hashable, Sendable {
    public var cores: UInt16
    public var memoryBytes: UInt64
    public var nicRxBytesPerSecond: UInt64
    public var nicTxBytesPerSecond: UInt64

    public init(cores: UInt16, memoryBytes: UInt64, nicRxBytesPerSecond: UInt64, nicTxBytesPerSecond: UInt64) {
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.nicRxBytesPerSecond = nicRxBytesPerSecond
        self.nicTxBytesPerSecond = nicTxBytesPerSecond
    }

    static let wireSize = 26
}

extension ByteBuffer {
    mutating func writeHostCapacity(_ capacity: HostCapacity) {
        self.writeMultipleIntegers(
            capacity.cores,
            capacity.memoryBytes,
            capacity.nicRxBytesPerSecond,
            capacity.nicTxBytesPerSecond
        )
    }

    mutating func readHostCapacity(_ message: WireMessageType) throws(WireError) -> HostCapacity {
        guard let (cores, memory, rx, tx) = self.readMultipleIntegers(as: (UInt16, UInt64, UInt64, UInt64).self) else {
            throw .truncated(message: message, field: "capacity")
        }
        return HostCapacity(cores: cores, memoryBytes: memory, nicRxBytesPerSecond: rx, nicTxBytesPerSecond: tx)
    }
}

/// How a sleeping host can be woken. Addresses only: secrets (BMC passwords) never travel in Wire.
public struct WakeSettings: Hashable, Sendable {
    public enum Driver: UInt8, Hashable, Sendable, CaseIterable {
        case ipmi = 1
        case wakeOnLAN = 2
        case command = 3
    }

    /// The wake-on-LAN MAC address, 6 bytes, or nil.
    public var macAddress: [UInt8]?
    /// Where magic packets go, e.g. "10.0.0.255:9"; empty when unset.
    public var wakeOnLANTarget: String
    /// The BMC's "host:port"; empty when unset.
    public var bmcAddress: String
    /// Drivers in the order the manager should try them.
    public var drivers: [Driver]

    public init(
        macAddress: [UInt8]? = nil,
        wakeOnLANTarget: String = "",
        bmcAddress: String = "",
        drivers: [Driver] = []
    ) {
        self.macAddress = macAddress
        self.wakeOnLANTarget = wakeOnLANTarget
        self.bmcAddress = bmcAddress
        self.drivers = drivers
    }
}

extension ByteBuffer {
    mutating func writeWakeSettings(_ wake: WakeSettings) {
        self.writeWireOptional(wake.macAddress) { buffer, mac in
            var padded = Array(mac.prefix(6))
            while padded.count < 6 { padded.append(0) }
            buffer.writeBytes(padded)
        }
        self.writeWireString(wake.wakeOnLANTarget)
        self.writeWireString(wake.bmcAddress)
        self.writeWireArray(wake.drivers) { buffer, driver in buffer.writeInteger(driver.rawValue) }
    }

    mutating func readWakeSettings(_ message: WireMessageType) throws(WireError) -> WakeSettings {
        let mac = try self.readWireOptional(message, "wake.macAddress") { (buffer) throws(WireError) -> [UInt8] in
            guard let bytes = buffer.readBytes(length: 6) else {
                throw .truncated(message: message, field: "wake.macAddress")
            }
            return bytes
        }
        let target = try self.readWireString(message, "wake.wakeOnLANTarget")
        let bmc = try self.readWireString(message, "wake.bmcAddress")
        let drivers = try self.readWireArray(minimumElementSize: 1, message, "wake.drivers") {
            (buffer) throws(WireError) -> WakeSettings.Driver in
            try buffer.readWireEnum(as: WakeSettings.Driver.self, message, "wake.drivers")
        }
        return WakeSettings(macAddress: mac, wakeOnLANTarget: target, bmcAddress: bmc, drivers: drivers)
    }
}

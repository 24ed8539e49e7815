import NIOCore

/// An amount of each resource, in placement's units: CPU cores, memory bytes, network bytes per second. Carries
/// estimates and requests (ManagerStatusReply's `estimates`, ClusterReply's `estimates`). 32 bytes: four f64.
public struct ResourceAmounts: Hashable, Sendable {
    public var cpuCores: Double
    public var memoryBytes: Double
    public var networkRxBytesPerSecond: Double
    public var networkTxBytesPerSecond: Double

    public init(
        cpuCores: Double = 0,
        memoryBytes: Double = 0,
        networkRxBytesPerSecond: Double = 0,
        networkTxBytesPerSecond: Double = 0
    ) {
        self.cpuCores = cpuCores
        self.memoryBytes = memoryBytes
        self.networkRxBytesPerSecond = networkRxBytesPerSecond
        self.networkTxBytesPerSecond = networkTxBytesPerSecond
    }

    public static let wireSize = 32
}

extension ByteBuffer {
    mutating func writeResourceAmounts(_ amounts: ResourceAmounts) {
        writeWireFloat64(amounts.cpuCores)
        writeWireFloat64(amounts.memoryBytes)
        writeWireFloat64(amounts.networkRxBytesPerSecond)
        writeWireFloat64(amounts.networkTxBytesPerSecond)
    }

    mutating func readResourceAmounts(
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> ResourceAmounts {
        ResourceAmounts(
            cpuCores: try readWireFloat64(message, field),
            memoryBytes: try readWireFloat64(message, field),
            networkRxBytesPerSecond: try readWireFloat64(message, field),
            networkTxBytesPerSecond: try readWireFloat64(message, field)
        )
    }
}

import NIOCore

/// One full-precision VM sample, as agentctl shows it (MonitoringReport carries a compact form).
/// 56 bytes: Int64 timestamp ms, Float64 cores, UInt64 memory bytes, four Float64 bytes/s rates.
public struct VMMetrics: Hashable, Sendable {
    public static let wireSize = 56

    public var timestampMilliseconds: Int64
    public var cpuCoresInUse: Double
    public var memoryInUseBytes: UInt64
    public var networkRxBytesPerSecond: Double
    public var networkTxBytesPerSecond: Double
    public var diskReadBytesPerSecond: Double
    public var diskWriteBytesPerSecond: Double

    public init(
        timestampMilliseconds: Int64,
        cpuCoresInUse: Double,
        memoryInUseBytes: UInt64,
        networkRxBytesPerSecond: Double,
        networkTxBytesPerSecond: Double,
        diskReadBytesPerSecond: Double,
        diskWriteBytesPerSecond: Double
    ) {
        self.timestampMilliseconds = timestampMilliseconds
        self.cpuCoresInUse = cpuCoresInUse
        self.memoryInUseBytes = memoryInUseBytes
        self.networkRxBytesPerSecond = networkRxBytesPerSecond
        self.networkTxBytesPerSecond = networkTxBytesPerSecond
        self.diskReadBytesPerSecond = diskReadBytesPerSecond
        self.diskWriteBytesPerSecond = diskWriteBytesPerSecond
    }
}

extension ByteBuffer {
    mutating func writeVMMetrics(_ metrics: VMMetrics) {
        self.writeMultipleIntegers(
            metrics.timestampMilliseconds,
            metrics.cpuCoresInUse.bitPattern,
            metrics.memoryInUseBytes,
            metrics.networkRxBytesPerSecond.bitPattern,
            metrics.networkTxBytesPerSecond.bitPattern,
            metrics.diskReadBytesPerSecond.bitPattern,
            metrics.diskWriteBytesPerSecond.bitPattern
        )
    }

    mutating func readVMMetrics(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> VMMetrics {
        guard
            let (time, cpu, memory, rx, tx, read, write) = self.readMultipleIntegers(
                as: (Int64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64).self
            )
        else { throw .truncated(message: message, field: "\(field)") }
        return VMMetrics(
            timestampMilliseconds: time,
            cpuCoresInUse: Double(bitPattern: cpu),
            memoryInUseBytes: memory,
            networkRxBytesPerSecond: Double(bitPattern: rx),
            networkTxBytesPerSecond: Double(bitPattern: tx),
            diskReadBytesPerSecond: Double(bitPattern: read),
            diskWriteBytesPerSecond: Double(bitPattern: write)
        )
    }
}

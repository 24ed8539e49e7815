import NIOCore

/// One sampling round of an agent: the host and every VM. Sized for thousands of agents reporting every
/// few seconds: a VM costs 27 bytes. VMs are named by the slot the last Inventory gave them.
public struct MonitoringReport: WirePayload {
    public static let messageType = WireMessageType.monitoringReport

    /// When the round was sampled, milliseconds since the Unix epoch.
    public var timestampMilliseconds: Int64
    public var host: HostSample
    public var vms: [VMSample]

    public init(timestampMilliseconds: Int64, host: HostSample, vms: [VMSample]) {
        self.timestampMilliseconds = timestampMilliseconds
        self.host = host
        self.vms = vms
    }

    /// 20 bytes: Float32 cores in use, UInt64 memory bytes in use, Float32 rx, tx bytes/s.
    public struct HostSample: Hashable, Sendable {
        public var cpuCoresInUse: Float
        public var memoryInUseBytes: UInt64
        public var networkRxBytesPerSecond: Float
        public var networkTxBytesPerSecond: Float

        public init(
            cpuCoresInUse: Float,
            memoryInUseBytes: UInt64,
            networkRxBytesPerSecond: Float,
            networkTxBytesPerSecond: Float
        ) {
            self.cpuCoresInUse = cpuCoresInUse
            self.memoryInUseBytes = memoryInUseBytes
            self.networkRxBytesPerSecond = networkRxBytesPerSecond
            self.networkTxBytesPerSecond = networkTxBytesPerSecond
        }
    }

    /// 27 bytes. Rates are bytes per second as Float32 (7 significant digits, no overflow); memory is KiB,
    /// libvirt's own unit, saturating at 4 TiB.
    public struct VMSample: Hashable, Sendable {
        public static let wireSize = 27

        public var slot: UInt16
        public var state: VMState
        public var cpuCoresInUse: Float
        public var memoryInUseKiB: UInt32
        public var networkRxBytesPerSecond: Float
        public var networkTxBytesPerSecond: Float
        public var diskReadBytesPerSecond: Float
        public var diskWriteBytesPerSecond: Float

        public init(
            slot: UInt16,
            state: VMState,
            cpuCoresInUse: Float,
            memoryInUseKiB: UInt32,
            networkRxBytesPerSecond: Float,
            networkTxBytesPerSecond: Float,
            diskReadBytesPerSecond: Float,
            diskWriteBytesPerSecond: Float
        ) {
            self.slot = slot
            self.state = state
            self.cpuCoresInUse = cpuCoresInUse
            self.memoryInUseKiB = memoryInUseKiB
            self.networkRxBytesPerSecond = networkRxBytesPerSecond
            self.networkTxBytesPerSecond = networkTxBytesPerSecond
            self.diskReadBytesPerSecond = diskReadBytesPerSecond
            self.diskWriteBytesPerSecond = diskWriteBytesPerSecond
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(timestampMilliseconds)
        buffer.writeMultipleIntegers(
            host.cpuCoresInUse.bitPattern,
            host.memoryInUseBytes,
            host.networkRxBytesPerSecond.bitPattern,
            host.networkTxBytesPerSecond.bitPattern
        )
        // The hot path of every agent: all samples in one write (see writeWireRecords).
        buffer.writeWireRecords(vms, recordSize: VMSample.wireSize) { record, vm in
            record.write(vm.slot)
            record.write(vm.state.rawValue)
            record.write(vm.cpuCoresInUse.bitPattern)
            record.write(vm.memoryInUseKiB)
            record.write(vm.networkRxBytesPerSecond.bitPattern)
            record.write(vm.networkTxBytesPerSecond.bitPattern)
            record.write(vm.diskReadBytesPerSecond.bitPattern)
            record.write(vm.diskWriteBytesPerSecond.bitPattern)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> MonitoringReport {
        let timestamp = try buffer.readWireInteger(as: Int64.self, messageType, "timestamp")
        guard
            let (cpu, memory, rx, tx) = buffer.readMultipleIntegers(as: (UInt32, UInt64, UInt32, UInt32).self)
        else { throw .truncated(message: messageType, field: "host") }
        let host = HostSample(
            cpuCoresInUse: Float(bitPattern: cpu),
            memoryInUseBytes: memory,
            networkRxBytesPerSecond: Float(bitPattern: rx),
            networkTxBytesPerSecond: Float(bitPattern: tx)
        )
        let vms = try buffer.readWireRecords(recordSize: VMSample.wireSize, messageType, "vms") {
            (record) throws(WireError) -> VMSample in
            let slot = record.read(as: UInt16.self)
            let state = record.read(as: UInt8.self)
            guard let vmState = VMState(rawValue: state) else {
                throw .invalidValue(message: messageType, field: "vms.state", value: UInt64(state))
            }
            return VMSample(
                slot: slot,
                state: vmState,
                cpuCoresInUse: Float(bitPattern: record.read()),
                memoryInUseKiB: record.read(),
                networkRxBytesPerSecond: Float(bitPattern: record.read()),
                networkTxBytesPerSecond: Float(bitPattern: record.read()),
                diskReadBytesPerSecond: Float(bitPattern: record.read()),
                diskWriteBytesPerSecond: Float(bitPattern: record.read())
            )
        }
        return MonitoringReport(timestampMilliseconds: timestamp, host: host, vms: vms)
    }
}

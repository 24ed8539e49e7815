import NIOCore

/// A group manager's periodic picture of its hosts for the leader: pushed unsolicited every report interval and
/// whenever a host's state changes. The leader places, wakes and consolidates from it as from its own registry.
public struct GroupManagerReport: WirePayload {
    public static let messageType = WireMessageType.groupManagerReport

    /// One VM's newest samples, in placement's units.
    public struct VMSamples: Hashable, Sendable {
        public var uuid: WireUUID
        /// The newest samples of the VM, oldest first (cores, bytes, bytes/s), at most 65,535.
        public var samples: [ResourceAmounts]

        public init(uuid: WireUUID, samples: [ResourceAmounts]) {
            self.uuid = uuid
            self.samples = samples
        }

        /// uuid 16 + sample count 2.
        static let minimumWireSize = 18
    }

    public struct Host: Hashable, Sendable {
        /// The host as `agentctl manager` shows it, every field included (`millisecondsInState`, `watts` and
        /// `estimate` too); `status.hostID` is never empty.
        public var status: ManagerStatusReply.Host
        public var capabilities: AgentCapabilities
        /// The agent sent an inventory on its current connection.
        public var hasInventory: Bool
        public var vms: [VMSamples]

        public init(
            status: ManagerStatusReply.Host,
            capabilities: AgentCapabilities,
            hasInventory: Bool,
            vms: [VMSamples] = []
        ) {
            self.status = status
            self.capabilities = capabilities
            self.hasInventory = hasInventory
            self.vms = vms
        }

        /// The status host's fixed fields, three presence bytes (millisecondsInState, watts, estimate),
        /// capabilities 4, hasInventory 1, VM count 2.
        static let minimumWireSize = ManagerStatusReply.minimumHostSize + 3 + 4 + 1 + 2
    }

    /// Where the group manager listens for agents (host:port); never empty.
    public var agentAddress: String
    /// How many hosts it takes; 0: no limit.
    public var maxHosts: UInt32
    public var hosts: [Host]

    public init(agentAddress: String, maxHosts: UInt32 = 0, hosts: [Host]) {
        self.agentAddress = agentAddress
        self.maxHosts = maxHosts
        self.hosts = hosts
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(agentAddress)
        buffer.writeInteger(maxHosts)
        buffer.writeWireArray(hosts) { buffer, host in Self.write(host, into: &buffer) }
    }

    /// One host as `encode` writes it.
    static func write(_ host: Host, into buffer: inout ByteBuffer) {
        buffer.writeStatusHost(host.status)
        // What ManagerStatusReply sends in its extension area (hostPower, estimates), here in place.
        buffer.writeWireOptional(host.status.millisecondsInState) { buffer, age in buffer.writeInteger(age) }
        buffer.writeWireOptional(host.status.watts) { buffer, watts in buffer.writeWireFloat64(watts) }
        buffer.writeWireOptional(host.status.estimate) { buffer, estimate in buffer.writeHostEstimate(estimate) }
        buffer.writeInteger(host.capabilities.rawValue)
        buffer.writeWireBool(host.hasInventory)
        buffer.writeWireArray(host.vms) { buffer, vm in
            buffer.writeWireUUID(vm.uuid)
            buffer.writeWireRecords(vm.samples, recordSize: ResourceAmounts.wireSize) { record, sample in
                record.write(sample.cpuCores.bitPattern)
                record.write(sample.memoryBytes.bitPattern)
                record.write(sample.networkRxBytesPerSecond.bitPattern)
                record.write(sample.networkTxBytesPerSecond.bitPattern)
            }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> GroupManagerReport {
        let agentAddress = try buffer.readWireString(messageType, "agentAddress")
        guard !agentAddress.isEmpty else { throw .invalidValue(message: messageType, field: "agentAddress", value: 0) }
        let maxHosts = try buffer.readWireInteger(as: UInt32.self, messageType, "maxHosts")
        let hosts = try buffer.readWireArray(minimumElementSize: Host.minimumWireSize, messageType, "hosts") {
            (buffer) throws(WireError) -> Host in
            try readHost(&buffer)
        }
        return GroupManagerReport(agentAddress: agentAddress, maxHosts: maxHosts, hosts: hosts)
    }

    private static func readHost(_ buffer: inout ByteBuffer) throws(WireError) -> Host {
        var status = try buffer.readStatusHost(messageType)
        guard !status.hostID.isEmpty else { throw .invalidValue(message: messageType, field: "hosts.hostID", value: 0) }
        status.millisecondsInState = try buffer.readWireOptional(messageType, "hosts.millisecondsInState") {
            (buffer) throws(WireError) -> UInt64 in
            try buffer.readWireInteger(as: UInt64.self, messageType, "hosts.millisecondsInState")
        }
        status.watts = try buffer.readWireOptional(messageType, "hosts.watts") { (buffer) throws(WireError) -> Double in
            try buffer.readWireFloat64(messageType, "hosts.watts")
        }
        status.estimate = try buffer.readWireOptional(messageType, "hosts.estimate") {
            (buffer) throws(WireError) -> ManagerStatusReply.HostEstimate in
            try buffer.readHostEstimate(messageType, "hosts.estimate")
        }
        let capabilities = AgentCapabilities(
            rawValue: try buffer.readWireInteger(as: UInt32.self, messageType, "hosts.capabilities")
        )
        let hasInventory = try buffer.readWireBool(messageType, "hosts.hasInventory")
        let vms = try buffer.readWireArray(minimumElementSize: VMSamples.minimumWireSize, messageType, "hosts.vms") {
            (buffer) throws(WireError) -> VMSamples in
            try readVM(&buffer)
        }
        return Host(status: status, capabilities: capabilities, hasInventory: hasInventory, vms: vms)
    }

    private static func readVM(_ buffer: inout ByteBuffer) throws(WireError) -> VMSamples {
        let uuid = try buffer.readWireUUID(messageType, "hosts.vms.uuid")
        // Fixed 32-byte records, read in one access like MonitoringReport's VMs.
        let samples = try buffer.readWireRecords(
            recordSize: ResourceAmounts.wireSize,
            messageType,
            "hosts.vms.samples"
        ) { (record) throws(WireError) -> ResourceAmounts in
            ResourceAmounts(
                cpuCores: Double(bitPattern: record.read()),
                memoryBytes: Double(bitPattern: record.read()),
                networkRxBytesPerSecond: Double(bitPattern: record.read()),
                networkTxBytesPerSecond: Double(bitPattern: record.read())
            )
        }
        return VMSamples(uuid: uuid, samples: samples)
    }
}

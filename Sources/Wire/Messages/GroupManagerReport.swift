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
        /// `vms` carry only the samples taken since this link's previous report of the host, for the receiver to
        /// append to what it holds (keeping the report's `sampleWindow` newest); false: each VM's whole window.
        /// Sent in the `newSamples` extension field.
        public var samplesAreNew: Bool

        public init(
            status: ManagerStatusReply.Host,
            capabilities: AgentCapabilities,
            hasInventory: Bool,
            vms: [VMSamples] = [],
            samplesAreNew: Bool = false
        ) {
            self.status = status
            self.capabilities = capabilities
            self.hasInventory = hasInventory
            self.vms = vms
            self.samplesAreNew = samplesAreNew
        }

        /// The status host's fixed fields, three presence bytes (millisecondsInState, watts, estimate),
        /// capabilities 4, hasInventory 1, VM count 2.
        static let minimumWireSize = ManagerStatusReply.minimumHostSize + 3 + 4 + 1 + 2
    }

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `newSamples`: u16 sampleWindow (at least 1), then one bit per host, host i in byte i / 8 at bit i % 8
        /// (least significant first), set when `samplesAreNew`. Sent when `sampleWindow` is set or a host's samples
        /// are new: a receiver that skips it takes a few new samples for a whole window, a worse estimate for one
        /// window, nothing broken.
        public static let newSamples: UInt16 = 0x0001
        /// `hypervisorProblems`: as ManagerStatusReply's, one optional string per host (`status.hypervisorProblem`),
        /// in the order of `hosts`. Sent only when some host has one: a receiver that skips it places VMs on a host
        /// whose libvirtd does not answer, where the start fails with hypervisorUnavailable and is placed again.
        public static let hypervisorProblems: UInt16 = 0x0002
    }

    /// Where the group manager listens for agents (host:port); never empty.
    public var agentAddress: String
    /// How many hosts it takes; 0: no limit.
    public var maxHosts: UInt32
    public var hosts: [Host]
    /// The most samples per VM a receiver keeps when it appends a host's new samples (the group manager's
    /// estimator window), in `newSamples`; 0: not sent, and then no host's samples may be new.
    public var sampleWindow: UInt16

    public init(agentAddress: String, maxHosts: UInt32 = 0, hosts: [Host], sampleWindow: UInt16 = 0) {
        self.agentAddress = agentAddress
        self.maxHosts = maxHosts
        self.hosts = hosts
        self.sampleWindow = sampleWindow
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

    public var extensionFields: [WireExtensionField] {
        var fields: [WireExtensionField] = []
        if sampleWindow > 0 || hosts.contains(where: \.samplesAreNew) {
            var value = ByteBuffer()
            value.writeInteger(sampleWindow)
            var bits = [UInt8](repeating: 0, count: (hosts.count + 7) / 8)
            for (index, host) in hosts.enumerated() where host.samplesAreNew {
                bits[index / 8] |= 1 << UInt8(index % 8)
            }
            value.writeBytes(bits)
            fields.append(WireExtensionField(tag: ExtensionTag.newSamples, value: value))
        }
        if hosts.contains(where: { $0.status.hypervisorProblem != nil }) {
            fields.append(.optionalStrings(tag: ExtensionTag.hypervisorProblems, hosts.map(\.status.hypervisorProblem)))
        }
        return fields
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        switch field.tag {
        case ExtensionTag.newSamples: try applyNewSamples(field)
        case ExtensionTag.hypervisorProblems:
            let problems = try field.positionalOptionalStrings(
                count: hosts.count,
                Self.messageType,
                "hypervisorProblems",
                present: "hypervisorProblems.present",
                value: "hypervisorProblems.problem"
            )
            for (index, problem) in problems.enumerated() { hosts[index].status.hypervisorProblem = problem }
        default: break
        }
    }

    private mutating func applyNewSamples(_ field: WireExtensionField) throws(WireError) {
        var value = field.value
        let window = try value.readWireInteger(as: UInt16.self, Self.messageType, "newSamples.sampleWindow")
        guard window > 0 else {
            throw .invalidValue(message: Self.messageType, field: "newSamples.sampleWindow", value: 0)
        }
        // One bit per host, matched by position: a bitmap of another length cannot be applied.
        guard value.readableBytes == (hosts.count + 7) / 8 else {
            throw .invalidValue(
                message: Self.messageType,
                field: "newSamples.length",
                value: UInt64(field.value.readableBytes)
            )
        }
        let bits = value.readBytes(length: value.readableBytes) ?? []
        // Bits past the last host name no host.
        if hosts.count % 8 != 0, let last = bits.last, last >> UInt8(hosts.count % 8) != 0 {
            throw .invalidValue(message: Self.messageType, field: "newSamples.hosts", value: UInt64(last))
        }
        sampleWindow = window
        for index in hosts.indices { hosts[index].samplesAreNew = bits[index / 8] & (1 << UInt8(index % 8)) != 0 }
    }
}

import NIOCore

/// An agent's view of itself for `agentctl status`.
public struct StatusReply: WirePayload {
    public static let messageType = WireMessageType.statusReply

    public var hostID: String
    public var hostname: String
    public var agentVersion: String
    public var uptimeSeconds: UInt64
    public var capacity: HostCapacity
    public var manager: ManagerLink
    /// Latest host sample, nil before the first sampling round.
    public var host: MonitoringReport.HostSample?
    public var vms: [VM]
    /// What libvirt said when the agent's latest sampling round found libvirtd unreachable (extension tag
    /// hypervisorProblem); nil while it answers, or from an agent that does not send it.
    public var hypervisorProblem: String?

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `hypervisorProblem`: one string, at most `HypervisorStatus.maximumProblemBytes`. Sent only while libvirtd
        /// does not answer; an old decoder skips it.
        public static let hypervisorProblem: UInt16 = 0x0001
    }

    public struct ManagerLink: Hashable, Sendable {
        public enum State: UInt8, Hashable, Sendable, CaseIterable {
            case notConfigured = 0
            case connecting = 1
            case connected = 2
            case disconnected = 3
        }

        public var state: State
        public var address: String
        /// When the state last changed, milliseconds since the Unix epoch.
        public var sinceMilliseconds: Int64

        public init(state: State, address: String, sinceMilliseconds: Int64) {
            self.state = state
            self.address = address
            self.sinceMilliseconds = sinceMilliseconds
        }
    }

    public struct VM: Hashable, Sendable {
        public var uuid: WireUUID
        public var name: String
        public var state: VMState
        /// Latest sample with rates; nil until two samples exist.
        public var latest: VMMetrics?
        public var nics: [NIC]

        public init(uuid: WireUUID, name: String, state: VMState, latest: VMMetrics?, nics: [NIC]) {
            self.uuid = uuid
            self.name = name
            self.state = state
            self.latest = latest
            self.nics = nics
        }
    }

    /// One interface's cumulative counters and current rates.
    public struct NIC: Hashable, Sendable {
        public var name: String
        public var rxBytes: UInt64
        public var txBytes: UInt64
        public var rxBytesPerSecond: Double
        public var txBytesPerSecond: Double

        public init(name: String, rxBytes: UInt64, txBytes: UInt64, rxBytesPerSecond: Double, txBytesPerSecond: Double)
        {
            self.name = name
            self.rxBytes = rxBytes
            self.txBytes = txBytes
            self.rxBytesPerSecond = rxBytesPerSecond
            self.txBytesPerSecond = txBytesPerSecond
        }
    }

    public init(
        hostID: String,
        hostname: String,
        agentVersion: String,
        uptimeSeconds: UInt64,
        capacity: HostCapacity,
        manager: ManagerLink,
        host: MonitoringReport.HostSample?,
        vms: [VM]
    ) {
        self.hostID = hostID
        self.hostname = hostname
        self.agentVersion = agentVersion
        self.uptimeSeconds = uptimeSeconds
        self.capacity = capacity
        self.manager = manager
        self.host = host
        self.vms = vms
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        buffer.writeWireString(hostname)
        buffer.writeWireString(agentVersion)
        buffer.writeInteger(uptimeSeconds)
        buffer.writeHostCapacity(capacity)
        buffer.writeInteger(manager.state.rawValue)
        buffer.writeWireString(manager.address)
        buffer.writeInteger(manager.sinceMilliseconds)
        buffer.writeWireOptional(host) { buffer, host in
            buffer.writeMultipleIntegers(
                host.cpuCoresInUse.bitPattern,
                host.memoryInUseBytes,
                host.networkRxBytesPerSecond.bitPattern,
                host.networkTxBytesPerSecond.bitPattern
            )
        }
        buffer.writeWireArray(vms) { buffer, vm in
            buffer.writeWireUUID(vm.uuid)
            buffer.writeWireString(vm.name)
            buffer.writeInteger(vm.state.rawValue)
            buffer.writeWireOptional(vm.latest) { buffer, metrics in buffer.writeVMMetrics(metrics) }
            buffer.writeWireArray(vm.nics) { buffer, nic in
                buffer.writeWireString(nic.name)
                buffer.writeMultipleIntegers(
                    nic.rxBytes,
                    nic.txBytes,
                    nic.rxBytesPerSecond.bitPattern,
                    nic.txBytesPerSecond.bitPattern
                )
            }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> StatusReply {
        let hostID = try buffer.readWireString(messageType, "hostID")
        let hostname = try buffer.readWireString(messageType, "hostname")
        let version = try buffer.readWireString(messageType, "agentVersion")
        let uptime = try buffer.readWireInteger(as: UInt64.self, messageType, "uptimeSeconds")
        let capacity = try buffer.readHostCapacity(messageType)
        let linkState = try buffer.readWireEnum(as: ManagerLink.State.self, messageType, "manager.state")
        let linkAddress = try buffer.readWireString(messageType, "manager.address")
        let linkSince = try buffer.readWireInteger(as: Int64.self, messageType, "manager.since")
        let host = try buffer.readWireOptional(messageType, "host") {
            (buffer) throws(WireError) -> MonitoringReport.HostSample in
            guard
                let (cpu, memory, rx, tx) = buffer.readMultipleIntegers(as: (UInt32, UInt64, UInt32, UInt32).self)
            else { throw .truncated(message: messageType, field: "host") }
            return MonitoringReport.HostSample(
                cpuCoresInUse: Float(bitPattern: cpu),
                memoryInUseBytes: memory,
                networkRxBytesPerSecond: Float(bitPattern: rx),
                networkTxBytesPerSecond: Float(bitPattern: tx)
            )
        }
        // uuid 16 + name length 2 + state 1 + presence 1 + nic count 2
        let vms = try buffer.readWireArray(minimumElementSize: 22, messageType, "vms") {
            (buffer) throws(WireError) -> VM in
            let uuid = try buffer.readWireUUID(messageType, "vms.uuid")
            let name = try buffer.readWireString(messageType, "vms.name")
            let state = try buffer.readWireEnum(as: VMState.self, messageType, "vms.state")
            let latest = try buffer.readWireOptional(messageType, "vms.latest") { (buffer) throws(WireError) in
                try buffer.readVMMetrics(messageType, "vms.latest")
            }
            let nics = try buffer.readWireArray(minimumElementSize: 34, messageType, "vms.nics") {
                (buffer) throws(WireError) -> NIC in
                let name = try buffer.readWireString(messageType, "vms.nics.name")
                guard
                    let (rx, tx, rxRate, txRate) = buffer.readMultipleIntegers(
                        as: (UInt64, UInt64, UInt64, UInt64).self
                    )
                else { throw .truncated(message: messageType, field: "vms.nics") }
                return NIC(
                    name: name,
                    rxBytes: rx,
                    txBytes: tx,
                    rxBytesPerSecond: Double(bitPattern: rxRate),
                    txBytesPerSecond: Double(bitPattern: txRate)
                )
            }
            return VM(uuid: uuid, name: name, state: state, latest: latest, nics: nics)
        }
        return StatusReply(
            hostID: hostID,
            hostname: hostname,
            agentVersion: version,
            uptimeSeconds: uptime,
            capacity: capacity,
            manager: ManagerLink(state: linkState, address: linkAddress, sinceMilliseconds: linkSince),
            host: host,
            vms: vms
        )
    }
}

extension StatusReply {
    public var extensionFields: [WireExtensionField] {
        guard let hypervisorProblem else { return [] }
        var value = ByteBuffer()
        value.writeWireString(hypervisorProblem.prefix(utf8Bytes: HypervisorStatus.maximumProblemBytes))
        return [WireExtensionField(tag: ExtensionTag.hypervisorProblem, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.hypervisorProblem else { return }
        var value = field.value
        let problem = try value.readWireString(Self.messageType, "hypervisorProblem")
        guard value.readableBytes == 0, problem.utf8.count <= HypervisorStatus.maximumProblemBytes else {
            throw .invalidValue(
                message: Self.messageType,
                field: "hypervisorProblem.length",
                value: UInt64(field.value.readableBytes)
            )
        }
        hypervisorProblem = problem
    }
}

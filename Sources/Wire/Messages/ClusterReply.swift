import NIOCore

/// Virtual clusters and their VMs as the group leader knows them: the answer to info, list and vmInfo.
public struct ClusterReply: WirePayload {
    public static let messageType = WireMessageType.clusterReply

    public var clusters: [Cluster]

    public struct Cluster: Hashable, Sendable {
        public var name: String
        public var createdAtUnixMilliseconds: UInt64
        public var vms: [VM]

        public init(name: String, createdAtUnixMilliseconds: UInt64, vms: [VM]) {
            self.name = name
            self.createdAtUnixMilliseconds = createdAtUnixMilliseconds
            self.vms = vms
        }
    }

    public struct VM: Hashable, Sendable {
        public var name: String
        public var uuid: String
        /// What the manager last did or saw: pending, starting, running, suspended, stopped, failed, missing,
        /// unreachable. A word rather than an enum so that a newer manager's states reach an older CLI.
        public var state: String
        /// What the user asked for: running or stopped.
        public var desiredState: String
        /// Empty when the VM is on no host.
        public var hostID: String
        public var ipAddress: String
        public var macAddress: String
        public var virtualCPUs: UInt16
        public var memoryBytes: UInt64
        public var networkRxBytesPerSecond: UInt64
        public var networkTxBytesPerSecond: UInt64
        /// Why the VM is not where it should be (unplaced, failed, missing); empty otherwise.
        public var reason: String
        /// What the VM is estimated to use (extension tag estimates); nil when the manager has no estimate for it
        /// (not running) or does not send them.
        public var estimate: VMEstimate?

        public init(
            name: String,
            uuid: String,
            state: String,
            desiredState: String,
            hostID: String,
            ipAddress: String,
            macAddress: String,
            virtualCPUs: UInt16,
            memoryBytes: UInt64,
            networkRxBytesPerSecond: UInt64,
            networkTxBytesPerSecond: UInt64,
            reason: String,
            estimate: VMEstimate? = nil
        ) {
            self.name = name
            self.uuid = uuid
            self.state = state
            self.desiredState = desiredState
            self.hostID = hostID
            self.ipAddress = ipAddress
            self.macAddress = macAddress
            self.virtualCPUs = virtualCPUs
            self.memoryBytes = memoryBytes
            self.networkRxBytesPerSecond = networkRxBytesPerSecond
            self.networkTxBytesPerSecond = networkTxBytesPerSecond
            self.reason = reason
            self.estimate = estimate
        }
    }

    /// The estimator's view of a running VM. 34 bytes.
    public struct VMEstimate: Hashable, Sendable {
        /// The mean of its newest samples (`estimator.window`), or its request × packing density without samples
        /// or with `estimator.static`.
        public var estimated: ResourceAmounts
        /// The samples the mean is taken over; 0 when the estimate is the request.
        public var samples: UInt16

        public init(estimated: ResourceAmounts, samples: UInt16) {
            self.estimated = estimated
            self.samples = samples
        }
    }

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `estimates`: one VMEstimate? per VM, clusters in order and each cluster's VMs in order. Sent only when
        /// some VM has one; an old decoder skips it.
        public static let estimates: UInt16 = 0x0001
    }

    public init(clusters: [Cluster]) {
        self.clusters = clusters
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireArray(clusters) { buffer, cluster in
            buffer.writeWireString(cluster.name)
            buffer.writeInteger(cluster.createdAtUnixMilliseconds)
            buffer.writeWireArray(cluster.vms) { buffer, vm in
                for text in [vm.name, vm.uuid, vm.state, vm.desiredState, vm.hostID, vm.ipAddress, vm.macAddress] {
                    buffer.writeWireString(text)
                }
                buffer.writeMultipleIntegers(
                    vm.virtualCPUs,
                    vm.memoryBytes,
                    vm.networkRxBytesPerSecond,
                    vm.networkTxBytesPerSecond
                )
                buffer.writeWireString(vm.reason)
            }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ClusterReply {
        // name 2 + created 8 + VM count 2
        let clusters = try buffer.readWireArray(minimumElementSize: 12, messageType, "clusters") {
            (buffer) throws(WireError) -> Cluster in
            let name = try buffer.readWireString(messageType, "clusters.name")
            let created = try buffer.readWireInteger(as: UInt64.self, messageType, "clusters.createdAt")
            // 8 strings × 2 + vcpus 2 + memory 8 + rx 8 + tx 8
            let vms = try buffer.readWireArray(minimumElementSize: 42, messageType, "clusters.vms") {
                (buffer) throws(WireError) -> VM in
                let name = try buffer.readWireString(messageType, "vms.name")
                let uuid = try buffer.readWireString(messageType, "vms.uuid")
                let state = try buffer.readWireString(messageType, "vms.state")
                let desired = try buffer.readWireString(messageType, "vms.desiredState")
                let host = try buffer.readWireString(messageType, "vms.hostID")
                let ip = try buffer.readWireString(messageType, "vms.ipAddress")
                let mac = try buffer.readWireString(messageType, "vms.macAddress")
                guard
                    let (vcpus, memory, rx, tx) = buffer.readMultipleIntegers(
                        as: (UInt16, UInt64, UInt64, UInt64).self
                    )
                else { throw .truncated(message: messageType, field: "vms.resources") }
                let reason = try buffer.readWireString(messageType, "vms.reason")
                return VM(
                    name: name,
                    uuid: uuid,
                    state: state,
                    desiredState: desired,
                    hostID: host,
                    ipAddress: ip,
                    macAddress: mac,
                    virtualCPUs: vcpus,
                    memoryBytes: memory,
                    networkRxBytesPerSecond: rx,
                    networkTxBytesPerSecond: tx,
                    reason: reason
                )
            }
            return Cluster(name: name, createdAtUnixMilliseconds: created, vms: vms)
        }
        return ClusterReply(clusters: clusters)
    }

    public var extensionFields: [WireExtensionField] {
        let vms = clusters.flatMap(\.vms)
        // One list for every cluster's VMs: past a list's 65535 elements the estimates are left out.
        guard vms.count <= Int(UInt16.max), vms.contains(where: { $0.estimate != nil }) else { return [] }
        var value = ByteBuffer()
        value.writeWireArray(vms) { buffer, vm in
            buffer.writeWireOptional(vm.estimate) { buffer, estimate in
                buffer.writeResourceAmounts(estimate.estimated)
                buffer.writeInteger(estimate.samples)
            }
        }
        return [WireExtensionField(tag: ExtensionTag.estimates, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.estimates else { return }
        var value = field.value
        let estimates = try value.readWireArray(minimumElementSize: 1, Self.messageType, "estimates") {
            (buffer) throws(WireError) -> VMEstimate? in
            try buffer.readWireOptional(Self.messageType, "estimates.present") {
                (buffer) throws(WireError) -> VMEstimate in
                VMEstimate(
                    estimated: try buffer.readResourceAmounts(Self.messageType, "estimates.estimated"),
                    samples: try buffer.readWireInteger(as: UInt16.self, Self.messageType, "estimates.samples")
                )
            }
        }
        // Matched to the VMs by position, so a list of another length cannot be applied.
        let count = clusters.reduce(0) { $0 + $1.vms.count }
        guard estimates.count == count else {
            throw .invalidValue(message: Self.messageType, field: "estimates.count", value: UInt64(estimates.count))
        }
        guard value.readableBytes == 0 else {
            throw .invalidValue(
                message: Self.messageType,
                field: "estimates.length",
                value: UInt64(field.value.readableBytes)
            )
        }
        var next = 0
        for cluster in clusters.indices {
            for vm in clusters[cluster].vms.indices {
                clusters[cluster].vms[vm].estimate = estimates[next]
                next += 1
            }
        }
    }
}

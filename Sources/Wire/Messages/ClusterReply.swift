import NIOCore

/// Virtual clusters and their VMs as the group leader knows them: the answer to info, list and vmInfo.
public struct ClusterReply: WirePayload {
    public static let messageType = WireMessageType.clusterReply

    public var clusters: [Cluster]

    public struct Cluster: Hashable, Sendable {
        public var name: String
        public var createdAtUnixMilliseconds: UInt64
        public var vms: [VM]
        /// The cluster's reservation (extension tag reservations); nil when it has none, or from a manager that does
        /// not send them.
        public var reservation: Reservation?

        public init(name: String, createdAtUnixMilliseconds: UInt64, vms: [VM], reservation: Reservation? = nil) {
            self.name = name
            self.createdAtUnixMilliseconds = createdAtUnixMilliseconds
            self.vms = vms
            self.reservation = reservation
        }
    }

    /// Capacity held for a cluster until an end time (docs/reservations.md). 17 bytes.
    public struct Reservation: Hashable, Sendable {
        public var untilUnixMilliseconds: UInt64
        /// Whether the end has passed; its VMs are being stopped (or were) when it has.
        public var expired: Bool
        /// When its VMs were all stopped after the end; 0 while they have not been.
        public var stoppedAtUnixMilliseconds: UInt64

        public init(untilUnixMilliseconds: UInt64, expired: Bool, stoppedAtUnixMilliseconds: UInt64 = 0) {
            self.untilUnixMilliseconds = untilUnixMilliseconds
            self.expired = expired
            self.stoppedAtUnixMilliseconds = stoppedAtUnixMilliseconds
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
        /// The flavor and image it was made from, and its own files (extension tag origins); nil for a VM made from
        /// a template, or from a manager that does not send them.
        public var origin: VMOrigin?

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
            estimate: VMEstimate? = nil,
            origin: VMOrigin? = nil
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
            self.origin = origin
        }
    }

    /// Where a VM made from an image comes from (docs/images.md). 8 bytes and the strings.
    public struct VMOrigin: Hashable, Sendable {
        public var flavor: String
        public var image: String
        /// Its copy-on-write overlay of the image.
        public var overlayPath: String
        /// Its NoCloud seed ISO; empty when it has none.
        public var seedPath: String

        public init(flavor: String, image: String, overlayPath: String, seedPath: String) {
            self.flavor = flavor
            self.image = image
            self.overlayPath = overlayPath
            self.seedPath = seedPath
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
        /// `origins`: one VMOrigin? per VM, in the same order. Sent only when some VM was made from an image.
        public static let origins: UInt16 = 0x0002
        /// `reservations`: one Reservation? per cluster, in order. Sent only when some cluster has one.
        public static let reservations: UInt16 = 0x0003
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
        // One list for every cluster's VMs: past a list's 65535 elements these are left out.
        let vmListFits = vms.count <= Int(UInt16.max)
        var fields: [WireExtensionField] = []
        if vmListFits, vms.contains(where: { $0.estimate != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(vms) { buffer, vm in
                buffer.writeWireOptional(vm.estimate) { buffer, estimate in
                    buffer.writeResourceAmounts(estimate.estimated)
                    buffer.writeInteger(estimate.samples)
                }
            }
            fields.append(WireExtensionField(tag: ExtensionTag.estimates, value: value))
        }
        if vmListFits, vms.contains(where: { $0.origin != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(vms) { buffer, vm in
                buffer.writeWireOptional(vm.origin) { buffer, origin in
                    for text in [origin.flavor, origin.image, origin.overlayPath, origin.seedPath] {
                        buffer.writeWireString(text)
                    }
                }
            }
            fields.append(WireExtensionField(tag: ExtensionTag.origins, value: value))
        }
        if clusters.contains(where: { $0.reservation != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(clusters) { buffer, cluster in
                buffer.writeWireOptional(cluster.reservation) { buffer, reservation in
                    buffer.writeInteger(reservation.untilUnixMilliseconds)
                    buffer.writeWireBool(reservation.expired)
                    buffer.writeInteger(reservation.stoppedAtUnixMilliseconds)
                }
            }
            fields.append(WireExtensionField(tag: ExtensionTag.reservations, value: value))
        }
        return fields
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        let vmCount = clusters.reduce(0) { $0 + $1.vms.count }
        switch field.tag {
        case ExtensionTag.estimates:
            let estimates = try field.positionalEntries(
                count: vmCount,
                minimumEntrySize: 1,
                Self.messageType,
                "estimates"
            ) {
                (buffer) throws(WireError) -> VMEstimate? in
                try buffer.readWireOptional(Self.messageType, "estimates.present") {
                    (buffer) throws(WireError) -> VMEstimate in
                    VMEstimate(
                        estimated: try buffer.readResourceAmounts(Self.messageType, "estimates.estimated"),
                        samples: try buffer.readWireInteger(as: UInt16.self, Self.messageType, "estimates.samples")
                    )
                }
            }
            assign(estimates) { $0.estimate = $1 }
        case ExtensionTag.origins:
            let origins = try field.positionalEntries(count: vmCount, minimumEntrySize: 1, Self.messageType, "origins")
            {
                (buffer) throws(WireError) -> VMOrigin? in
                try buffer.readWireOptional(Self.messageType, "origins.present") {
                    (buffer) throws(WireError) -> VMOrigin in
                    VMOrigin(
                        flavor: try buffer.readWireString(Self.messageType, "origins.flavor"),
                        image: try buffer.readWireString(Self.messageType, "origins.image"),
                        overlayPath: try buffer.readWireString(Self.messageType, "origins.overlayPath"),
                        seedPath: try buffer.readWireString(Self.messageType, "origins.seedPath")
                    )
                }
            }
            assign(origins) { $0.origin = $1 }
        case ExtensionTag.reservations:
            let reservations = try field.positionalEntries(
                count: clusters.count,
                minimumEntrySize: 1,
                Self.messageType,
                "reservations"
            ) {
                (buffer) throws(WireError) -> Reservation? in
                try buffer.readWireOptional(Self.messageType, "reservations.present") {
                    (buffer) throws(WireError) -> Reservation in
                    Reservation(
                        untilUnixMilliseconds: try buffer.readWireInteger(
                            as: UInt64.self,
                            Self.messageType,
                            "reservations.until"
                        ),
                        expired: try buffer.readWireBool(Self.messageType, "reservations.expired"),
                        stoppedAtUnixMilliseconds: try buffer.readWireInteger(
                            as: UInt64.self,
                            Self.messageType,
                            "reservations.stoppedAt"
                        )
                    )
                }
            }
            for index in clusters.indices { clusters[index].reservation = reservations[index] }
        default:
            return
        }
    }

    private mutating func assign<Element>(_ elements: [Element], _ set: (inout VM, Element) -> Void) {
        var next = 0
        for cluster in clusters.indices {
            for vm in clusters[cluster].vms.indices {
                set(&clusters[cluster].vms[vm], elements[next])
                next += 1
            }
        }
    }
}

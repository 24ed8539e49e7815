import NIOCore

/// A user's request to the group leader (the `torpor` CLI): virtual clusters, their VMs and tasks. Answered by
/// a ClusterReply (queries), a TaskStatus (changes, which run as tasks), or a CommandResult naming the error.
public enum ClusterRequest: WirePayload {
    public static let messageType = WireMessageType.clusterRequest

    case define(cluster: String)
    /// Removes every VM of the cluster from its host, then the cluster.
    case undefine(cluster: String)
    /// Validates every submission before anything is stored: one bad template rejects them all.
    case add(cluster: String, vms: [VMSubmission])
    case remove(cluster: String, vm: String)
    /// The whole cluster when `vm` is empty.
    case act(VMAction, cluster: String, vm: String)
    case info(cluster: String)
    case list
    case vmInfo(vm: String)
    /// Answers at once when `waitMilliseconds` is 0, otherwise when the task ends or the wait is over.
    case task(id: String, waitMilliseconds: UInt32)
    /// Moves a running VM to another host as a task; the task's status carries the migration's progress.
    case migrate(vm: String, to: String, method: VMCommand.Migration.Method)
    /// Cancels the running migration of a VM (MigrationCancel to its source); the VM stays on the source.
    case migrateCancel(vm: String)

    public enum VMAction: UInt8, Hashable, Sendable, CaseIterable {
        case start = 1
        case suspend = 2
        case resume = 3
        /// Graceful: the VM stays defined on its host and keeps its address.
        case shutdown = 4
        /// Forced off and removed from its host; its address is released. It stays in the cluster.
        case destroy = 5
    }

    /// One VM to add: a libvirt domain template and the network bandwidth it needs.
    public struct VMSubmission: Hashable, Sendable {
        public var templateXML: String
        /// Replaces the template's name (and drops its UUID) so one template can make many VMs; empty keeps it.
        public var nameOverride: String
        public var networkRxBytesPerSecond: UInt64
        public var networkTxBytesPerSecond: UInt64
        /// Restarted elsewhere without being asked when its host fails, once that host is fenced. Travels in the
        /// `highlyAvailable` extension field.
        public var highlyAvailable: Bool

        public init(
            templateXML: String,
            nameOverride: String = "",
            networkRxBytesPerSecond: UInt64 = 0,
            networkTxBytesPerSecond: UInt64 = 0,
            highlyAvailable: Bool = false
        ) {
            self.templateXML = templateXML
            self.nameOverride = nameOverride
            self.networkRxBytesPerSecond = networkRxBytesPerSecond
            self.networkTxBytesPerSecond = networkTxBytesPerSecond
            self.highlyAvailable = highlyAvailable
        }
    }

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `highlyAvailable` of an add's VMs: one bool byte per VM, in order. Sent only when one of them is true,
        /// so an older manager skips it and adds the VMs as before.
        public static let highlyAvailable: UInt16 = 0x0001
    }

    enum Kind: UInt8 {
        case define = 1
        case undefine = 2
        case add = 3
        case remove = 4
        case act = 5
        case info = 6
        case list = 7
        case vmInfo = 8
        case task = 9
        case migrate = 10
        case migrateCancel = 11
    }

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .define(let cluster):
            buffer.writeInteger(Kind.define.rawValue)
            buffer.writeWireString(cluster)
        case .undefine(let cluster):
            buffer.writeInteger(Kind.undefine.rawValue)
            buffer.writeWireString(cluster)
        case .add(let cluster, let vms):
            buffer.writeInteger(Kind.add.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeWireArray(vms) { buffer, vm in
                buffer.writeWireLongString(vm.templateXML)
                buffer.writeWireString(vm.nameOverride)
                buffer.writeMultipleIntegers(vm.networkRxBytesPerSecond, vm.networkTxBytesPerSecond)
            }
        case .remove(let cluster, let vm):
            buffer.writeInteger(Kind.remove.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeWireString(vm)
        case .act(let action, let cluster, let vm):
            buffer.writeMultipleIntegers(Kind.act.rawValue, action.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeWireString(vm)
        case .info(let cluster):
            buffer.writeInteger(Kind.info.rawValue)
            buffer.writeWireString(cluster)
        case .list:
            buffer.writeInteger(Kind.list.rawValue)
        case .vmInfo(let vm):
            buffer.writeInteger(Kind.vmInfo.rawValue)
            buffer.writeWireString(vm)
        case .task(let id, let wait):
            buffer.writeInteger(Kind.task.rawValue)
            buffer.writeWireString(id)
            buffer.writeInteger(wait)
        case .migrate(let vm, let host, let method):
            buffer.writeInteger(Kind.migrate.rawValue)
            buffer.writeWireString(vm)
            buffer.writeWireString(host)
            buffer.writeInteger(method.rawValue)
        case .migrateCancel(let vm):
            buffer.writeInteger(Kind.migrateCancel.rawValue)
            buffer.writeWireString(vm)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ClusterRequest {
        switch try buffer.readWireEnum(as: Kind.self, messageType, "kind") {
        case .define:
            return .define(cluster: try buffer.readWireString(messageType, "cluster"))
        case .undefine:
            return .undefine(cluster: try buffer.readWireString(messageType, "cluster"))
        case .add:
            let cluster = try buffer.readWireString(messageType, "cluster")
            // template length 4 + name length 2 + rx 8 + tx 8
            let vms = try buffer.readWireArray(minimumElementSize: 22, messageType, "vms") {
                (buffer) throws(WireError) -> VMSubmission in
                let xml = try buffer.readWireLongString(messageType, "vms.templateXML")
                let name = try buffer.readWireString(messageType, "vms.nameOverride")
                let rx = try buffer.readWireInteger(as: UInt64.self, messageType, "vms.networkRx")
                let tx = try buffer.readWireInteger(as: UInt64.self, messageType, "vms.networkTx")
                return VMSubmission(
                    templateXML: xml,
                    nameOverride: name,
                    networkRxBytesPerSecond: rx,
                    networkTxBytesPerSecond: tx
                )
            }
            return .add(cluster: cluster, vms: vms)
        case .remove:
            let cluster = try buffer.readWireString(messageType, "cluster")
            return .remove(cluster: cluster, vm: try buffer.readWireString(messageType, "vm"))
        case .act:
            let action = try buffer.readWireEnum(as: VMAction.self, messageType, "action")
            let cluster = try buffer.readWireString(messageType, "cluster")
            return .act(action, cluster: cluster, vm: try buffer.readWireString(messageType, "vm"))
        case .info:
            return .info(cluster: try buffer.readWireString(messageType, "cluster"))
        case .list:
            return .list
        case .vmInfo:
            return .vmInfo(vm: try buffer.readWireString(messageType, "vm"))
        case .task:
            let id = try buffer.readWireString(messageType, "id")
            return .task(id: id, waitMilliseconds: try buffer.readWireInteger(as: UInt32.self, messageType, "wait"))
        case .migrate:
            let vm = try buffer.readWireString(messageType, "vm")
            let host = try buffer.readWireString(messageType, "host")
            let method = try buffer.readWireEnum(as: VMCommand.Migration.Method.self, messageType, "method")
            return .migrate(vm: vm, to: host, method: method)
        case .migrateCancel:
            return .migrateCancel(vm: try buffer.readWireString(messageType, "vm"))
        }
    }

    public var extensionFields: [WireExtensionField] {
        guard case .add(_, let vms) = self, vms.contains(where: \.highlyAvailable) else { return [] }
        var value = ByteBuffer()
        for vm in vms { value.writeWireBool(vm.highlyAvailable) }
        return [WireExtensionField(tag: ExtensionTag.highlyAvailable, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.highlyAvailable, case .add(let cluster, var vms) = self else { return }
        guard field.value.readableBytes == vms.count else {
            throw .invalidValue(
                message: Self.messageType,
                field: "highlyAvailable.length",
                value: UInt64(field.value.readableBytes)
            )
        }
        var value = field.value
        for index in vms.indices {
            vms[index].highlyAvailable = try value.readWireBool(Self.messageType, "highlyAvailable")
        }
        self = .add(cluster: cluster, vms: vms)
    }
}

extension ClusterRequest.VMAction: CustomStringConvertible {
    public var description: String {
        switch self {
        case .start: "start"
        case .suspend: "suspend"
        case .resume: "resume"
        case .shutdown: "shutdown"
        case .destroy: "destroy"
        }
    }
}

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
    /// Moves a running VM to another host as a task; the task's status carries the migration's progress. An empty
    /// `to` lets the manager choose the host as its placement policy would (`torpor host drain`).
    case migrate(vm: String, to: String, method: VMCommand.Migration.Method)
    /// Cancels the running migration of a VM (MigrationCancel to its source); the VM stays on the source.
    case migrateCancel(vm: String)
    /// Plans a consolidation and, unless `dryRun`, starts its migrations. Answered by a ConsolidationReply.
    case consolidate(dryRun: Bool)
    /// The flavors and images the manager knows. Answered by a CatalogReply.
    case flavorList
    /// Answered by a CatalogReply holding the new flavor.
    case flavorCreate(FlavorSpec)
    /// Refused while a VM made from it exists. Answered by a CommandResult.
    case flavorDelete(name: String)
    /// The same answer as flavorList: one CatalogReply holds both.
    case imageList
    /// Records a disk image on storage the hosts share; `path` as the manager sees it. Answered by a CatalogReply
    /// holding the new image.
    case imageAdd(name: String, path: String)
    /// Refused while a VM's overlay is backed by it. Answered by a CommandResult.
    case imageRemove(name: String)
    /// VMs of a flavor booting from their own overlays of an image, each with a contextualization ISO. Answered
    /// like `add`.
    case addFromImage(cluster: String, ImageVMs)
    /// A pragma_boot virtual cluster (`torpor vc boot`, docs/pragma.md): defined from a `vc-in.xml` and booted as a
    /// task, the frontend first, the computes once its boot dependency is met. Answered by that task's status.
    case bootPragma(PragmaBoot)
    /// Holds capacity for the cluster until an instant (Unix milliseconds); at it the cluster's VMs are stopped and
    /// their hosts' capacity returned (docs/reservations.md). Refused while it holds an unexpired reservation.
    /// Answered by a ClusterReply holding the cluster.
    case reserve(cluster: String, untilUnixMilliseconds: UInt64)
    /// Moves the end of the cluster's unexpired reservation. Answered like `reserve`.
    case renewReservation(cluster: String, untilUnixMilliseconds: UInt64)
    /// Ends the cluster's reservation now: its VMs are stopped as at expiry. Answered like `reserve`.
    case releaseReservation(cluster: String)
    /// Takes a host out of service for maintenance: no VM is placed or migrated onto it and the energy saver leaves
    /// it alone, until `uncordon`; its VMs keep running. `reason` is shown by `torpor hosts`. Answered by a
    /// CommandResult.
    case cordon(host: String, reason: String)
    /// Puts a cordoned host back in service. Answered by a CommandResult.
    case uncordon(host: String)
    /// Forgets a retired host: its records go, the energy saver never wakes it again. Refused while its agent is
    /// connected, a migration touches it, or a VM is placed on it, unless `confirmedOff`: the operator confirms the
    /// machine is off for good, and its VMs are recorded stopped, without a host. Answered by a CommandResult.
    case removeHost(host: String, confirmedOff: Bool)

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

    /// A named instance type.
    public struct FlavorSpec: Hashable, Sendable {
        public var name: String
        public var virtualCPUs: UInt16
        public var memoryBytes: UInt64
        /// The size of each VM's disk; 0: the image's own size.
        public var diskBytes: UInt64

        public init(name: String, virtualCPUs: UInt16, memoryBytes: UInt64, diskBytes: UInt64) {
            self.name = name
            self.virtualCPUs = virtualCPUs
            self.memoryBytes = memoryBytes
            self.diskBytes = diskBytes
        }
    }

    /// VMs to make from a flavor and an image (`torpor vc add NAME --flavor F --image I`).
    public struct ImageVMs: Hashable, Sendable {
        public var flavor: String
        public var image: String
        /// One VM per name.
        public var names: [String]
        /// OpenSSH public keys authorized in every guest (cloud-init `ssh_authorized_keys`).
        public var sshKeys: [String]
        public var networkRxBytesPerSecond: UInt64
        public var networkTxBytesPerSecond: UInt64
        public var highlyAvailable: Bool

        public init(
            flavor: String,
            image: String,
            names: [String],
            sshKeys: [String] = [],
            networkRxBytesPerSecond: UInt64 = 0,
            networkTxBytesPerSecond: UInt64 = 0,
            highlyAvailable: Bool = false
        ) {
            self.flavor = flavor
            self.image = image
            self.names = names
            self.sshKeys = sshKeys
            self.networkRxBytesPerSecond = networkRxBytesPerSecond
            self.networkTxBytesPerSecond = networkTxBytesPerSecond
            self.highlyAvailable = highlyAvailable
        }
    }

    /// What `torpor vc boot` sends.
    public struct PragmaBoot: Hashable, Sendable {
        /// Empty: the frontend domain's name.
        public var cluster: String
        /// The `vc-in.xml` as read.
        public var vcIn: String
        /// CPUs of compute nodes wanted (0: a frontend alone).
        public var cpus: UInt32
        /// OpenSSH public keys authorized on the frontend (and the computes).
        public var sshKeys: [String]

        public init(cluster: String, vcIn: String, cpus: UInt32, sshKeys: [String]) {
            self.cluster = cluster
            self.vcIn = vcIn
            self.cpus = cpus
            self.sshKeys = sshKeys
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
        case consolidate = 12
        case flavorList = 13
        case flavorCreate = 14
        case flavorDelete = 15
        case imageList = 16
        case imageAdd = 17
        case imageRemove = 18
        case addFromImage = 19
        case bootPragma = 20
        case reserve = 21
        case renewReservation = 22
        case releaseReservation = 23
        case cordon = 24
        case uncordon = 25
        case removeHost = 26
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
        case .consolidate(let dryRun):
            buffer.writeInteger(Kind.consolidate.rawValue)
            buffer.writeWireBool(dryRun)
        case .flavorList:
            buffer.writeInteger(Kind.flavorList.rawValue)
        case .flavorCreate(let flavor):
            buffer.writeInteger(Kind.flavorCreate.rawValue)
            buffer.writeWireString(flavor.name)
            buffer.writeMultipleIntegers(flavor.virtualCPUs, flavor.memoryBytes, flavor.diskBytes)
        case .flavorDelete(let name):
            buffer.writeInteger(Kind.flavorDelete.rawValue)
            buffer.writeWireString(name)
        case .imageList:
            buffer.writeInteger(Kind.imageList.rawValue)
        case .imageAdd(let name, let path):
            buffer.writeInteger(Kind.imageAdd.rawValue)
            buffer.writeWireString(name)
            buffer.writeWireString(path)
        case .imageRemove(let name):
            buffer.writeInteger(Kind.imageRemove.rawValue)
            buffer.writeWireString(name)
        case .addFromImage(let cluster, let vms):
            buffer.writeInteger(Kind.addFromImage.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeWireString(vms.flavor)
            buffer.writeWireString(vms.image)
            buffer.writeWireArray(vms.names) { buffer, name in buffer.writeWireString(name) }
            buffer.writeWireArray(vms.sshKeys) { buffer, key in buffer.writeWireString(key) }
            buffer.writeMultipleIntegers(vms.networkRxBytesPerSecond, vms.networkTxBytesPerSecond)
            buffer.writeWireBool(vms.highlyAvailable)
        case .bootPragma(let boot):
            buffer.writeInteger(Kind.bootPragma.rawValue)
            buffer.writeWireString(boot.cluster)
            buffer.writeWireString(boot.vcIn)
            buffer.writeInteger(boot.cpus)
            buffer.writeWireArray(boot.sshKeys) { buffer, key in buffer.writeWireString(key) }
        case .reserve(let cluster, let until):
            buffer.writeInteger(Kind.reserve.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeInteger(until)
        case .renewReservation(let cluster, let until):
            buffer.writeInteger(Kind.renewReservation.rawValue)
            buffer.writeWireString(cluster)
            buffer.writeInteger(until)
        case .releaseReservation(let cluster):
            buffer.writeInteger(Kind.releaseReservation.rawValue)
            buffer.writeWireString(cluster)
        case .cordon(let host, let reason):
            buffer.writeInteger(Kind.cordon.rawValue)
            buffer.writeWireString(host)
            buffer.writeWireString(reason)
        case .uncordon(let host):
            buffer.writeInteger(Kind.uncordon.rawValue)
            buffer.writeWireString(host)
        case .removeHost(let host, let confirmedOff):
            buffer.writeInteger(Kind.removeHost.rawValue)
            buffer.writeWireString(host)
            buffer.writeWireBool(confirmedOff)
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
        case .consolidate:
            return .consolidate(dryRun: try buffer.readWireBool(messageType, "dryRun"))
        case .flavorList:
            return .flavorList
        case .flavorCreate:
            let name = try buffer.readWireString(messageType, "flavor.name")
            guard let (vcpus, memory, disk) = buffer.readMultipleIntegers(as: (UInt16, UInt64, UInt64).self) else {
                throw .truncated(message: messageType, field: "flavor.resources")
            }
            return .flavorCreate(FlavorSpec(name: name, virtualCPUs: vcpus, memoryBytes: memory, diskBytes: disk))
        case .flavorDelete:
            return .flavorDelete(name: try buffer.readWireString(messageType, "name"))
        case .imageList:
            return .imageList
        case .imageAdd:
            let name = try buffer.readWireString(messageType, "name")
            return .imageAdd(name: name, path: try buffer.readWireString(messageType, "path"))
        case .imageRemove:
            return .imageRemove(name: try buffer.readWireString(messageType, "name"))
        case .addFromImage:
            let cluster = try buffer.readWireString(messageType, "cluster")
            let flavor = try buffer.readWireString(messageType, "flavor")
            let image = try buffer.readWireString(messageType, "image")
            let names = try buffer.readWireArray(minimumElementSize: 2, messageType, "names") {
                (buffer) throws(WireError) -> String in try buffer.readWireString(messageType, "names")
            }
            let keys = try buffer.readWireArray(minimumElementSize: 2, messageType, "sshKeys") {
                (buffer) throws(WireError) -> String in try buffer.readWireString(messageType, "sshKeys")
            }
            let rx = try buffer.readWireInteger(as: UInt64.self, messageType, "networkRx")
            let tx = try buffer.readWireInteger(as: UInt64.self, messageType, "networkTx")
            let highlyAvailable = try buffer.readWireBool(messageType, "highlyAvailable")
            return .addFromImage(
                cluster: cluster,
                ImageVMs(
                    flavor: flavor,
                    image: image,
                    names: names,
                    sshKeys: keys,
                    networkRxBytesPerSecond: rx,
                    networkTxBytesPerSecond: tx,
                    highlyAvailable: highlyAvailable
                )
            )
        case .bootPragma:
            let cluster = try buffer.readWireString(messageType, "cluster")
            let vcIn = try buffer.readWireString(messageType, "vcIn")
            let cpus = try buffer.readWireInteger(as: UInt32.self, messageType, "cpus")
            let keys = try buffer.readWireArray(minimumElementSize: 2, messageType, "sshKeys") {
                (buffer) throws(WireError) -> String in try buffer.readWireString(messageType, "sshKeys")
            }
            return .bootPragma(PragmaBoot(cluster: cluster, vcIn: vcIn, cpus: cpus, sshKeys: keys))
        case .reserve:
            let cluster = try buffer.readWireString(messageType, "cluster")
            let until = try buffer.readWireInteger(as: UInt64.self, messageType, "until")
            return .reserve(cluster: cluster, untilUnixMilliseconds: until)
        case .renewReservation:
            let cluster = try buffer.readWireString(messageType, "cluster")
            let until = try buffer.readWireInteger(as: UInt64.self, messageType, "until")
            return .renewReservation(cluster: cluster, untilUnixMilliseconds: until)
        case .releaseReservation:
            return .releaseReservation(cluster: try buffer.readWireString(messageType, "cluster"))
        case .cordon:
            let host = try buffer.readWireString(messageType, "host")
            return .cordon(host: host, reason: try buffer.readWireString(messageType, "reason"))
        case .uncordon:
            return .uncordon(host: try buffer.readWireString(messageType, "host"))
        case .removeHost:
            let host = try buffer.readWireString(messageType, "host")
            return .removeHost(host: host, confirmedOff: try buffer.readWireBool(messageType, "confirmedOff"))
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

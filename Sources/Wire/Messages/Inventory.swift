import NIOCore

/// Every VM on a host, with the slot numbers later MonitoringReports use. Sent after Welcome and whenever
/// the set of VMs changes; a slot is not reused for another VM on the same connection.
public struct Inventory: WirePayload {
    public static let messageType = WireMessageType.inventory

    public var hostID: String
    public var vms: [Entry]

    public struct Entry: Hashable, Sendable {
        public var slot: UInt16
        public var uuid: WireUUID
        public var name: String
        public var state: VMState
        public var virtualCPUs: UInt16
        /// Configured memory in KiB.
        public var memoryKiB: UInt64

        public init(slot: UInt16, uuid: WireUUID, name: String, state: VMState, virtualCPUs: UInt16, memoryKiB: UInt64)
        {
            self.slot = slot
            self.uuid = uuid
            self.name = name
            self.state = state
            self.virtualCPUs = virtualCPUs
            self.memoryKiB = memoryKiB
        }
    }

    public init(hostID: String, vms: [Entry]) {
        self.hostID = hostID
        self.vms = vms
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        buffer.writeWireArray(vms) { buffer, vm in
            buffer.writeInteger(vm.slot)
            buffer.writeWireUUID(vm.uuid)
            buffer.writeWireString(vm.name)
            buffer.writeMultipleIntegers(vm.state.rawValue, vm.virtualCPUs, vm.memoryKiB)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Inventory {
        let hostID = try buffer.readWireString(messageType, "hostID")
        // slot 2 + uuid 16 + name length 2 + state 1 + vcpus 2 + memory 8
        let vms = try buffer.readWireArray(minimumElementSize: 31, messageType, "vms") {
            (buffer) throws(WireError) -> Entry in
            let slot = try buffer.readWireInteger(as: UInt16.self, messageType, "vms.slot")
            let uuid = try buffer.readWireUUID(messageType, "vms.uuid")
            let name = try buffer.readWireString(messageType, "vms.name")
            let state = try buffer.readWireEnum(as: VMState.self, messageType, "vms.state")
            let vcpus = try buffer.readWireInteger(as: UInt16.self, messageType, "vms.virtualCPUs")
            let memory = try buffer.readWireInteger(as: UInt64.self, messageType, "vms.memoryKiB")
            return Entry(slot: slot, uuid: uuid, name: name, state: state, virtualCPUs: vcpus, memoryKiB: memory)
        }
        return Inventory(hostID: hostID, vms: vms)
    }
}

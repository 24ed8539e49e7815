/// Limits on values that decode correctly but that no real peer sends, checked where a message enters a daemon
/// (`validated()`), before its values take part in arithmetic, allocation or a loop. The decoders accept every
/// value a field can hold; these say which ones make sense. Each limit is far above any real cluster.
public enum WireLimits {
    /// 1 PiB: more than any host has, and small enough that bytes summed over 10⁴ hosts or VMs cannot overflow.
    public static let maximumMemoryBytes: UInt64 = 1 << 50
    /// `maximumMemoryKiB` × 1024 = `maximumMemoryBytes`.
    public static let maximumMemoryKiB: UInt64 = maximumMemoryBytes / 1024
    /// ≈ 9 Pbit/s, for NIC capacities and VM bandwidths.
    public static let maximumBytesPerSecond: UInt64 = 1 << 50
    /// The longest a `ClusterRequest.task` may wait for its task to end before answering: 10 minutes.
    public static let maximumTaskWaitMilliseconds: UInt32 = 600_000
    /// Host ids, VM and cluster names: 255 UTF-8 bytes.
    public static let maximumIdentifierBytes = 255
    /// Why a host is cordoned (`ClusterRequest.cordon`): a sentence, 255 UTF-8 bytes.
    public static let maximumCordonReasonBytes = 255
}

/// A message that decoded but carries a value a daemon refuses (see `WireLimits`): names the message, the field and
/// the value.
public struct WireValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: WireMessageType
    public var field: String
    public var value: String
    public var problem: String

    public init(_ message: WireMessageType, _ field: String, _ value: String, _ problem: String) {
        self.message = message
        self.field = field
        self.value = value
        self.problem = problem
    }

    public var description: String { "\(message).\(field) = \(value): \(problem)" }
}

extension Hello {
    /// The Hello, unless its agent description (required when `role` is agent) carries an unusable value.
    public func validated() throws(WireValidationError) -> Hello {
        if role == .agent {
            guard let agent else {
                throw WireValidationError(.hello, "agent", "absent", "an agent's Hello must describe its host")
            }
            try agent.validate()
        }
        return self
    }
}

extension AgentDescription {
    func validate() throws(WireValidationError) {
        try validateIdentifier(hostID, .hello, "agent.hostID")
        try validateAtMost(capacity.memoryBytes, WireLimits.maximumMemoryBytes, .hello, "agent.capacity.memoryBytes")
        try validateAtMost(
            capacity.nicRxBytesPerSecond,
            WireLimits.maximumBytesPerSecond,
            .hello,
            "agent.capacity.nicRxBytesPerSecond"
        )
        try validateAtMost(
            capacity.nicTxBytesPerSecond,
            WireLimits.maximumBytesPerSecond,
            .hello,
            "agent.capacity.nicTxBytesPerSecond"
        )
    }
}

extension Inventory {
    /// The inventory, unless a VM's memory is past `WireLimits.maximumMemoryKiB` or two entries share a slot or a
    /// UUID (slots name VMs in reports; UUIDs name them in the manager's store).
    public func validated() throws(WireValidationError) -> Inventory {
        var slots = Set<UInt16>()
        var uuids = Set<WireUUID>()
        for (index, vm) in vms.enumerated() {
            try validateAtMost(vm.memoryKiB, WireLimits.maximumMemoryKiB, .inventory, "vms[\(index)].memoryKiB")
            guard slots.insert(vm.slot).inserted else {
                throw WireValidationError(.inventory, "vms[\(index)].slot", "\(vm.slot)", "given to two VMs")
            }
            guard uuids.insert(vm.uuid).inserted else {
                throw WireValidationError(.inventory, "vms[\(index)].uuid", "\(vm.uuid)", "given to two VMs")
            }
        }
        return self
    }
}

extension MonitoringReport {
    /// The report, unless a rate or usage is negative, not finite, or memory is past `WireLimits.maximumMemoryBytes`.
    public func validated() throws(WireValidationError) -> MonitoringReport {
        let type = MonitoringReport.messageType
        try validateRate(host.cpuCoresInUse, type, "host.cpuCoresInUse")
        try validateAtMost(host.memoryInUseBytes, WireLimits.maximumMemoryBytes, type, "host.memoryInUseBytes")
        try validateRate(host.networkRxBytesPerSecond, type, "host.networkRxBytesPerSecond")
        try validateRate(host.networkTxBytesPerSecond, type, "host.networkTxBytesPerSecond")
        for (index, vm) in vms.enumerated() {
            try validateRate(vm.cpuCoresInUse, type, "vms[\(index)].cpuCoresInUse")
            try validateRate(vm.networkRxBytesPerSecond, type, "vms[\(index)].networkRxBytesPerSecond")
            try validateRate(vm.networkTxBytesPerSecond, type, "vms[\(index)].networkTxBytesPerSecond")
            try validateRate(vm.diskReadBytesPerSecond, type, "vms[\(index)].diskReadBytesPerSecond")
            try validateRate(vm.diskWriteBytesPerSecond, type, "vms[\(index)].diskWriteBytesPerSecond")
        }
        return self
    }
}

extension ClusterRequest {
    /// The request, unless a task wait is past `WireLimits.maximumTaskWaitMilliseconds` or a VM's bandwidth past
    /// `WireLimits.maximumBytesPerSecond`.
    public func validated() throws(WireValidationError) -> ClusterRequest {
        let type = ClusterRequest.messageType
        switch self {
        case .task(_, let wait):
            try validateAtMost(UInt64(wait), UInt64(WireLimits.maximumTaskWaitMilliseconds), type, "wait")
        case .add(_, let vms):
            for (index, vm) in vms.enumerated() {
                try validateAtMost(
                    vm.networkRxBytesPerSecond,
                    WireLimits.maximumBytesPerSecond,
                    type,
                    "vms[\(index)].networkRx"
                )
                try validateAtMost(
                    vm.networkTxBytesPerSecond,
                    WireLimits.maximumBytesPerSecond,
                    type,
                    "vms[\(index)].networkTx"
                )
            }
        case .addFromImage(_, let vms):
            try validateAtMost(vms.networkRxBytesPerSecond, WireLimits.maximumBytesPerSecond, type, "networkRx")
            try validateAtMost(vms.networkTxBytesPerSecond, WireLimits.maximumBytesPerSecond, type, "networkTx")
        case .cordon(_, let reason):
            // Shown in every `torpor hosts` row of the host and kept in the state.
            try validateAtMost(UInt64(reason.utf8.count), UInt64(WireLimits.maximumCordonReasonBytes), type, "reason")
        case .define, .undefine, .remove, .act, .info, .list, .vmInfo, .migrate, .migrateCancel, .consolidate,
            .flavorList, .flavorCreate, .flavorDelete, .imageList, .imageAdd, .imageRemove, .bootPragma, .reserve,
            .renewReservation, .releaseReservation, .uncordon, .removeHost:
            break
        }
        return self
    }
}

extension Welcome.Assignment {
    /// The shortest heartbeat interval an agent accepts from a manager: a 0 would make it send without pause.
    public static let minimumHeartbeatIntervalMilliseconds: UInt32 = 100
}

private func validateAtMost(
    _ value: UInt64,
    _ maximum: UInt64,
    _ message: WireMessageType,
    _ field: @autoclosure () -> String
) throws(WireValidationError) {
    guard value <= maximum else {
        throw WireValidationError(message, field(), "\(value)", "more than the maximum \(maximum)")
    }
}

/// `field` is built only for a refusal: a report checks five rates per VM, and naming each one up front cost more
/// than the checks (bench/run ingest).
private func validateRate(
    _ value: Float,
    _ message: WireMessageType,
    _ field: @autoclosure () -> String
) throws(WireValidationError) {
    guard value.isFinite, value >= 0 else {
        throw WireValidationError(message, field(), "\(value)", "not a finite, non-negative number")
    }
}

private func validateIdentifier(
    _ value: String,
    _ message: WireMessageType,
    _ field: String
) throws(WireValidationError) {
    guard !value.isEmpty else { throw WireValidationError(message, field, "\"\"", "empty") }
    guard value.utf8.count <= WireLimits.maximumIdentifierBytes else {
        throw WireValidationError(
            message,
            field,
            "\(value.utf8.count) bytes",
            "longer than \(WireLimits.maximumIdentifierBytes) bytes"
        )
    }
    guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
        throw WireValidationError(message, field, value.debugDescription, "contains control characters")
    }
}

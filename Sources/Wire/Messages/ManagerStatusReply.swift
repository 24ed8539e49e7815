import NIOCore

/// The manager's view of its hosts for `agentctl manager`: liveness, report freshness and ring fill. Every host, or
/// one page of them when the request asked for a page.
public struct ManagerStatusReply: WirePayload, HostPagedReply {
    public static let messageType = WireMessageType.managerStatusReply

    public var managerID: String
    public var softwareVersion: String
    public var uptimeSeconds: UInt64
    /// Silence after which the manager marks a host FAILED.
    public var heartbeatTimeoutMilliseconds: UInt32
    public var hosts: [Host]
    /// Present when the request asked for a page (extension tag page).
    public var page: HostPageInfo?

    public enum HostState: UInt8, Hashable, Sendable, CaseIterable {
        case active = 1
        case sleeping = 2
        case waking = 3
        case failed = 4
    }

    public struct Host: Hashable, Sendable {
        public var hostID: String
        public var hostname: String
        public var state: HostState
        /// The agent's connection is open right now.
        public var connected: Bool
        public var millisecondsSinceHeartbeat: UInt64
        /// Nil until the host's first report since it (re)joined.
        public var millisecondsSinceReport: UInt64?
        public var ringFill: UInt16
        public var ringCapacity: UInt16
        /// VMs in the latest inventory (0 before the first one); the last known count while the host is not
        /// connected or FAILED.
        public var vmCount: UInt16
        public var capacity: HostCapacity
        /// Host usage from the latest report; the last known one while the host is not connected or FAILED.
        public var usage: MonitoringReport.HostSample?
        /// How long the host has been in `state`; nil from a manager that does not send it (extension tag hostPower).
        public var millisecondsInState: UInt64?
        /// The latest BMC power reading; nil if there is none.
        public var watts: Double?
        /// The estimator's view of the host (extension tag estimates); nil from a manager that does not send it.
        public var estimate: HostEstimate?
        /// The group manager process holding the host's agent (extension tag groupManagers); nil when the manager
        /// holds it itself, or none holds it now.
        public var groupManagerID: String?
        /// Why the host is cordoned (extension tag cordons; empty when no reason was given); nil when it is in
        /// service or the manager does not send it.
        public var cordonReason: String?
        /// Why the host's hypervisor does not answer, as its agent said (extension tag hypervisorProblems); nil when
        /// it answers, or the manager does not send it.
        public var hypervisorProblem: String?

        public init(
            hostID: String,
            hostname: String,
            state: HostState,
            connected: Bool,
            millisecondsSinceHeartbeat: UInt64,
            millisecondsSinceReport: UInt64?,
            ringFill: UInt16,
            ringCapacity: UInt16,
            vmCount: UInt16,
            capacity: HostCapacity,
            usage: MonitoringReport.HostSample?,
            millisecondsInState: UInt64? = nil,
            watts: Double? = nil,
            estimate: HostEstimate? = nil
        ) {
            self.hostID = hostID
            self.hostname = hostname
            self.state = state
            self.connected = connected
            self.millisecondsSinceHeartbeat = millisecondsSinceHeartbeat
            self.millisecondsSinceReport = millisecondsSinceReport
            self.ringFill = ringFill
            self.ringCapacity = ringCapacity
            self.vmCount = vmCount
            self.capacity = capacity
            self.usage = usage
            self.millisecondsInState = millisecondsInState
            self.watts = watts
            self.estimate = estimate
        }
    }

    /// What the host's VMs are estimated to use, next to what they were given. 66 bytes.
    public struct HostEstimate: Hashable, Sendable {
        /// The sum of the active VMs' estimates (`estimator.*`: the mean of their newest samples, or their request).
        public var estimatedUse: ResourceAmounts
        /// The sum of the active VMs' vCPUs and memory as the host's inventory lists them (network: 0).
        public var requested: ResourceAmounts
        /// Active VMs whose estimate comes from samples; the others count at their request.
        public var measuredVMs: UInt16

        public init(estimatedUse: ResourceAmounts, requested: ResourceAmounts, measuredVMs: UInt16) {
            self.estimatedUse = estimatedUse
            self.requested = requested
            self.measuredVMs = measuredVMs
        }

        static let wireSize = 2 * ResourceAmounts.wireSize + 2
    }

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `hostPower`: one { millisecondsInState, watts } per host, in the order of `hosts`. Sent only when some
        /// host has a value; an old decoder skips it.
        public static let hostPower: UInt16 = 0x0001
        /// `page`: one HostPageInfo. Sent only in answer to a request with a page.
        public static let page: UInt16 = 0x0002
        /// `estimates`: one HostEstimate? per host, in the order of `hosts`. Sent only when some host has one; an
        /// old decoder skips it.
        public static let estimates: UInt16 = 0x0003
        /// `groupManagers`: one string per host, in the order of `hosts`, the id of the group manager holding it
        /// (empty: none). Sent only by a leader with group managers; an old decoder skips it.
        public static let groupManagers: UInt16 = 0x0004
        /// `cordons`: one optional string per host, in the order of `hosts`, the reason a cordoned host was taken
        /// out of service (absent: in service). Sent only when some host is cordoned; an old decoder skips it.
        public static let cordons: UInt16 = 0x0005
        /// `hypervisorProblems`: one optional string per host, in the order of `hosts`, what its agent said when its
        /// hypervisor stopped answering (absent: it answers). Sent only when some host has one; an old decoder skips
        /// it.
        public static let hypervisorProblems: UInt16 = 0x0006
    }

    public init(
        managerID: String,
        softwareVersion: String,
        uptimeSeconds: UInt64,
        heartbeatTimeoutMilliseconds: UInt32,
        hosts: [Host],
        page: HostPageInfo? = nil
    ) {
        self.managerID = managerID
        self.softwareVersion = softwareVersion
        self.uptimeSeconds = uptimeSeconds
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
        self.hosts = hosts
        self.page = page
    }

    public static func hostID(of host: Host) -> String { host.hostID }

    /// hostID 2 + hostname 2 + state 1 + connected 1 + heartbeat age 8 + report presence 1 + ring 4 + VMs 2
    /// + capacity 26 + usage presence 1.
    static let minimumHostSize = 48

    /// The bytes `host` adds to the payload: its fixed fields, its hostPower, estimates, groupManagers, cordons and
    /// hypervisorProblems entries (sent or not).
    public static func encodedSize(of host: Host) -> Int {
        minimumHostSize + host.hostID.utf8.count + host.hostname.utf8.count
            + (host.millisecondsSinceReport == nil ? 0 : 8) + (host.usage == nil ? 0 : 20)
            + 2 + (host.millisecondsInState == nil ? 0 : 8) + (host.watts == nil ? 0 : 8)
            + 1 + (host.estimate == nil ? 0 : HostEstimate.wireSize)
            + 2 + (host.groupManagerID?.utf8.count ?? 0)
            + 1 + (host.cordonReason.map { 2 + $0.utf8.count } ?? 0)
            + 1 + (host.hypervisorProblem.map { 2 + $0.utf8.count } ?? 0)
    }

    /// The payload's bytes, at most (exactly when the hostPower, page, estimates, groupManagers, cordons and
    /// hypervisorProblems fields are sent): without building it, to decide whether it fits in a frame.
    public var encodedSize: Int {
        // managerID, softwareVersion, uptime, timeout, host count; the extension area with hostPower, page,
        // estimates, groupManagers, cordons and hypervisorProblems.
        2 + managerID.utf8.count + 2 + softwareVersion.utf8.count + 8 + 4 + 2
            + 2 + (6 + 2) + (6 + HostPageInfo.wireSize) + (6 + 2) + (6 + 2) + (6 + 2) + (6 + 2)
            + hosts.reduce(0) { $0 + Self.encodedSize(of: $1) }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(managerID)
        buffer.writeWireString(softwareVersion)
        buffer.writeInteger(uptimeSeconds)
        buffer.writeInteger(heartbeatTimeoutMilliseconds)
        buffer.writeWireArray(hosts) { buffer, host in buffer.writeStatusHost(host) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ManagerStatusReply {
        let managerID = try buffer.readWireString(messageType, "managerID")
        let version = try buffer.readWireString(messageType, "softwareVersion")
        let uptime = try buffer.readWireInteger(as: UInt64.self, messageType, "uptimeSeconds")
        let timeout = try buffer.readWireInteger(as: UInt32.self, messageType, "heartbeatTimeoutMilliseconds")
        let hosts = try buffer.readWireArray(minimumElementSize: minimumHostSize, messageType, "hosts") {
            (buffer) throws(WireError) -> Host in
            try buffer.readStatusHost(messageType)
        }
        return ManagerStatusReply(
            managerID: managerID,
            softwareVersion: version,
            uptimeSeconds: uptime,
            heartbeatTimeoutMilliseconds: timeout,
            hosts: hosts
        )
    }

    public var extensionFields: [WireExtensionField] {
        var fields: [WireExtensionField] = []
        if hosts.contains(where: { $0.millisecondsInState != nil || $0.watts != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(hosts) { buffer, host in
                buffer.writeWireOptional(host.millisecondsInState) { buffer, age in buffer.writeInteger(age) }
                buffer.writeWireOptional(host.watts) { buffer, watts in buffer.writeWireFloat64(watts) }
            }
            fields.append(WireExtensionField(tag: ExtensionTag.hostPower, value: value))
        }
        if let page {
            var value = ByteBuffer()
            value.writeHostPageInfo(page)
            fields.append(WireExtensionField(tag: ExtensionTag.page, value: value))
        }
        if hosts.contains(where: { $0.estimate != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(hosts) { buffer, host in
                buffer.writeWireOptional(host.estimate) { buffer, estimate in buffer.writeHostEstimate(estimate) }
            }
            fields.append(WireExtensionField(tag: ExtensionTag.estimates, value: value))
        }
        if hosts.contains(where: { $0.groupManagerID != nil }) {
            var value = ByteBuffer()
            value.writeWireArray(hosts) { buffer, host in buffer.writeWireString(host.groupManagerID ?? "") }
            fields.append(WireExtensionField(tag: ExtensionTag.groupManagers, value: value))
        }
        if hosts.contains(where: { $0.cordonReason != nil }) {
            fields.append(.optionalStrings(tag: ExtensionTag.cordons, hosts.map(\.cordonReason)))
        }
        if hosts.contains(where: { $0.hypervisorProblem != nil }) {
            fields.append(.optionalStrings(tag: ExtensionTag.hypervisorProblems, hosts.map(\.hypervisorProblem)))
        }
        return fields
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        switch field.tag {
        case ExtensionTag.hostPower: try applyHostPower(field)
        case ExtensionTag.page: page = try field.hostPageInfo(Self.messageType)
        case ExtensionTag.estimates: try applyEstimates(field)
        case ExtensionTag.groupManagers: try applyGroupManagers(field)
        case ExtensionTag.cordons: try applyCordons(field)
        case ExtensionTag.hypervisorProblems: try applyHypervisorProblems(field)
        default: break
        }
    }

    private mutating func applyHypervisorProblems(_ field: WireExtensionField) throws(WireError) {
        let problems = try field.positionalOptionalStrings(
            count: hosts.count,
            Self.messageType,
            "hypervisorProblems",
            present: "hypervisorProblems.present",
            value: "hypervisorProblems.problem"
        )
        for (index, problem) in problems.enumerated() { hosts[index].hypervisorProblem = problem }
    }

    private mutating func applyCordons(_ field: WireExtensionField) throws(WireError) {
        let reasons = try field.positionalOptionalStrings(
            count: hosts.count,
            Self.messageType,
            "cordons",
            present: "cordons.present",
            value: "cordons.reason"
        )
        for (index, reason) in reasons.enumerated() { hosts[index].cordonReason = reason }
    }

    private mutating func applyGroupManagers(_ field: WireExtensionField) throws(WireError) {
        // A string's length per host at least.
        let ids = try field.positionalEntries(
            count: hosts.count,
            minimumEntrySize: 2,
            Self.messageType,
            "groupManagers"
        ) {
            (buffer) throws(WireError) -> String in
            try buffer.readWireString(Self.messageType, "groupManagers.id")
        }
        for (index, id) in ids.enumerated() { hosts[index].groupManagerID = id.isEmpty ? nil : id }
    }

    private mutating func applyEstimates(_ field: WireExtensionField) throws(WireError) {
        // A presence byte per host at least.
        let estimates = try field.positionalEntries(
            count: hosts.count,
            minimumEntrySize: 1,
            Self.messageType,
            "estimates"
        ) {
            (buffer) throws(WireError) -> HostEstimate? in
            try buffer.readWireOptional(Self.messageType, "estimates.present") {
                (buffer) throws(WireError) -> HostEstimate in
                HostEstimate(
                    estimatedUse: try buffer.readResourceAmounts(Self.messageType, "estimates.estimatedUse"),
                    requested: try buffer.readResourceAmounts(Self.messageType, "estimates.requested"),
                    measuredVMs: try buffer.readWireInteger(as: UInt16.self, Self.messageType, "estimates.measuredVMs")
                )
            }
        }
        for (index, estimate) in estimates.enumerated() { hosts[index].estimate = estimate }
    }

    private mutating func applyHostPower(_ field: WireExtensionField) throws(WireError) {
        // Two presence bytes per host at least.
        let power = try field.positionalEntries(count: hosts.count, minimumEntrySize: 2, Self.messageType, "hostPower")
        {
            (buffer) throws(WireError) -> (millisecondsInState: UInt64?, watts: Double?) in
            let inState = try buffer.readWireOptional(Self.messageType, "hostPower.millisecondsInState") {
                (buffer) throws(WireError) -> UInt64 in
                try buffer.readWireInteger(as: UInt64.self, Self.messageType, "hostPower.millisecondsInState")
            }
            let watts = try buffer.readWireOptional(Self.messageType, "hostPower.watts") {
                (buffer) throws(WireError) -> Double in
                try buffer.readWireFloat64(Self.messageType, "hostPower.watts")
            }
            return (inState, watts)
        }
        for (index, entry) in power.enumerated() {
            hosts[index].millisecondsInState = entry.millisecondsInState
            hosts[index].watts = entry.watts
        }
    }
}

extension ByteBuffer {
    /// A ManagerStatusReply.Host's fixed fields (`minimumHostSize` bytes and its strings and optionals), without what
    /// travels in ManagerStatusReply's extension area. GroupManagerReport sends its hosts the same way.
    mutating func writeStatusHost(_ host: ManagerStatusReply.Host) {
        writeWireString(host.hostID)
        writeWireString(host.hostname)
        writeInteger(host.state.rawValue)
        writeWireBool(host.connected)
        writeInteger(host.millisecondsSinceHeartbeat)
        writeWireOptional(host.millisecondsSinceReport) { buffer, age in buffer.writeInteger(age) }
        writeMultipleIntegers(host.ringFill, host.ringCapacity, host.vmCount)
        writeHostCapacity(host.capacity)
        // Same 20 bytes as StatusReply's host sample.
        writeWireOptional(host.usage) { buffer, usage in
            buffer.writeMultipleIntegers(
                usage.cpuCoresInUse.bitPattern,
                usage.memoryInUseBytes,
                usage.networkRxBytesPerSecond.bitPattern,
                usage.networkTxBytesPerSecond.bitPattern
            )
        }
    }

    /// Reads what `writeStatusHost` writes; errors name `message` and the fields `hosts.…`.
    mutating func readStatusHost(_ message: WireMessageType) throws(WireError) -> ManagerStatusReply.Host {
        let hostID = try readWireString(message, "hosts.hostID")
        let hostname = try readWireString(message, "hosts.hostname")
        let state = try readWireEnum(as: ManagerStatusReply.HostState.self, message, "hosts.state")
        let connected = try readWireBool(message, "hosts.connected")
        let heartbeatAge = try readWireInteger(as: UInt64.self, message, "hosts.sinceHeartbeat")
        let reportAge = try readWireOptional(message, "hosts.sinceReport") { (buffer) throws(WireError) -> UInt64 in
            try buffer.readWireInteger(as: UInt64.self, message, "hosts.sinceReport")
        }
        guard let (fill, ringCapacity, vmCount) = readMultipleIntegers(as: (UInt16, UInt16, UInt16).self) else {
            throw .truncated(message: message, field: "hosts.ring")
        }
        let capacity = try readHostCapacity(message)
        let usage = try readWireOptional(message, "hosts.usage") {
            (buffer) throws(WireError) -> MonitoringReport.HostSample in
            guard let (cpu, memory, rx, tx) = buffer.readMultipleIntegers(as: (UInt32, UInt64, UInt32, UInt32).self)
            else { throw .truncated(message: message, field: "hosts.usage") }
            return MonitoringReport.HostSample(
                cpuCoresInUse: Float(bitPattern: cpu),
                memoryInUseBytes: memory,
                networkRxBytesPerSecond: Float(bitPattern: rx),
                networkTxBytesPerSecond: Float(bitPattern: tx)
            )
        }
        return ManagerStatusReply.Host(
            hostID: hostID,
            hostname: hostname,
            state: state,
            connected: connected,
            millisecondsSinceHeartbeat: heartbeatAge,
            millisecondsSinceReport: reportAge,
            ringFill: fill,
            ringCapacity: ringCapacity,
            vmCount: vmCount,
            capacity: capacity,
            usage: usage
        )
    }

    /// A HostEstimate, `HostEstimate.wireSize` bytes.
    mutating func writeHostEstimate(_ estimate: ManagerStatusReply.HostEstimate) {
        writeResourceAmounts(estimate.estimatedUse)
        writeResourceAmounts(estimate.requested)
        writeInteger(estimate.measuredVMs)
    }

    mutating func readHostEstimate(
        _ message: WireMessageType,
        _ field: StaticString
    ) throws(WireError) -> ManagerStatusReply.HostEstimate {
        ManagerStatusReply.HostEstimate(
            estimatedUse: try readResourceAmounts(message, field),
            requested: try readResourceAmounts(message, field),
            measuredVMs: try readWireInteger(as: UInt16.self, message, field)
        )
    }
}

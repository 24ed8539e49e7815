/// The message type byte of a frame. Ranges group messages by who sends them (docs/protocol.md):
/// 0x01–0x0F session (both directions), 0x10–0x1F agent → manager, 0x20–0x2F manager → agent,
/// 0x30–0x3F diagnostics between agentctl and an agent or the manager, 0x40–0x4F the user CLI and the group leader,
/// 0x50–0x5F between a group manager and the group leader.
public enum WireMessageType: UInt8, CaseIterable, Hashable, Sendable {
    case hello = 0x01
    case welcome = 0x02
    case heartbeat = 0x03
    case error = 0x04

    case monitoringReport = 0x10
    case inventory = 0x11
    case commandResult = 0x12
    case powerNotice = 0x13
    case migrationProgress = 0x14
    case hostAssignmentRequest = 0x15
    case hypervisorStatus = 0x16

    case vmCommand = 0x20
    case powerCommand = 0x21
    case migrationCancel = 0x22
    case hostAssignment = 0x23

    case statusRequest = 0x30
    case statusReply = 0x31
    case samplesRequest = 0x32
    case samplesReply = 0x33
    case managerStatusRequest = 0x34
    case managerStatusReply = 0x35
    case leaderQuery = 0x36
    case leaderReply = 0x37

    case clusterRequest = 0x40
    case clusterReply = 0x41
    case taskStatus = 0x42
    case energyRequest = 0x43
    case energyReply = 0x44
    case hostPowerRequest = 0x45
    case consolidationReply = 0x46
    case catalogReply = 0x47
    case eventSubscription = 0x48
    case eventNotice = 0x49

    case groupManagerReport = 0x50
    case groupManagerEvent = 0x51
    case hostOrder = 0x52
}

extension WireMessageType: CustomStringConvertible {
    public var description: String {
        switch self {
        case .hello: "Hello"
        case .welcome: "Welcome"
        case .heartbeat: "Heartbeat"
        case .error: "Error"
        case .monitoringReport: "MonitoringReport"
        case .inventory: "Inventory"
        case .commandResult: "CommandResult"
        case .powerNotice: "PowerNotice"
        case .migrationProgress: "MigrationProgress"
        case .hostAssignmentRequest: "HostAssignmentRequest"
        case .hypervisorStatus: "HypervisorStatus"
        case .vmCommand: "VMCommand"
        case .powerCommand: "PowerCommand"
        case .migrationCancel: "MigrationCancel"
        case .hostAssignment: "HostAssignment"
        case .statusRequest: "StatusRequest"
        case .statusReply: "StatusReply"
        case .samplesRequest: "SamplesRequest"
        case .samplesReply: "SamplesReply"
        case .managerStatusRequest: "ManagerStatusRequest"
        case .managerStatusReply: "ManagerStatusReply"
        case .leaderQuery: "LeaderQuery"
        case .leaderReply: "LeaderReply"
        case .clusterRequest: "ClusterRequest"
        case .clusterReply: "ClusterReply"
        case .taskStatus: "TaskStatus"
        case .energyRequest: "EnergyRequest"
        case .energyReply: "EnergyReply"
        case .hostPowerRequest: "HostPowerRequest"
        case .consolidationReply: "ConsolidationReply"
        case .catalogReply: "CatalogReply"
        case .eventSubscription: "EventSubscription"
        case .eventNotice: "EventNotice"
        case .groupManagerReport: "GroupManagerReport"
        case .groupManagerEvent: "GroupManagerEvent"
        case .hostOrder: "HostOrder"
        }
    }
}

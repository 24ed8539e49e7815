import NIOCore

/// Every message Torpor peers exchange.
public enum WireMessage: Hashable, Sendable {
    case hello(Hello)
    case welcome(Welcome)
    case heartbeat(Heartbeat)
    case error(ErrorMessage)
    case monitoringReport(MonitoringReport)
    case inventory(Inventory)
    case commandResult(CommandResult)
    case powerNotice(PowerNotice)
    case migrationProgress(MigrationProgress)
    case hostAssignmentRequest(HostAssignmentRequest)
    case hypervisorStatus(HypervisorStatus)
    case vmCommand(VMCommand)
    case powerCommand(PowerCommand)
    case migrationCancel(MigrationCancel)
    case hostAssignment(HostAssignment)
    case statusRequest(StatusRequest)
    case statusReply(StatusReply)
    case samplesRequest(SamplesRequest)
    case samplesReply(SamplesReply)
    case managerStatusRequest(ManagerStatusRequest)
    case managerStatusReply(ManagerStatusReply)
    case leaderQuery(LeaderQuery)
    case leaderReply(LeaderReply)
    case clusterRequest(ClusterRequest)
    case clusterReply(ClusterReply)
    case taskStatus(TaskStatus)
    case energyRequest(EnergyRequest)
    case energyReply(EnergyReply)
    case hostPowerRequest(HostPowerRequest)
    case consolidationReply(ConsolidationReply)
    case catalogReply(CatalogReply)
    case eventSubscription(EventSubscription)
    case eventNotice(EventNotice)
    case groupManagerReport(GroupManagerReport)
    case groupManagerEvent(GroupManagerEvent)
    case hostOrder(HostOrder)

    /// Switches on the case rather than boxing the payload in an existential (an allocation per call for the
    /// larger payloads, paid on every encode).
    public var type: WireMessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .heartbeat: .heartbeat
        case .error: .error
        case .monitoringReport: .monitoringReport
        case .inventory: .inventory
        case .commandResult: .commandResult
        case .powerNotice: .powerNotice
        case .migrationProgress: .migrationProgress
        case .hostAssignmentRequest: .hostAssignmentRequest
        case .hypervisorStatus: .hypervisorStatus
        case .vmCommand: .vmCommand
        case .powerCommand: .powerCommand
        case .migrationCancel: .migrationCancel
        case .hostAssignment: .hostAssignment
        case .statusRequest: .statusRequest
        case .statusReply: .statusReply
        case .samplesRequest: .samplesRequest
        case .samplesReply: .samplesReply
        case .managerStatusRequest: .managerStatusRequest
        case .managerStatusReply: .managerStatusReply
        case .leaderQuery: .leaderQuery
        case .leaderReply: .leaderReply
        case .clusterRequest: .clusterRequest
        case .clusterReply: .clusterReply
        case .taskStatus: .taskStatus
        case .energyRequest: .energyRequest
        case .energyReply: .energyReply
        case .hostPowerRequest: .hostPowerRequest
        case .consolidationReply: .consolidationReply
        case .catalogReply: .catalogReply
        case .eventSubscription: .eventSubscription
        case .eventNotice: .eventNotice
        case .groupManagerReport: .groupManagerReport
        case .groupManagerEvent: .groupManagerEvent
        case .hostOrder: .hostOrder
        }
    }

    /// Writes the payload followed by its extension area.
    public func encodePayload(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let payload): Self.encode(payload, &buffer)
        case .welcome(let payload): Self.encode(payload, &buffer)
        case .heartbeat(let payload): Self.encode(payload, &buffer)
        case .error(let payload): Self.encode(payload, &buffer)
        case .monitoringReport(let payload): Self.encode(payload, &buffer)
        case .inventory(let payload): Self.encode(payload, &buffer)
        case .commandResult(let payload): Self.encode(payload, &buffer)
        case .powerNotice(let payload): Self.encode(payload, &buffer)
        case .migrationProgress(let payload): Self.encode(payload, &buffer)
        case .hostAssignmentRequest(let payload): Self.encode(payload, &buffer)
        case .hypervisorStatus(let payload): Self.encode(payload, &buffer)
        case .vmCommand(let payload): Self.encode(payload, &buffer)
        case .powerCommand(let payload): Self.encode(payload, &buffer)
        case .migrationCancel(let payload): Self.encode(payload, &buffer)
        case .hostAssignment(let payload): Self.encode(payload, &buffer)
        case .statusRequest(let payload): Self.encode(payload, &buffer)
        case .statusReply(let payload): Self.encode(payload, &buffer)
        case .samplesRequest(let payload): Self.encode(payload, &buffer)
        case .samplesReply(let payload): Self.encode(payload, &buffer)
        case .managerStatusRequest(let payload): Self.encode(payload, &buffer)
        case .managerStatusReply(let payload): Self.encode(payload, &buffer)
        case .leaderQuery(let payload): Self.encode(payload, &buffer)
        case .leaderReply(let payload): Self.encode(payload, &buffer)
        case .clusterRequest(let payload): Self.encode(payload, &buffer)
        case .clusterReply(let payload): Self.encode(payload, &buffer)
        case .taskStatus(let payload): Self.encode(payload, &buffer)
        case .energyRequest(let payload): Self.encode(payload, &buffer)
        case .energyReply(let payload): Self.encode(payload, &buffer)
        case .hostPowerRequest(let payload): Self.encode(payload, &buffer)
        case .consolidationReply(let payload): Self.encode(payload, &buffer)
        case .catalogReply(let payload): Self.encode(payload, &buffer)
        case .eventSubscription(let payload): Self.encode(payload, &buffer)
        case .eventNotice(let payload): Self.encode(payload, &buffer)
        case .groupManagerReport(let payload): Self.encode(payload, &buffer)
        case .groupManagerEvent(let payload): Self.encode(payload, &buffer)
        case .hostOrder(let payload): Self.encode(payload, &buffer)
        }
    }

    /// A payload's fixed fields and extension area: what a frame carries, and what an embedded payload holds.
    @inline(__always)
    static func encode<P: WirePayload>(_ payload: P, _ buffer: inout ByteBuffer) {
        payload.encode(into: &buffer)
        buffer.writeWireExtensionArea(payload.extensionFields)
    }

    /// Decodes a payload of the given type; it must be consumed exactly, extension area included.
    public static func decode(type: WireMessageType, payload: inout ByteBuffer) throws(WireError) -> WireMessage {
        switch type {
        case .hello: .hello(try decode(Hello.self, &payload))
        case .welcome: .welcome(try decode(Welcome.self, &payload))
        case .heartbeat: .heartbeat(try decode(Heartbeat.self, &payload))
        case .error: .error(try decode(ErrorMessage.self, &payload))
        case .monitoringReport: .monitoringReport(try decode(MonitoringReport.self, &payload))
        case .inventory: .inventory(try decode(Inventory.self, &payload))
        case .commandResult: .commandResult(try decode(CommandResult.self, &payload))
        case .powerNotice: .powerNotice(try decode(PowerNotice.self, &payload))
        case .migrationProgress: .migrationProgress(try decode(MigrationProgress.self, &payload))
        case .hostAssignmentRequest: .hostAssignmentRequest(try decode(HostAssignmentRequest.self, &payload))
        case .hypervisorStatus: .hypervisorStatus(try decode(HypervisorStatus.self, &payload))
        case .vmCommand: .vmCommand(try decode(VMCommand.self, &payload))
        case .powerCommand: .powerCommand(try decode(PowerCommand.self, &payload))
        case .migrationCancel: .migrationCancel(try decode(MigrationCancel.self, &payload))
        case .hostAssignment: .hostAssignment(try decode(HostAssignment.self, &payload))
        case .statusRequest: .statusRequest(try decode(StatusRequest.self, &payload))
        case .statusReply: .statusReply(try decode(StatusReply.self, &payload))
        case .samplesRequest: .samplesRequest(try decode(SamplesRequest.self, &payload))
        case .samplesReply: .samplesReply(try decode(SamplesReply.self, &payload))
        case .managerStatusRequest: .managerStatusRequest(try decode(ManagerStatusRequest.self, &payload))
        case .managerStatusReply: .managerStatusReply(try decode(ManagerStatusReply.self, &payload))
        case .leaderQuery: .leaderQuery(try decode(LeaderQuery.self, &payload))
        case .leaderReply: .leaderReply(try decode(LeaderReply.self, &payload))
        case .clusterRequest: .clusterRequest(try decode(ClusterRequest.self, &payload))
        case .clusterReply: .clusterReply(try decode(ClusterReply.self, &payload))
        case .taskStatus: .taskStatus(try decode(TaskStatus.self, &payload))
        case .energyRequest: .energyRequest(try decode(EnergyRequest.self, &payload))
        case .energyReply: .energyReply(try decode(EnergyReply.self, &payload))
        case .hostPowerRequest: .hostPowerRequest(try decode(HostPowerRequest.self, &payload))
        case .consolidationReply: .consolidationReply(try decode(ConsolidationReply.self, &payload))
        case .catalogReply: .catalogReply(try decode(CatalogReply.self, &payload))
        case .eventSubscription: .eventSubscription(try decode(EventSubscription.self, &payload))
        case .eventNotice: .eventNotice(try decode(EventNotice.self, &payload))
        case .groupManagerReport: .groupManagerReport(try decode(GroupManagerReport.self, &payload))
        case .groupManagerEvent: .groupManagerEvent(try decode(GroupManagerEvent.self, &payload))
        case .hostOrder: .hostOrder(try decode(HostOrder.self, &payload))
        }
    }

    /// A payload with its extension area, which must take every byte of `buffer`: a frame's, or an embedded one's.
    @inline(__always)
    static func decode<P: WirePayload>(_: P.Type, _ buffer: inout ByteBuffer) throws(WireError) -> P {
        var payload = try P.decode(from: &buffer)
        for field in try buffer.readWireExtensionArea(P.messageType) {
            try payload.apply(extensionField: field)
        }
        guard buffer.readableBytes == 0 else {
            throw .trailingBytes(message: P.messageType, count: buffer.readableBytes)
        }
        return payload
    }
}

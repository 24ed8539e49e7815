import Trust
import Wire

/// Who may send what on a TLS Wire link, by the sender's certificate role: the one table (docs/security.md).
///
/// Checked for every frame a peer sends that is not a response to our own request (responses answer what we
/// asked) and not a ping. Hello and Welcome are checked against the certificate during the handshake.
public enum WireAuthorization {
    /// What a message does, which decides the roles that may send it.
    public enum Permission: String, CaseIterable, Hashable, Sendable {
        /// Liveness and errors: every role.
        case session
        /// An agent's reports about its own host.
        case hostReport
        /// Reading state: viewers, operators, managers.
        case read
        /// Changing things (power, VMs, clusters): operators and managers.
        case operate
        /// What only the manager pushes to its subscribers unsolicited (EventNotice).
        case notify
        /// Traffic between a group manager and the group leader: a group manager's reports and events, the leader's
        /// orders for its hosts.
        case groupManager
        /// Only ever a response (replies) or part of the handshake: nobody sends it unsolicited.
        case none
    }

    public static func roles(for permission: Permission) -> Set<CertificateRole> {
        switch permission {
        case .session: Set(CertificateRole.allCases)
        case .hostReport: [.agent]
        case .read: [.viewer, .operator, .manager]
        case .operate: [.operator, .manager]
        case .notify: [.manager]
        case .groupManager: [.manager]
        case .none: []
        }
    }

    /// `roles(for:).contains(role)` without building the set: asked once per inbound message.
    public static func allows(_ role: CertificateRole, _ permission: Permission) -> Bool {
        switch permission {
        case .session: true
        case .hostReport: role == .agent
        case .read: role == .viewer || role == .operator || role == .manager
        case .operate: role == .operator || role == .manager
        case .notify, .groupManager: role == .manager
        case .none: false
        }
    }

    /// The permission `message` needs; a cluster request needs `operate` unless it only reads.
    public static func permission(for message: WireMessage) -> Permission {
        switch message {
        // Who leads: agents and clients ask it before they know where to go.
        case .heartbeat, .error, .leaderQuery: .session
        case .hello, .welcome: .none
        case .monitoringReport, .inventory, .commandResult, .powerNotice, .migrationProgress, .hostAssignmentRequest,
            .hypervisorStatus:
            .hostReport
        case .vmCommand, .powerCommand, .migrationCancel, .hostPowerRequest: .operate
        case .statusRequest, .samplesRequest, .managerStatusRequest, .energyRequest, .eventSubscription: .read
        case .eventNotice: .notify
        case .groupManagerReport, .groupManagerEvent, .hostOrder: .groupManager
        case .clusterRequest(let request): permission(for: request)
        case .statusReply, .samplesReply, .managerStatusReply, .leaderReply, .clusterReply, .taskStatus, .energyReply,
            .consolidationReply, .catalogReply, .hostAssignment:
            .none
        }
    }

    public static func permission(for request: ClusterRequest) -> Permission {
        switch request {
        case .info, .list, .vmInfo, .task, .flavorList, .imageList: .read
        case .consolidate(let dryRun): dryRun ? .read : .operate
        case .define, .undefine, .add, .remove, .act, .migrate, .migrateCancel, .flavorCreate, .flavorDelete,
            .imageAdd, .imageRemove, .addFromImage, .bootPragma, .reserve, .renewReservation, .releaseReservation,
            .cordon, .uncordon, .removeHost:
            .operate
        }
    }

    /// Nil when `identity` may send `message`; otherwise why not, for the Error frame and the log.
    public static func refusal(of message: WireMessage, from identity: CertificateIdentity) -> String? {
        let needed = permission(for: message)
        guard allows(identity.role, needed) else {
            let allowed = roles(for: needed).map(\.rawValue).sorted()
            return "a \(identity.role) certificate may not send \(describe(message))"
                + (allowed.isEmpty ? " (it is only ever a response)" : " (allowed: \(allowed.joined(separator: ", ")))")
        }
        if case .inventory(let inventory) = message, inventory.hostID != identity.name {
            return
                "the agent certificate for host '\(identity.name)' may not send host '\(inventory.hostID)''s Inventory"
        }
        if case .hostAssignmentRequest(let request) = message, request.hostID != identity.name {
            return "the agent certificate for host '\(identity.name)' may not ask where host '\(request.hostID)' joins"
        }
        return nil
    }

    /// Nil when the dialler's Hello matches its certificate: an agent speaks only as the host its certificate names,
    /// a manager only with a manager certificate, agentctl and torpor only with an operator or viewer certificate.
    public static func refusal(of hello: Hello, from identity: CertificateIdentity) -> String? {
        switch hello.role {
        case .agent:
            guard identity.role == .agent else {
                return "a \(identity.role) certificate may not connect as an agent"
            }
            let hostID = hello.agent?.hostID ?? ""
            guard hostID == identity.name else {
                return "the agent certificate for host '\(identity.name)' may not connect as host '\(hostID)'"
            }
            return nil
        case .manager:
            return identity.role == .manager ? nil : "a \(identity.role) certificate may not connect as a manager"
        case .control:
            return identity.role == .operator || identity.role == .viewer
                ? nil : "a \(identity.role) certificate may not connect as agentctl or torpor (operator or viewer only)"
        }
    }

    /// Nil when the listener's Welcome matches its certificate's role (an agent's or a manager's).
    public static func refusal(of welcome: Welcome, from identity: CertificateIdentity) -> String? {
        let expected: CertificateRole? =
            switch welcome.role {
            case .agent: .agent
            case .manager: .manager
            case .control: nil
            }
        guard let expected, expected == identity.role else {
            return "the server says it is \(welcome.role) but its certificate is \(identity.description)"
        }
        return nil
    }

    /// The message type, and for a cluster request what it asks.
    static func describe(_ message: WireMessage) -> String {
        switch message {
        case .clusterRequest(let request): "ClusterRequest \(request.kindName)"
        case .hostPowerRequest(let request): "HostPowerRequest \(request.operation) \(request.hostID)"
        case .powerCommand(let command): "PowerCommand \(command.action)"
        default: "\(message.type)"
        }
    }
}

extension ClusterRequest {
    /// What the request asks, as the CLI names it (`vc destroy`), for logs and refusals.
    var kindName: String {
        switch self {
        case .define(let cluster): "define \(cluster)"
        case .undefine(let cluster): "undefine \(cluster)"
        case .add(let cluster, _): "add to \(cluster)"
        case .remove(let cluster, let vm): "remove \(vm) from \(cluster)"
        case .act(let action, let cluster, let vm): "\(action) \(cluster)/\(vm)"
        case .info(let cluster): "info \(cluster)"
        case .list: "list"
        case .vmInfo(let vm): "vm info \(vm)"
        case .task(let id, _): "task \(id)"
        case .migrate(let vm, let host, _): "migrate \(vm) to \(host)"
        case .migrateCancel(let vm): "migrate cancel \(vm)"
        case .consolidate(let dryRun): dryRun ? "consolidate --dry-run" : "consolidate"
        case .flavorList: "flavor list"
        case .flavorCreate(let flavor): "flavor create \(flavor.name)"
        case .flavorDelete(let name): "flavor delete \(name)"
        case .imageList: "image list"
        case .imageAdd(let name, _): "image add \(name)"
        case .imageRemove(let name): "image remove \(name)"
        case .addFromImage(let cluster, _): "add to \(cluster) from an image"
        case .bootPragma(let boot): "vc boot \(boot.cluster.isEmpty ? "(the frontend's name)" : boot.cluster)"
        case .reserve(let cluster, _): "vc reserve \(cluster)"
        case .renewReservation(let cluster, _): "vc renew \(cluster)"
        case .releaseReservation(let cluster): "vc release \(cluster)"
        case .cordon(let host, _): "host cordon \(host)"
        case .uncordon(let host): "host uncordon \(host)"
        case .removeHost(let host, _): "host remove \(host)"
        }
    }
}

/// Which Snooze event a manager step is, and its routing key (pure; docs/snooze-api.md, "Events").
public enum SnoozeEventRules {
    /// Snooze's system events.
    public enum SystemEvent: String, Sendable, CaseIterable {
        case groupLeaderJoined = "GL_JOIN"
        case groupManagerJoined = "GM_JOIN"
        case groupManagerFailed = "GM_FAILED"
        case localControllerJoined = "LC_JOIN"
        case localControllerFailed = "LC_FAILED"
        case localControllerAnomaly = "LC_ANOMALY"
        case reconfiguration = "RECONFIGURATION"

        /// Snooze's sender: the group leader for GL and GM events, the group manager for the rest.
        public var sentByGroupLeader: Bool {
            switch self {
            case .groupLeaderJoined, .groupManagerJoined, .groupManagerFailed: true
            default: false
            }
        }
    }

    /// Snooze's management actions.
    public enum Action: String, Sendable, CaseIterable {
        case start = "START"
        case suspend = "SUSPEND"
        case resume = "RESUME"
        case shutdown = "SHUTDOWN"
        case destroy = "DESTROY"
        case migrate = "MIGRATE"
    }

    /// The action a task kind is to Snooze; nil for kinds Snooze had no event for (reboot, define, add…).
    public static func action(ofTaskKind kind: String) -> Action? {
        switch kind {
        case "start": .start
        case "suspend": .suspend
        case "resume": .resume
        case "shutdown": .shutdown
        case "destroy", "remove", "undefine": .destroy
        case "migrate": .migrate
        default: nil
        }
    }

    /// A finished task's VM outcome as a status: done is PROCESSED, anything else (failed, or never reached) ERROR.
    public static func status(ofFinished outcome: StoredTask.Outcome.State) -> ManagerEvent.Status {
        outcome == .done ? .processed : .error
    }

    /// `groupleader` for the leader's events, `groupmanager.GMID` for the group manager's.
    public static func routingKey(_ event: SystemEvent, managerID: String) -> String {
        event.sentByGroupLeader ? "groupleader" : "groupmanager.\(segment(managerID))"
    }

    /// `GMID.LCID.VMID.ACTION`; a VM not yet on a host has `UNKNOWN` as its local controller.
    public static func routingKey(_ action: Action, managerID: String, hostID: String?, vm: String) -> String {
        let host = hostID.flatMap { $0.isEmpty ? nil : $0 } ?? "UNKNOWN"
        return [segment(managerID), segment(host), segment(vm), action.rawValue].joined(separator: ".")
    }

    /// A routing key's words are split at dots: one in an id would shift the words after it for topic bindings.
    static func segment(_ word: String) -> String {
        word.isEmpty ? "UNKNOWN" : word.replacingOccurrences(of: ".", with: "_")
    }
}

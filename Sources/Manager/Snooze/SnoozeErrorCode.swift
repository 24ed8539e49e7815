import Wire

/// Snooze's `VirtualMachineErrorCode` for a VM (pure): what its last task did to it when a task is at hand, else
/// what its state says. Snooze wrote `UNKNOWN` for a VM with no error, and so does Torpor.
enum SnoozeErrorCode: String, Sendable, CaseIterable {
    case unknown = "UNKNOWN"
    case notEnoughIPAddresses = "NOT_ENOUGH_IP_ADDRESSES"
    case notEnoughLocalControllerCapacity = "NOT_ENOUGH_LOCAL_CONTROLLER_CAPACITY"
    case unableToStartOnLocalController = "UNABLE_TO_START_ON_LOCAL_CONTROLLER"
    case failedToUpdateRepository = "FAILED_TO_UPDATE_REPOSITORY"
    case alreadyRunning = "ALREADY_RUNNING"
    case unableToStartOnGroupManager = "UNABLE_TO_START_ON_GROUP_MANAGER"
    case unableToCollectGroupManagerResponse = "UNABLE_TO_COLLECT_GROUP_MANAGER_RESPONSE"
    case notEnoughGroupManagerCapacity = "NOT_ENOUGH_GROUP_MANAGER_CAPACITY"
    case localControllerWakeupFailed = "LOCAL_CONTROLLER_WAKEUP_FAILED"

    /// A start task's outcome for the VM: no room is NOT_ENOUGH_LOCAL_CONTROLLER_CAPACITY, a host that did not wake
    /// LOCAL_CONTROLLER_WAKEUP_FAILED, another failure UNABLE_TO_START_ON_LOCAL_CONTROLLER, a VM found already up
    /// ALREADY_RUNNING; other kinds of task report only their failures, as UNABLE_TO_START_ON_LOCAL_CONTROLLER.
    static func of(_ outcome: StoredTask.Outcome, taskKind: String) -> SnoozeErrorCode {
        switch outcome.state {
        case .unplaced:
            return .notEnoughLocalControllerCapacity
        case .failed where outcome.message.localizedCaseInsensitiveContains("wake"):
            return .localControllerWakeupFailed
        case .failed:
            return .unableToStartOnLocalController
        case .done where taskKind == "start" && outcome.message.hasPrefix("already "):
            return .alreadyRunning
        case .done, .pending, .inProgress:
            return .unknown
        }
    }

    /// Without a task: a VM that failed to start is UNABLE_TO_START_ON_LOCAL_CONTROLLER; anything else UNKNOWN.
    static func of(_ state: StoredVM.State) -> SnoozeErrorCode {
        state == .failed ? .unableToStartOnLocalController : .unknown
    }
}

extension StoredTask.Outcome.State {
    /// The stored state a reply's outcome state stands for.
    init(_ wire: TaskStatus.Outcome.State) {
        switch wire {
        case .pending: self = .pending
        case .inProgress: self = .inProgress
        case .done: self = .done
        case .failed: self = .failed
        case .unplaced: self = .unplaced
        }
    }
}

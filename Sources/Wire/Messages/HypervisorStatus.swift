import NIOCore

/// An agent tells its manager whether its host's hypervisor (libvirtd) answers: sent unsolicited when that changes,
/// and after joining while it does not answer. A manager places nothing on a host whose hypervisor does not answer.
public struct HypervisorStatus: WirePayload {
    public static let messageType = WireMessageType.hypervisorStatus

    /// Longest problem in UTF-8 bytes; a longer one is cut at a scalar boundary by the sender.
    public static let maximumProblemBytes = 256

    public enum State: UInt8, Hashable, Sendable, CaseIterable {
        case answering = 1
        case unreachable = 2
    }

    public var state: State
    /// What the agent's libvirt connection said ("the connection to libvirt was lost (libvirtd stopped or
    /// restarted) and reopening it failed: …"); empty when `answering`.
    public var problem: String

    public init(state: State, problem: String = "") {
        self.state = state
        self.problem = state == .answering ? "" : problem.prefix(utf8Bytes: Self.maximumProblemBytes)
    }

    public static let answering = HypervisorStatus(state: .answering)

    public static func unreachable(_ problem: String) -> HypervisorStatus {
        HypervisorStatus(state: .unreachable, problem: problem)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(state.rawValue)
        buffer.writeWireString(problem)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> HypervisorStatus {
        let state = try buffer.readWireEnum(as: State.self, messageType, "state")
        let problem = try buffer.readWireString(messageType, "problem")
        guard problem.utf8.count <= maximumProblemBytes else {
            throw .invalidValue(message: messageType, field: "problem.length", value: UInt64(problem.utf8.count))
        }
        // An answering hypervisor has no problem to tell.
        guard state == .unreachable || problem.isEmpty else {
            throw .invalidValue(message: messageType, field: "problem.length", value: UInt64(problem.utf8.count))
        }
        return HypervisorStatus(state: state, problem: problem)
    }
}

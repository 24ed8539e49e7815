import NIOCore

/// Where a task (a change to a virtual cluster) stands, with one outcome per VM it touches.
public struct TaskStatus: WirePayload {
    public static let messageType = WireMessageType.taskStatus

    public enum State: UInt8, Hashable, Sendable, CaseIterable {
        case pending = 1
        case running = 2
        case succeeded = 3
        /// Ended with at least one VM not done; the outcomes say which and why.
        case failed = 4

        public var isFinished: Bool { self == .succeeded || self == .failed }
    }

    public struct Outcome: Hashable, Sendable {
        public enum State: UInt8, Hashable, Sendable, CaseIterable {
            case pending = 1
            case inProgress = 2
            case done = 3
            case failed = 4
            /// No host can take the VM; `message` says what is short.
            case unplaced = 5
        }

        public var vm: String
        public var state: State
        /// Empty when not placed.
        public var hostID: String
        public var message: String

        public init(vm: String, state: State, hostID: String = "", message: String = "") {
            self.vm = vm
            self.state = state
            self.hostID = hostID
            self.message = message
        }
    }

    public var id: String
    /// e.g. "start", "destroy", "add".
    public var kind: String
    public var cluster: String
    public var state: State
    /// What the task is doing or why it ended, e.g. "starting 4 VMs on host-1, host-2".
    public var message: String
    public var createdAtUnixMilliseconds: UInt64
    public var updatedAtUnixMilliseconds: UInt64
    public var outcomes: [Outcome]
    /// A migration task's progress and outcome (`migration` extension field); nil for other tasks.
    public var migration: TaskMigration?

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `migration`: TaskMigration. Sent only for a migration task, so an older CLI skips it.
        public static let migration: UInt16 = 0x0001
    }

    public init(
        id: String,
        kind: String,
        cluster: String,
        state: State,
        message: String,
        createdAtUnixMilliseconds: UInt64,
        updatedAtUnixMilliseconds: UInt64,
        outcomes: [Outcome],
        migration: TaskMigration? = nil
    ) {
        self.id = id
        self.kind = kind
        self.cluster = cluster
        self.state = state
        self.message = message
        self.createdAtUnixMilliseconds = createdAtUnixMilliseconds
        self.updatedAtUnixMilliseconds = updatedAtUnixMilliseconds
        self.outcomes = outcomes
        self.migration = migration
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(id)
        buffer.writeWireString(kind)
        buffer.writeWireString(cluster)
        buffer.writeInteger(state.rawValue)
        buffer.writeWireString(message)
        buffer.writeMultipleIntegers(createdAtUnixMilliseconds, updatedAtUnixMilliseconds)
        buffer.writeWireArray(outcomes) { buffer, outcome in
            buffer.writeWireString(outcome.vm)
            buffer.writeInteger(outcome.state.rawValue)
            buffer.writeWireString(outcome.hostID)
            buffer.writeWireString(outcome.message)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> TaskStatus {
        let id = try buffer.readWireString(messageType, "id")
        let kind = try buffer.readWireString(messageType, "kind")
        let cluster = try buffer.readWireString(messageType, "cluster")
        let state = try buffer.readWireEnum(as: State.self, messageType, "state")
        let message = try buffer.readWireString(messageType, "message")
        guard let (created, updated) = buffer.readMultipleIntegers(as: (UInt64, UInt64).self) else {
            throw .truncated(message: messageType, field: "timestamps")
        }
        // vm 2 + state 1 + host 2 + message 2
        let outcomes = try buffer.readWireArray(minimumElementSize: 7, messageType, "outcomes") {
            (buffer) throws(WireError) -> Outcome in
            let vm = try buffer.readWireString(messageType, "outcomes.vm")
            let state = try buffer.readWireEnum(as: Outcome.State.self, messageType, "outcomes.state")
            let host = try buffer.readWireString(messageType, "outcomes.hostID")
            let message = try buffer.readWireString(messageType, "outcomes.message")
            return Outcome(vm: vm, state: state, hostID: host, message: message)
        }
        return TaskStatus(
            id: id,
            kind: kind,
            cluster: cluster,
            state: state,
            message: message,
            createdAtUnixMilliseconds: created,
            updatedAtUnixMilliseconds: updated,
            outcomes: outcomes
        )
    }

    public var extensionFields: [WireExtensionField] {
        guard let migration else { return [] }
        var value = ByteBuffer()
        migration.encode(into: &value)
        return [WireExtensionField(tag: ExtensionTag.migration, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.migration else { return }
        migration = try TaskMigration.decode(field: field)
    }
}

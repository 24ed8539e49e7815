import NIOCore

/// The answer to ClusterRequest `consolidate`: the plan (its moves with their cost), the hosts it would free, and
/// whether its migrations were started, or why nothing runs.
public struct ConsolidationReply: WirePayload {
    public static let messageType = WireMessageType.consolidationReply

    /// The policy that made the plan (`consolidation.policy`).
    public var policy: String
    /// The migrations were started (not a dry run, and the plan passed its checks).
    public var started: Bool
    /// Why the plan does not run (it frees no host, costs more than the budget, the loop is busy); empty when it
    /// runs or, in a dry run, would run.
    public var reason: String
    public var moves: [Move]
    public var hostsFreed: [String]
    public var costBytes: UInt64
    public var costSeconds: Double
    /// Hosts running VMs before and after the plan, and the fewest that could hold the VMs at all.
    public var hostsUsedBefore: UInt32
    public var hostsUsedAfter: UInt32
    public var hostsLowerBound: UInt32
    /// The plan's moves: more than `moves` holds when they did not all fit in one reply (`moves` are the first).
    public var moveCount: UInt32

    public struct Move: Hashable, Sendable {
        public var vm: String
        public var fromHost: String
        public var toHost: String
        /// Memory to copy.
        public var memoryBytes: UInt64
        /// The estimated bytes sent and seconds taken (more than the memory when the guest dirties it).
        public var costBytes: UInt64
        public var costSeconds: Double
        /// The migration's task; empty in a dry run or when it was not started.
        public var taskID: String

        public init(
            vm: String,
            fromHost: String,
            toHost: String,
            memoryBytes: UInt64,
            costBytes: UInt64,
            costSeconds: Double,
            taskID: String = ""
        ) {
            self.vm = vm
            self.fromHost = fromHost
            self.toHost = toHost
            self.memoryBytes = memoryBytes
            self.costBytes = costBytes
            self.costSeconds = costSeconds
            self.taskID = taskID
        }
    }

    public init(
        policy: String,
        started: Bool,
        reason: String,
        moves: [Move],
        hostsFreed: [String],
        costBytes: UInt64,
        costSeconds: Double,
        hostsUsedBefore: UInt32,
        hostsUsedAfter: UInt32,
        hostsLowerBound: UInt32,
        moveCount: UInt32? = nil
    ) {
        self.moveCount = moveCount ?? UInt32(clamping: moves.count)
        self.policy = policy
        self.started = started
        self.reason = reason
        self.moves = moves
        self.hostsFreed = hostsFreed
        self.costBytes = costBytes
        self.costSeconds = costSeconds
        self.hostsUsedBefore = hostsUsedBefore
        self.hostsUsedAfter = hostsUsedAfter
        self.hostsLowerBound = hostsLowerBound
    }

    /// vm 2 + from 2 + to 2 + memory 8 + cost bytes 8 + cost seconds 8 + task 2.
    static let minimumMoveSize = 32

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(policy)
        buffer.writeWireBool(started)
        buffer.writeWireString(reason)
        buffer.writeWireArray(moves) { buffer, move in
            buffer.writeWireString(move.vm)
            buffer.writeWireString(move.fromHost)
            buffer.writeWireString(move.toHost)
            buffer.writeMultipleIntegers(move.memoryBytes, move.costBytes)
            buffer.writeWireFloat64(move.costSeconds)
            buffer.writeWireString(move.taskID)
        }
        buffer.writeWireArray(hostsFreed) { buffer, host in buffer.writeWireString(host) }
        buffer.writeInteger(costBytes)
        buffer.writeWireFloat64(costSeconds)
        buffer.writeMultipleIntegers(hostsUsedBefore, hostsUsedAfter, hostsLowerBound, moveCount)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ConsolidationReply {
        let policy = try buffer.readWireString(messageType, "policy")
        let started = try buffer.readWireBool(messageType, "started")
        let reason = try buffer.readWireString(messageType, "reason")
        let moves = try buffer.readWireArray(minimumElementSize: minimumMoveSize, messageType, "moves") {
            (buffer) throws(WireError) -> Move in
            let vm = try buffer.readWireString(messageType, "moves.vm")
            let from = try buffer.readWireString(messageType, "moves.fromHost")
            let to = try buffer.readWireString(messageType, "moves.toHost")
            let memory = try buffer.readWireInteger(as: UInt64.self, messageType, "moves.memoryBytes")
            let bytes = try buffer.readWireInteger(as: UInt64.self, messageType, "moves.costBytes")
            let seconds = try buffer.readWireFloat64(messageType, "moves.costSeconds")
            let task = try buffer.readWireString(messageType, "moves.taskID")
            return Move(
                vm: vm,
                fromHost: from,
                toHost: to,
                memoryBytes: memory,
                costBytes: bytes,
                costSeconds: seconds,
                taskID: task
            )
        }
        let freed = try buffer.readWireArray(minimumElementSize: 2, messageType, "hostsFreed") {
            (buffer) throws(WireError) -> String in
            try buffer.readWireString(messageType, "hostsFreed")
        }
        let costBytes = try buffer.readWireInteger(as: UInt64.self, messageType, "costBytes")
        let costSeconds = try buffer.readWireFloat64(messageType, "costSeconds")
        guard
            let (before, after, bound, count) = buffer.readMultipleIntegers(as: (UInt32, UInt32, UInt32, UInt32).self)
        else {
            throw .truncated(message: messageType, field: "hostsUsed")
        }
        return ConsolidationReply(
            policy: policy,
            started: started,
            reason: reason,
            moves: moves,
            hostsFreed: freed,
            costBytes: costBytes,
            costSeconds: costSeconds,
            hostsUsedBefore: before,
            hostsUsedAfter: after,
            hostsLowerBound: bound,
            moveCount: count
        )
    }

    /// The bytes `move` takes in the payload.
    public static func encodedSize(of move: Move) -> Int {
        minimumMoveSize + move.vm.utf8.count + move.fromHost.utf8.count + move.toHost.utf8.count
            + move.taskID.utf8.count
    }
}

import NIOCore
import Testing
import Wire

@Suite struct TaskStatusTests {
    static func status(
        state: TaskStatus.State = .running,
        outcomes: [TaskStatus.Outcome] = [
            .init(vm: "web-1", state: .done, hostID: "host-1", message: "running"),
            .init(vm: "web-2", state: .unplaced, message: "no host has 4 free cores; most free: host-2 with 2"),
            .init(vm: Samples.unicodeName, state: .pending),
        ]
    ) -> TaskStatus {
        TaskStatus(
            id: "t-000042",
            kind: "start",
            cluster: "web",
            state: state,
            message: "starting 2 VMs on host-1",
            createdAtUnixMilliseconds: 1_795_000_000_000,
            updatedAtUnixMilliseconds: 1_795_000_000_250,
            outcomes: outcomes
        )
    }

    @Test(arguments: TaskStatus.State.allCases)
    func everyStateRoundTrips(state: TaskStatus.State) throws {
        try expectRoundTrip(.taskStatus(Self.status(state: state)), requestID: 11, flags: .response)
    }

    @Test(arguments: TaskStatus.Outcome.State.allCases)
    func everyOutcomeStateRoundTrips(state: TaskStatus.Outcome.State) throws {
        try expectRoundTrip(.taskStatus(Self.status(outcomes: [.init(vm: "a", state: state)])))
        try expectRoundTrip(.taskStatus(Self.status(outcomes: [])))
    }

    @Test func typeByteAndFinishedStates() {
        #expect(WireMessageType.taskStatus.rawValue == 0x42)
        #expect(WireMessageType.taskStatus.description == "TaskStatus")
        #expect(TaskStatus.State.allCases.filter(\.isFinished) == [.succeeded, .failed])
        #expect(TaskStatus.Outcome.State.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
    }

    @Test func invalidStatesAreRejected() {
        var payload = payloadBytes(.taskStatus(Self.status(outcomes: [])))
        // id "t-000042" (2 + 8), kind "start" (2 + 5), cluster "web" (2 + 3): state is byte 22.
        payload.setInteger(UInt8(9), at: 22)
        #expect(throws: WireError.invalidValue(message: .taskStatus, field: "state", value: 9)) {
            try decodePayload(.taskStatus, payload)
        }
    }

    @Test func truncatedTimestampsAreRejected() {
        var payload = payloadBytes(.taskStatus(Self.status(outcomes: [])))
        // Cut inside the two timestamps: 23 bytes + message (2 + 24) + 10.
        payload.moveWriterIndex(to: 59)
        #expect(throws: WireError.truncated(message: .taskStatus, field: "timestamps")) {
            try decodePayload(.taskStatus, payload)
        }
    }
}

import NIOCore
import Testing
import Wire

extension Samples {
    static let taskMigration = TaskMigration(
        sourceHostID: "kvm-07",
        destinationHostID: "kvm-08",
        method: .live,
        phase: .copying,
        reason: "operator",
        startedAtUnixMilliseconds: 1_795_000_000_100,
        elapsedMilliseconds: 4_100,
        dataTotalBytes: 256 << 20,
        dataProcessedBytes: 192 << 20,
        dataRemainingBytes: 64 << 20,
        memoryDirtyRateBytesPerSecond: 1 << 20,
        iteration: 3,
        steps: [MigrationProgress.TakenStep(.raiseDowntime, atMilliseconds: 3_100)]
    )

    static let goldenTaskStatusMigration = WireEnvelope(
        flags: .response,
        requestID: 516,
        message: .taskStatus(
            TaskStatus(
                id: "t-0a1b2c3d",
                kind: "migrate",
                cluster: "web",
                state: .running,
                message: "migrating web-01 from kvm-07 to kvm-08",
                createdAtUnixMilliseconds: 1_795_000_000_000,
                updatedAtUnixMilliseconds: 1_795_000_004_200,
                outcomes: [.init(vm: "web-01", state: .inProgress, hostID: "kvm-07", message: "migrating to kvm-08")],
                migration: taskMigration
            )
        )
    )

    static let goldenClusterRequestMigrate = WireEnvelope(
        requestID: 515,
        message: .clusterRequest(.migrate(vm: "web-01", to: "kvm-08", method: .live))
    )

    static let goldenHelloMigrationURI: WireEnvelope = {
        var description = agentDescription
        description.migrationURI = "qemu+tcp://10.0.0.7/system"
        return WireEnvelope(
            message: .hello(
                Hello(
                    supportedVersions: [1],
                    role: .agent,
                    softwareVersion: "0.1.0",
                    nodeName: "kvm-07",
                    agent: description
                )
            )
        )
    }()
}

/// TaskStatus's `migration` extension field, ClusterRequest's migrate kinds and Hello's `migrationURI`.
@Suite struct TaskMigrationTests {
    static func status(_ migration: TaskMigration?) -> TaskStatus {
        guard case .taskStatus(var status) = Samples.goldenTaskStatusMigration.message else {
            fatalError("the golden TaskStatus is a TaskStatus")
        }
        status.migration = migration
        return status
    }

    @Test(arguments: TaskMigration.Phase.allCases)
    func everyPhaseRoundTrips(phase: TaskMigration.Phase) throws {
        var migration = Samples.taskMigration
        migration.phase = phase
        try expectRoundTrip(.taskStatus(Self.status(migration)), requestID: 3, flags: .response)
    }

    @Test(arguments: [VMCommand.Migration.Method.live, .liveNonSharedFullDisk, .liveNonSharedIncrementalDisk])
    func everyMethodRoundTrips(method: VMCommand.Migration.Method) throws {
        var migration = Samples.taskMigration
        migration.method = method
        try expectRoundTrip(.taskStatus(Self.status(migration)))
        try expectRoundTrip(.clusterRequest(.migrate(vm: "web-01", to: "kvm-08", method: method)))
    }

    @Test func edgeValuesRoundTrip() throws {
        let empty = TaskMigration(sourceHostID: "", destinationHostID: "", method: .live, phase: .waiting)
        try expectRoundTrip(.taskStatus(Self.status(empty)))
        let full = TaskMigration(
            sourceHostID: Samples.maxMultibyteString,
            destinationHostID: Samples.unicodeName,
            method: .liveNonSharedIncrementalDisk,
            phase: .aborted,
            reason: Samples.unicodeName,
            startedAtUnixMilliseconds: .max,
            elapsedMilliseconds: .max,
            dataTotalBytes: .max,
            dataProcessedBytes: .max,
            dataRemainingBytes: .max,
            memoryDirtyRateBytesPerSecond: .max,
            iteration: .max,
            steps: MigrationProgress.Step.allCases.map { MigrationProgress.TakenStep($0, atMilliseconds: .max) }
        )
        try expectRoundTrip(.taskStatus(Self.status(full)))
    }

    @Test func aTaskWithoutAMigrationSendsNoField() {
        let payload = payloadBytes(.taskStatus(Self.status(nil)))
        let bytes = Array(payload.readableBytesView)
        #expect(bytes.suffix(2) == [0, 0], "an empty extension area")
    }

    @Test func phaseNumbersAndFinalPhases() {
        #expect(TaskMigration.Phase.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7])
        #expect(TaskMigration.Phase.allCases.filter(\.isFinal) == [.completed, .aborted, .failed])
        #expect(TaskStatus.ExtensionTag.migration == 1)
    }

    /// The field's value, re-encoded with a change at `offset` (into the value) or cut/extended.
    static func payload(editingValue edit: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var fixed = ByteBuffer()
        Self.status(nil).encode(into: &fixed)
        var value = ByteBuffer()
        var migration = ByteBuffer()
        // The value as TaskStatus encodes it: its extension area's only field.
        let whole = payloadBytes(.taskStatus(Self.status(Samples.taskMigration)))
        let valueStart = fixed.readableBytes + 2 + 2 + 4
        migration = whole.getSlice(at: whole.readerIndex + valueStart, length: whole.readableBytes - valueStart)!
        value.writeImmutableBuffer(migration)
        edit(&value)
        var payload = fixed
        payload.writeWireExtensionArea([WireExtensionField(tag: TaskStatus.ExtensionTag.migration, value: value)])
        return payload
    }

    @Test func theGoldenValueDecodesAsIs() throws {
        let payload = Self.payload { _ in }
        #expect(try decodePayload(.taskStatus, payload) == .taskStatus(Self.status(Samples.taskMigration)))
    }

    @Test func badMigrationValuesAreRejected() {
        // source "kvm-07" (2 + 6), destination "kvm-08" (2 + 6): method at 16, phase at 17; steps' first step at
        // 16 + 2 + 10 (reason) + 56 + 2 = 86.
        let cases: [(String, (inout ByteBuffer) -> Void, WireError)] = [
            (
                "method", { $0.setInteger(UInt8(9), at: $0.readerIndex + 16) },
                .invalidValue(message: .taskStatus, field: "migration.method", value: 9)
            ),
            (
                "phase", { $0.setInteger(UInt8(0), at: $0.readerIndex + 17) },
                .invalidValue(message: .taskStatus, field: "migration.phase", value: 0)
            ),
            (
                "step", { $0.setInteger(UInt8(7), at: $0.readerIndex + 86) },
                .invalidValue(message: .taskStatus, field: "migration.steps.step", value: 7)
            ),
            (
                "trailing", { $0.writeInteger(UInt8(0)) },
                .invalidValue(message: .taskStatus, field: "migration.length", value: 96)
            ),
            (
                "cut in the counters", { $0.moveWriterIndex(to: $0.readerIndex + 40) },
                .truncated(message: .taskStatus, field: "migration.elapsedMilliseconds")
            ),
        ]
        for (name, edit, expected) in cases {
            #expect(throws: expected, "\(name)") { try decodePayload(.taskStatus, Self.payload(editingValue: edit)) }
        }
    }

    @Test func anUnknownTagNextToTheMigrationIsSkipped() throws {
        var fixed = ByteBuffer()
        let status = Self.status(Samples.taskMigration)
        status.encode(into: &fixed)
        var fields = status.extensionFields
        fields.insert(WireExtensionField(tag: 0x7777, value: ByteBuffer(bytes: [1, 2, 3])), at: 0)
        fixed.writeWireExtensionArea(fields)
        #expect(try decodePayload(.taskStatus, fixed) == .taskStatus(status))
    }

    // MARK: ClusterRequest

    @Test func migrateKindsAreTenAndEleven() {
        #expect(
            Array(payloadBytes(.clusterRequest(.migrate(vm: "", to: "", method: .live))).readableBytesView) == [
                10, 0, 0, 0, 0, 1, 0, 0,
            ]
        )
        #expect(Array(payloadBytes(.clusterRequest(.migrateCancel(vm: ""))).readableBytesView) == [11, 0, 0, 0, 0])
    }

    @Test func anUnknownMigrationMethodIsRejected() {
        var payload = ByteBuffer(bytes: [10, 0, 0, 0, 0, 9, 0, 0])
        #expect(throws: WireError.invalidValue(message: .clusterRequest, field: "method", value: 9)) {
            try decodePayload(.clusterRequest, payload)
        }
        payload = ByteBuffer(bytes: [10, 0, 1])
        #expect(throws: WireError.truncated(message: .clusterRequest, field: "vm")) {
            try decodePayload(.clusterRequest, payload)
        }
    }

    // MARK: Hello

    @Test func helloCarriesTheMigrationURIOnlyWhenThereIsOne() throws {
        try expectRoundTrip(Samples.goldenHelloMigrationURI.message)
        // Without a URI the extension area stays empty: the frozen v1 bytes.
        let plain = payloadBytes(Samples.goldenHello.message)
        #expect(Array(plain.readableBytesView).suffix(2) == [0, 0])
    }

    @Test func aHelloWithoutAnAgentIgnoresTheMigrationURI() throws {
        let hello = Hello(role: .control, softwareVersion: "0.1.0", nodeName: "cli")
        var payload = ByteBuffer()
        hello.encode(into: &payload)
        var value = ByteBuffer()
        value.writeWireString("qemu+tcp://10.0.0.7/system")
        payload.writeWireExtensionArea([WireExtensionField(tag: Hello.ExtensionTag.migrationURI, value: value)])
        #expect(try decodePayload(.hello, payload) == .hello(hello))
    }

    @Test func aMigrationURIWithTrailingBytesIsRejected() throws {
        guard case .hello(let hello) = Samples.goldenHello.message else { return }
        var payload = ByteBuffer()
        hello.encode(into: &payload)
        var value = ByteBuffer()
        value.writeWireString("qemu+tcp://10.0.0.7/system")
        value.writeInteger(UInt8(0))
        payload.writeWireExtensionArea([WireExtensionField(tag: Hello.ExtensionTag.migrationURI, value: value)])
        #expect(throws: WireError.invalidValue(message: .hello, field: "agent.migrationURI.length", value: 29)) {
            try decodePayload(.hello, payload)
        }
    }
}

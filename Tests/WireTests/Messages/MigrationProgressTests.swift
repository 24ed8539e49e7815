import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenMigrationProgress = WireEnvelope(
        flags: .ignorable,
        requestID: 0,
        message: .migrationProgress(
            MigrationProgress(
                vmName: "web-01",
                destinationURI: "qemu+tcp://10.0.0.2/system",
                phase: .aborted,
                elapsedMilliseconds: 90_000,
                dataTotalBytes: 68_157_440,
                dataProcessedBytes: 50_331_648,
                dataRemainingBytes: 17_825_792,
                memoryDirtyRateBytesPerSecond: 8_192_000,
                iteration: 12,
                steps: [
                    .init(.raiseDowntime, atMilliseconds: 30_000),
                    .init(.pause, atMilliseconds: 60_000),
                    .init(.abort, atMilliseconds: 90_000),
                    .init(.resume, atMilliseconds: 90_100),
                ]
            )
        )
    )
}

@Suite struct MigrationProgressTests {
    @Test(arguments: MigrationProgress.Phase.allCases)
    func everyPhaseRoundTrips(phase: MigrationProgress.Phase) throws {
        try expectRoundTrip(
            .migrationProgress(
                MigrationProgress(
                    vmName: "vm-1",
                    destinationURI: "qemu+tcp://h2/system",
                    phase: phase,
                    elapsedMilliseconds: 1,
                    dataTotalBytes: .max,
                    dataProcessedBytes: 0,
                    dataRemainingBytes: 7,
                    memoryDirtyRateBytesPerSecond: 3,
                    iteration: 2,
                    steps: MigrationProgress.Step.allCases.enumerated().map {
                        .init($1, atMilliseconds: UInt64($0) * 1_000)
                    }
                )
            ),
            flags: .ignorable
        )
    }

    @Test func edgeValuesRoundTrip() throws {
        try expectRoundTrip(
            .migrationProgress(
                MigrationProgress(vmName: "", destinationURI: "", phase: .copying, elapsedMilliseconds: 0)
            )
        )
        try expectRoundTrip(
            .migrationProgress(
                MigrationProgress(
                    vmName: Samples.unicodeName,
                    destinationURI: Samples.maxString,
                    phase: .postCopy,
                    elapsedMilliseconds: .max,
                    steps: Array(repeating: .init(.raiseBandwidth, atMilliseconds: .max), count: 300)
                )
            )
        )
    }

    @Test func typeByteNameAndEnumValues() {
        #expect(WireMessageType.migrationProgress.rawValue == 0x14)
        #expect(WireMessageType.migrationProgress.description == "MigrationProgress")
        #expect(MigrationProgress.Phase.allCases.map(\.rawValue) == [1, 2, 3, 4, 5])
        #expect(MigrationProgress.Step.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6])
        #expect(MigrationProgress.Phase.allCases.filter(\.isFinal) == [.completed, .aborted, .failed])
    }

    /// Name "a", destination "", phase copying, six zero counters, then the steps list.
    static func payload(phase: UInt8 = 1, steps: [UInt8] = [0, 0]) -> ByteBuffer {
        var payload = ByteBuffer(bytes: [0, 1, 0x61, 0, 0, phase])
        payload.writeRepeatingByte(0, count: 48)
        payload.writeBytes(steps)
        payload.writeInteger(UInt16(0))
        return payload
    }

    @Test func theHandWrittenLayoutDecodes() throws {
        let decoded = try decodePayload(.migrationProgress, Self.payload(steps: [0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 9]))
        #expect(
            decoded
                == .migrationProgress(
                    MigrationProgress(
                        vmName: "a",
                        destinationURI: "",
                        phase: .copying,
                        elapsedMilliseconds: 0,
                        steps: [.init(.pause, atMilliseconds: 9)]
                    )
                )
        )
    }

    @Test(arguments: [UInt8(0), 6, 0xFF])
    func unknownPhaseIsRejected(phase: UInt8) {
        #expect(throws: WireError.invalidValue(message: .migrationProgress, field: "phase", value: UInt64(phase))) {
            try decodePayload(.migrationProgress, Self.payload(phase: phase))
        }
    }

    @Test(arguments: [UInt8(0), 7, 0xFF])
    func unknownStepIsRejected(step: UInt8) {
        let steps: [UInt8] = [0, 1, step, 0, 0, 0, 0, 0, 0, 0, 1]
        #expect(
            throws: WireError.invalidValue(message: .migrationProgress, field: "steps.step", value: UInt64(step))
        ) {
            try decodePayload(.migrationProgress, Self.payload(steps: steps))
        }
    }

    @Test func aStepCountBeyondThePayloadIsAbsurd() {
        #expect(throws: WireError.self) {
            try decodePayload(.migrationProgress, Self.payload(steps: [0xFF, 0xFF, 1]))
        }
    }

    @Test func truncatedInputIsRejectedNamingTheField() {
        #expect(throws: WireError.truncated(message: .migrationProgress, field: "vmName")) {
            try decodePayload(.migrationProgress, ByteBuffer())
        }
        #expect(throws: WireError.truncated(message: .migrationProgress, field: "phase")) {
            try decodePayload(.migrationProgress, ByteBuffer(bytes: [0, 0, 0, 0]))
        }
        #expect(throws: WireError.truncated(message: .migrationProgress, field: "iteration")) {
            var payload = ByteBuffer(bytes: [0, 0, 0, 0, 1])
            payload.writeRepeatingByte(0, count: 40)
            return try decodePayload(.migrationProgress, payload)
        }
    }

    @Test func trailingBytesAreRejected() {
        var payload = Self.payload()
        payload.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(message: .migrationProgress, count: 1)) {
            try decodePayload(.migrationProgress, payload)
        }
    }
}

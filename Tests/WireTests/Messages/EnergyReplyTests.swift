import NIOCore
import Testing
import Wire

@Suite struct EnergyReplyTests {
    static func host(
        _ id: String = "host-1",
        state: ManagerStatusReply.HostState = .active,
        watts: Double? = 118.5,
        sinceReading: UInt64? = 2_000,
        used: Double = 0.5,
        alwaysOn: Double = 1.0,
        readingError: String? = nil
    ) -> EnergyReply.Host {
        EnergyReply.Host(
            hostID: id,
            state: state,
            millisecondsInState: 1_000,
            watts: watts,
            millisecondsSinceReading: sinceReading,
            usedKilowattHours: used,
            alwaysOnKilowattHours: alwaysOn,
            readingError: readingError
        )
    }

    /// One host written by hand: empty hostID, absent optionals, zeros; `count` hosts promised.
    static func minimalPayload(hostCount: UInt16 = 1, hostsPresent: Int = 1, state: UInt8 = 1) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(60_000))  // millisecondsMeasured
        payload.writeInteger(hostCount)
        for _ in 0..<hostsPresent {
            payload.writeInteger(UInt16(0))  // hostID ""
            payload.writeInteger(state)
            payload.writeInteger(UInt64(0))  // millisecondsInState
            payload.writeInteger(UInt8(0))  // watts absent
            payload.writeInteger(UInt8(0))  // millisecondsSinceReading absent
            payload.writeInteger(UInt64(0))  // usedKilowattHours 0.0
            payload.writeInteger(UInt64(0))  // alwaysOnKilowattHours 0.0
            payload.writeInteger(UInt8(0))  // readingError absent
        }
        payload.writeInteger(UInt16(0))  // extension area
        return payload
    }

    @Test func replyRoundTrips() throws {
        let reply = EnergyReply(millisecondsMeasured: 3_600_000, hosts: [Self.host()])
        try expectRoundTrip(.energyReply(reply), requestID: 12, flags: .response)
    }

    @Test(arguments: ManagerStatusReply.HostState.allCases)
    func everyHostStateRoundTrips(state: ManagerStatusReply.HostState) throws {
        try expectRoundTrip(.energyReply(EnergyReply(millisecondsMeasured: 1, hosts: [Self.host(state: state)])))
    }

    @Test func optionalAndEmptyPartsRoundTrip() throws {
        let hosts = [
            Self.host(
                "a",
                state: .sleeping,
                watts: nil,
                sinceReading: nil,
                readingError: "BMC 10.0.1.7:623 unreachable"
            ),
            Self.host(Samples.unicodeName, watts: 0, sinceReading: 0, used: 0, alwaysOn: 0, readingError: ""),
            Self.host("", watts: 1e6, sinceReading: .max, used: 12_345.678, alwaysOn: 23_456.789),
        ]
        try expectRoundTrip(.energyReply(EnergyReply(millisecondsMeasured: .max, hosts: hosts)))
        try expectRoundTrip(.energyReply(EnergyReply(millisecondsMeasured: 0, hosts: [])))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.energyReply.rawValue == 0x44)
        #expect(WireMessageType.energyReply.description == "EnergyReply")
    }

    @Test func clusterTotalsAreTheSumsOfTheHosts() {
        let reply = EnergyReply(
            millisecondsMeasured: 1,
            hosts: [Self.host(used: 0.25, alwaysOn: 1.0), Self.host("b", used: 0.5, alwaysOn: 1.0)]
        )
        #expect(reply.usedKilowattHours == 0.75)
        #expect(reply.alwaysOnKilowattHours == 2.0)
        #expect(EnergyReply(millisecondsMeasured: 1, hosts: []).usedKilowattHours == 0)
    }

    @Test func layoutFollowsTheSpecification() {
        let reply = EnergyReply(millisecondsMeasured: 60_000, hosts: [Self.host("h")])
        let expected: [String] = [
            "000000000000ea60",  // millisecondsMeasured
            "0001", "0001", "68",  // one host, hostID "h"
            "01",  // state active
            "00000000000003e8",  // millisecondsInState 1000
            "01", "405da00000000000",  // watts 118.5
            "01", "00000000000007d0",  // millisecondsSinceReading 2000
            "3fe0000000000000",  // used 0.5 kWh
            "3ff0000000000000",  // always-on 1.0 kWh
            "00",  // readingError absent
            "0000",  // extension area
        ]
        #expect(hex(payloadBytes(.energyReply(reply))) == expected.joined())
        let failing = EnergyReply(millisecondsMeasured: 0, hosts: [Self.host("h", readingError: "x")])
        #expect(hex(payloadBytes(.energyReply(failing))).hasSuffix("01" + "0001" + "78" + "0000"))
    }

    @Test func doublesKeepTheirBitPatterns() throws {
        for value in [-0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude] {
            let payload = payloadBytes(
                .energyReply(EnergyReply(millisecondsMeasured: 0, hosts: [Self.host(watts: value, used: value)]))
            )
            #expect(hex(payloadBytes(try decodePayload(.energyReply, payload))) == hex(payload), "\(value)")
        }
    }

    @Test func minimalHostIsExactlyTheMinimumElementSize() throws {
        let payload = Self.minimalPayload()
        let decoded = try decodePayload(.energyReply, payload)
        guard case .energyReply(let reply) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(reply.hosts.first?.watts == nil)
        #expect(reply.hosts.first?.readingError == nil)
        // 8 + 2 (count) + 30 (host) + 2 (extension area).
        #expect(payload.readableBytes == 42)
        #expect(hex(payloadBytes(decoded)) == hex(payload))
    }

    @Test func absurdHostCountIsRejected() {
        #expect(
            throws: WireError.absurdCount(message: .energyReply, field: "hosts", count: 2, remainingBytes: 32)
        ) {
            try decodePayload(.energyReply, Self.minimalPayload(hostCount: 2))
        }
    }

    @Test(arguments: [UInt8(0), 5, 0xFF])
    func invalidStateIsRejected(state: UInt8) {
        #expect(throws: WireError.invalidValue(message: .energyReply, field: "hosts.state", value: UInt64(state))) {
            try decodePayload(.energyReply, Self.minimalPayload(state: state))
        }
    }

    @Test func invalidPresenceByteIsRejected() {
        // The watts presence byte: 8 (measured) + 2 (count) + 2 (hostID) + 1 (state) + 8 (millisecondsInState).
        let payload = Self.minimalPayload().settingByte(2, at: 21)
        #expect(throws: WireError.invalidValue(message: .energyReply, field: "hosts.watts", value: 2)) {
            try decodePayload(.energyReply, payload)
        }
    }

    @Test func aLongReadingErrorIsCutAtAScalarBoundary() throws {
        // 300 two-byte scalars: 600 bytes, cut to 128 scalars (256 bytes).
        let host = Self.host(readingError: String(repeating: "é", count: 300))
        #expect(host.readingError == String(repeating: "é", count: 128))
        var longer = host
        longer.readingError = String(repeating: "€", count: 100)
        try expectRoundTrip(.energyReply(EnergyReply(millisecondsMeasured: 1, hosts: [host])))
        // Set after init, it is cut on the way out: 85 three-byte scalars fit in 256 bytes.
        let decoded = try decodePayload(
            .energyReply,
            payloadBytes(.energyReply(EnergyReply(millisecondsMeasured: 1, hosts: [longer])))
        )
        guard case .energyReply(let reply) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(reply.hosts.first?.readingError == String(repeating: "€", count: 85))
    }

    @Test func anOverlongReadingErrorIsRejected() {
        var payload = Self.minimalPayload().prefix(39)  // up to the readingError presence byte
        payload.writeInteger(UInt8(1))
        payload.writeInteger(UInt16(257))
        payload.writeRepeatingByte(0x61, count: 257)
        payload.writeInteger(UInt16(0))
        #expect(
            throws: WireError.invalidValue(message: .energyReply, field: "hosts.readingError.length", value: 257)
        ) {
            try decodePayload(.energyReply, payload)
        }
    }

    @Test func invalidUTF8ReadingErrorIsRejected() {
        var payload = Self.minimalPayload().prefix(39)
        payload.writeBytes([1, 0, 2, 0xC0, 0x80, 0, 0])
        #expect(throws: WireError.invalidUTF8(message: .energyReply, field: "hosts.readingError")) {
            try decodePayload(.energyReply, payload)
        }
    }

    @Test func everyTruncationIsRejected() {
        let hosts = [Self.host(), Self.host("b", readingError: "ipmi: timeout")]
        let payload = payloadBytes(.energyReply(EnergyReply(millisecondsMeasured: 5, hosts: hosts)))
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.energyReply, payload.prefix(length))
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        var payload = Self.minimalPayload()
        payload.writeInteger(UInt8(0xAB))
        #expect(throws: WireError.trailingBytes(message: .energyReply, count: 1)) {
            try decodePayload(.energyReply, payload)
        }
    }
}

import NIOCore
import Testing
import Wire

@Suite struct ManagerStatusReplyTests {
    static func host(
        _ id: String = "0f2c9e8a7b6d4c3b",
        state: ManagerStatusReply.HostState = .active,
        connected: Bool = true,
        sinceReport: UInt64? = 1_250,
        usage: MonitoringReport.HostSample? = Samples.host
    ) -> ManagerStatusReply.Host {
        ManagerStatusReply.Host(
            hostID: id,
            hostname: "kvm-07.lab",
            state: state,
            connected: connected,
            millisecondsSinceHeartbeat: 812,
            millisecondsSinceReport: sinceReport,
            ringFill: 12,
            ringCapacity: 30,
            vmCount: 2,
            capacity: Samples.capacity,
            usage: usage
        )
    }

    static func reply(hosts: [ManagerStatusReply.Host] = [host()]) -> ManagerStatusReply {
        ManagerStatusReply(
            managerID: "mgr-1",
            softwareVersion: "0.1.0",
            uptimeSeconds: 93_784,
            heartbeatTimeoutMilliseconds: 10_000,
            hosts: hosts
        )
    }

    /// The smallest host a decoder must accept, written by hand: empty strings, absent optionals, zeros.
    static func minimalHostPayload(hostCount: UInt16, hostsPresent: Int, state: UInt8 = 1) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(0))  // managerID ""
        payload.writeInteger(UInt16(0))  // softwareVersion ""
        payload.writeInteger(UInt64(7))  // uptimeSeconds
        payload.writeInteger(UInt32(2000))  // heartbeatTimeoutMilliseconds
        payload.writeInteger(hostCount)
        for _ in 0..<hostsPresent {
            payload.writeInteger(UInt16(0))  // hostID ""
            payload.writeInteger(UInt16(0))  // hostname ""
            payload.writeInteger(state)
            payload.writeInteger(UInt8(0))  // connected false
            payload.writeInteger(UInt64(0))  // millisecondsSinceHeartbeat
            payload.writeInteger(UInt8(0))  // millisecondsSinceReport absent
            payload.writeBytes([UInt8](repeating: 0, count: 6))  // ringFill, ringCapacity, vmCount
            payload.writeBytes([UInt8](repeating: 0, count: 26))  // capacity
            payload.writeInteger(UInt8(0))  // usage absent
        }
        payload.writeInteger(UInt16(0))  // extension area
        return payload
    }

    @Test func replyRoundTrips() throws {
        try expectRoundTrip(.managerStatusReply(Self.reply()), requestID: 9, flags: .response)
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.managerStatusReply.rawValue == 0x35)
        #expect(WireMessageType.managerStatusReply.description == "ManagerStatusReply")
        #expect(ManagerStatusReply.HostState.allCases.map(\.rawValue) == [1, 2, 3, 4])
    }

    @Test(arguments: ManagerStatusReply.HostState.allCases)
    func everyHostStateRoundTrips(state: ManagerStatusReply.HostState) throws {
        try expectRoundTrip(.managerStatusReply(Self.reply(hosts: [Self.host(state: state)])))
    }

    @Test func optionalAndEmptyPartsRoundTrip() throws {
        let hosts = [
            Self.host("a", state: .failed, connected: false, sinceReport: nil, usage: nil),
            Self.host(Samples.unicodeName, sinceReport: 0),
            Self.host("", sinceReport: .max),
        ]
        try expectRoundTrip(.managerStatusReply(Self.reply(hosts: hosts)))
        try expectRoundTrip(.managerStatusReply(Self.reply(hosts: [])))
    }

    @Test func minimalHostIsExactlyTheMinimumElementSize() throws {
        let payload = Self.minimalHostPayload(hostCount: 1, hostsPresent: 1)
        let decoded = try decodePayload(.managerStatusReply, payload)
        guard case .managerStatusReply(let reply) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(reply.hosts.count == 1)
        #expect(reply.hosts.first?.millisecondsSinceReport == nil)
        #expect(reply.hosts.first?.usage == nil)
        // 2 + 2 + 8 + 4 + 2 (count) + 48 (host) + 2 (extension area).
        #expect(payload.readableBytes == 68)
        #expect(hex(payloadBytes(decoded)) == hex(payload))
    }

    @Test func absurdHostCountIsRejected() throws {
        // Two hosts promised, one present: 48 + 2 bytes remain after the count, fewer than 2 × 48.
        let payload = Self.minimalHostPayload(hostCount: 2, hostsPresent: 1)
        #expect(
            throws: WireError.absurdCount(message: .managerStatusReply, field: "hosts", count: 2, remainingBytes: 50)
        ) {
            try decodePayload(.managerStatusReply, payload)
        }
        let huge = Self.minimalHostPayload(hostCount: .max, hostsPresent: 0)
        #expect(
            throws: WireError.absurdCount(
                message: .managerStatusReply,
                field: "hosts",
                count: 65_535,
                remainingBytes: 2
            )
        ) {
            try decodePayload(.managerStatusReply, huge)
        }
    }

    @Test func invalidStateAndBoolAreRejected() throws {
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "hosts.state", value: 0)) {
            try decodePayload(.managerStatusReply, Self.minimalHostPayload(hostCount: 1, hostsPresent: 1, state: 0))
        }
        // connected sits right after state: payload offset 18 (header fields) + 4 (empty strings) + 1.
        let payload = Self.minimalHostPayload(hostCount: 1, hostsPresent: 1).settingByte(2, at: 23)
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "hosts.connected", value: 2)) {
            try decodePayload(.managerStatusReply, payload)
        }
    }

    @Test func everyTruncationIsRejected() throws {
        let payload = payloadBytes(.managerStatusReply(Self.reply(hosts: [Self.host(), Self.host("b")])))
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.managerStatusReply, payload.prefix(length))
            }
        }
    }
}

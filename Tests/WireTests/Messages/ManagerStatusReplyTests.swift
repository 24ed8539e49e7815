import NIOCore
import Testing
import Wire

@Suite struct ManagerStatusReplyTests {
    static func host(
        _ id: String = "0f2c9e8a7b6d4c3b",
        state: ManagerStatusReply.HostState = .active,
        connected: Bool = true,
        sinceReport: UInt64? = 1_250,
        usage: MonitoringReport.HostSample? = Samples.host,
        inState: UInt64? = nil,
        watts: Double? = nil,
        estimate: ManagerStatusReply.HostEstimate? = nil
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
            usage: usage,
            millisecondsInState: inState,
            watts: watts,
            estimate: estimate
        )
    }

    static let estimate = ManagerStatusReply.HostEstimate(
        estimatedUse: ResourceAmounts(
            cpuCores: 1.5,
            memoryBytes: 3_221_225_472,
            networkRxBytesPerSecond: 1_000,
            networkTxBytesPerSecond: 250
        ),
        requested: ResourceAmounts(cpuCores: 4, memoryBytes: 8_589_934_592),
        measuredVMs: 2
    )

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

    // Extension tag 0x0001, hostPower: millisecondsInState and watts per host.

    /// The one-host minimal payload with `area` (hex) as its extension area.
    static func minimalHostPayload(extensionArea area: String) -> ByteBuffer {
        let payload = minimalHostPayload(hostCount: 1, hostsPresent: 1)
        var bytes = payload.prefix(payload.readableBytes - 2)
        bytes.writeImmutableBuffer(hexBytes(area))
        return bytes
    }

    @Test func hostPowerRoundTrips() throws {
        let hosts = [
            Self.host("a", inState: 133_000, watts: 118.5),
            Self.host("b", state: .sleeping),
            Self.host("c", state: .sleeping, inState: 0, watts: nil),
            Self.host("d", inState: nil, watts: -0.0),
            Self.host("e", inState: .max, watts: .infinity),
        ]
        try expectRoundTrip(.managerStatusReply(Self.reply(hosts: hosts)), requestID: 9, flags: .response)
    }

    @Test func hostPowerTravelsInTheExtensionAreaUnderTagOne() {
        let plain = [Self.host("a"), Self.host("b")]
        var powered = plain
        powered[0].millisecondsInState = 1_000
        powered[0].watts = 96
        let old = hex(payloadBytes(.managerStatusReply(Self.reply(hosts: plain))))
        #expect(old.hasSuffix("0000"))
        // The fixed fields are the version-1 bytes; only the extension area differs.
        let area: [String] = [
            "0001", "0001", "00000016",  // one field, tag hostPower, 22 bytes
            "0002",  // two hosts
            "01", "00000000000003e8", "01", "4058000000000000",  // a: 1000 ms, 96.0 W
            "00", "00",  // b: neither
        ]
        let expected = String(old.dropLast(4)) + area.joined()
        #expect(hex(payloadBytes(.managerStatusReply(Self.reply(hosts: powered)))) == expected)
    }

    @Test func hostPowerIsSentOnlyWhenSomeHostHasAValue() {
        let payload = payloadBytes(.managerStatusReply(Self.reply(hosts: [Self.host("a"), Self.host("b")])))
        #expect(hex(payload).hasSuffix("0000"))
        #expect(hex(payloadBytes(.managerStatusReply(Self.reply(hosts: [])))).hasSuffix("0000"))
    }

    @Test func anOldDecoderSkipsHostPower() throws {
        let powered = Self.reply(hosts: [Self.host("a", inState: 5_000, watts: 210.25), Self.host("b")])
        var payload = payloadBytes(.managerStatusReply(powered))
        // What a decoder from before the tag does: the fixed fields, then every extension field skipped.
        let fixed = try ManagerStatusReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.managerStatusReply).map(\.tag) == [0x0001])
        #expect(payload.readableBytes == 0)
        #expect(fixed == Self.reply(hosts: [Self.host("a"), Self.host("b")]))
    }

    @Test func aReplyWithoutTheTagDecodesWithoutHostPower() throws {
        let decoded = try decodePayload(.managerStatusReply, Self.minimalHostPayload(hostCount: 1, hostsPresent: 1))
        guard case .managerStatusReply(let reply) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(reply.hosts.first?.millisecondsInState == nil)
        #expect(reply.hosts.first?.watts == nil)
    }

    @Test func unknownTagsBesideHostPowerAreSkipped() throws {
        let payload = Self.minimalHostPayload(
            extensionArea: "0002" + "7f01 00000002 abcd" + "0001 0000000c 0001 01 0000000000000007 00"
        )
        let decoded = try decodePayload(.managerStatusReply, payload)
        guard case .managerStatusReply(let reply) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(reply.hosts.first?.millisecondsInState == 7)
        #expect(reply.hosts.first?.watts == nil)
    }

    @Test(arguments: [UInt16(0), 2])
    func aHostPowerListOfAnotherLengthIsRejected(count: UInt16) {
        let entries = String(repeating: "00 00 ", count: Int(count))
        let length = String(format: "%08x", 2 + 2 * Int(count))
        let payload = Self.minimalHostPayload(
            extensionArea: "0001 0001 \(length) " + String(format: "%04x", count) + " " + entries
        )
        #expect(
            throws: WireError.invalidValue(message: .managerStatusReply, field: "hostPower.count", value: UInt64(count))
        ) {
            try decodePayload(.managerStatusReply, payload)
        }
    }

    @Test func malformedHostPowerValuesAreRejected() {
        // Watts promised but missing.
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "hostPower.watts")) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0001 00000004 0001 00 01")
            )
        }
        // A presence byte that is not a bool.
        #expect(
            throws: WireError.invalidValue(
                message: .managerStatusReply,
                field: "hostPower.millisecondsInState",
                value: 2
            )
        ) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0001 00000004 0001 02 00")
            )
        }
        // Bytes after the list.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "hostPower.length", value: 5)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0001 00000005 0001 00 00 ee")
            )
        }
        // A count the value cannot hold.
        #expect(
            throws: WireError.absurdCount(
                message: .managerStatusReply,
                field: "hostPower",
                count: 0x100,
                remainingBytes: 2
            )
        ) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0001 00000004 0100 00 00")
            )
        }
        // Missing the list count itself.
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "hostPower")) {
            try decodePayload(.managerStatusReply, Self.minimalHostPayload(extensionArea: "0001 0001 00000000"))
        }
    }

    // Extension tag 0x0003, estimates: each host's estimated use and requests.

    @Test func estimatesRoundTrip() throws {
        let hosts = [
            Self.host("a", estimate: Self.estimate),
            Self.host("b", state: .sleeping),
            Self.host("c", inState: 9, watts: 70, estimate: Self.estimate),
        ]
        var reply = Self.reply(hosts: hosts)
        try expectRoundTrip(.managerStatusReply(reply), requestID: 9, flags: .response)
        reply.page = HostPageInfo(totalHosts: 5, more: true)
        try expectRoundTrip(.managerStatusReply(reply), requestID: 9, flags: .response)
    }

    @Test func estimatesTravelInTheExtensionAreaUnderTagThree() {
        let plain = [Self.host("a"), Self.host("b")]
        var estimated = plain
        estimated[1].estimate = ManagerStatusReply.HostEstimate(
            estimatedUse: ResourceAmounts(cpuCores: 0.5),
            requested: ResourceAmounts(cpuCores: 2, memoryBytes: 1024),
            measuredVMs: 1
        )
        let old = hex(payloadBytes(.managerStatusReply(Self.reply(hosts: plain))))
        let area: [String] = [
            "0001", "0003", "00000046",  // one field, tag estimates, 70 bytes
            "0002",  // two hosts
            "00",  // a: none
            "01",  // b: estimatedUse 0.5 cores, requested 2 cores and 1 KiB, 1 measured VM
            "3fe0000000000000", "0000000000000000", "0000000000000000", "0000000000000000",
            "4000000000000000", "4090000000000000", "0000000000000000", "0000000000000000",
            "0001",
        ]
        #expect(
            hex(payloadBytes(.managerStatusReply(Self.reply(hosts: estimated)))) == String(old.dropLast(4))
                + area.joined()
        )
    }

    @Test func anOldDecoderSkipsEstimates() throws {
        let estimated = Self.reply(hosts: [Self.host("a", estimate: Self.estimate)])
        var payload = payloadBytes(.managerStatusReply(estimated))
        let fixed = try ManagerStatusReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.managerStatusReply).map(\.tag) == [0x0003])
        #expect(payload.readableBytes == 0)
        #expect(fixed == Self.reply(hosts: [Self.host("a")]))
    }

    @Test func malformedEstimatesAreRejected() {
        // Two entries for one host.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "estimates.count", value: 2)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0003 00000004 0002 00 00")
            )
        }
        // An estimate promised but cut short.
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "estimates.estimatedUse")) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0003 00000007 0001 01 3fe00000")
            )
        }
        // Bytes after the list.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "estimates.length", value: 4)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0003 00000004 0001 00 ee")
            )
        }
    }

    // Extension tag 0x0004, groupManagers: which group manager process holds each host.

    @Test func groupManagersRoundTripAndTravelUnderTagFour() throws {
        var hosts = [Self.host("a"), Self.host("b", estimate: Self.estimate)]
        hosts[1].groupManagerID = "gm-2"
        let reply = Self.reply(hosts: hosts)
        try expectRoundTrip(.managerStatusReply(reply), requestID: 9, flags: .response)
        let estimatesOnly = hex(
            payloadBytes(
                .managerStatusReply(Self.reply(hosts: [Self.host("a"), Self.host("b", estimate: Self.estimate)]))
            )
        )
        let withGroupManagers = hex(payloadBytes(.managerStatusReply(reply)))
        // The field count goes from one to two, and the groupManagers field follows the estimates one.
        let area = [
            "0004", "0000000a",  // tag groupManagers, 10 bytes
            "0002",  // two hosts
            "0000",  // a: none
            "0004", "676d2d32",  // b: "gm-2"
        ]
        #expect(withGroupManagers.hasSuffix(area.joined()))
        #expect(withGroupManagers.count == estimatesOnly.count + 2 * (2 + 4 + 10))
        // The size used for paging counts it.
        #expect(payloadBytes(.managerStatusReply(reply)).readableBytes <= reply.encodedSize)
    }

    @Test func anOldDecoderSkipsGroupManagers() throws {
        var host = Self.host("a")
        host.groupManagerID = "gm-1"
        var payload = payloadBytes(.managerStatusReply(Self.reply(hosts: [host])))
        let fixed = try ManagerStatusReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.managerStatusReply).map(\.tag) == [0x0004])
        #expect(fixed == Self.reply(hosts: [Self.host("a")]))
    }

    @Test func malformedGroupManagersAreRejected() {
        // Two entries for one host.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "groupManagers.count", value: 2)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0004 00000006 0002 0000 0000")
            )
        }
        // A name promised but cut short.
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "groupManagers.id")) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0004 00000005 0001 0004 67")
            )
        }
        // Bytes after the list.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "groupManagers.length", value: 5)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0004 00000005 0001 0000 ee")
            )
        }
    }

    // Extension tag 0x0005, cordons: hosts out of service for maintenance, with why.

    @Test func cordonsRoundTripAndTravelUnderTagFive() throws {
        var hosts = [Self.host("a"), Self.host("b"), Self.host("c")]
        hosts[1].cordonReason = "ram"
        hosts[2].cordonReason = ""
        let reply = Self.reply(hosts: hosts)
        try expectRoundTrip(.managerStatusReply(reply), requestID: 9, flags: .response)
        let bytes = hex(payloadBytes(.managerStatusReply(reply)))
        let area = [
            "0005", "0000000c",  // tag cordons, 12 bytes
            "0003",  // three hosts
            "00",  // a: in service
            "01", "0003", "72616d",  // b: "ram"
            "01", "0000",  // c: cordoned, no reason
        ]
        #expect(bytes.hasSuffix(area.joined()))
        // The size used for paging counts it.
        #expect(payloadBytes(.managerStatusReply(reply)).readableBytes <= reply.encodedSize)
        // Not sent while no host is cordoned.
        var plain = payloadBytes(.managerStatusReply(Self.reply(hosts: [Self.host("a")])))
        _ = try ManagerStatusReply.decode(from: &plain)
        #expect(try plain.readWireExtensionArea(.managerStatusReply).isEmpty)
    }

    @Test func anOldDecoderSkipsCordons() throws {
        var host = Self.host("a")
        host.cordonReason = "ram"
        var payload = payloadBytes(.managerStatusReply(Self.reply(hosts: [host])))
        let fixed = try ManagerStatusReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.managerStatusReply).map(\.tag) == [0x0005])
        #expect(fixed == Self.reply(hosts: [Self.host("a")]))
    }

    @Test func malformedCordonsAreRejected() {
        // Two entries for one host.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "cordons.count", value: 2)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0005 00000004 0002 00 00")
            )
        }
        // A presence byte that is neither 0 nor 1.
        #expect(throws: WireError.self) {
            try decodePayload(.managerStatusReply, Self.minimalHostPayload(extensionArea: "0001 0005 00000003 0001 02"))
        }
        // A reason promised but cut short.
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "cordons.reason")) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0005 00000006 0001 01 0004 67")
            )
        }
        // Bytes after the list.
        #expect(throws: WireError.invalidValue(message: .managerStatusReply, field: "cordons.length", value: 4)) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0005 00000004 0001 00 ee")
            )
        }
    }

    // Extension tag 0x0006, hypervisorProblems: hosts whose libvirtd does not answer, with what their agent said.

    @Test func hypervisorProblemsRoundTripAndTravelUnderTagSix() throws {
        var hosts = [Self.host("a"), Self.host("b")]
        hosts[0].hypervisorProblem = "down"
        let reply = Self.reply(hosts: hosts)
        try expectRoundTrip(.managerStatusReply(reply), requestID: 9, flags: .response)
        let area = [
            "0006", "0000000a",  // tag hypervisorProblems, 10 bytes
            "0002",  // two hosts
            "01", "0004", "646f776e",  // a: "down"
            "00",  // b: answers
        ]
        #expect(hex(payloadBytes(.managerStatusReply(reply))).hasSuffix(area.joined()))
        #expect(payloadBytes(.managerStatusReply(reply)).readableBytes <= reply.encodedSize)
        // An old decoder skips it.
        var payload = payloadBytes(.managerStatusReply(reply))
        let fixed = try ManagerStatusReply.decode(from: &payload)
        #expect(try payload.readWireExtensionArea(.managerStatusReply).map(\.tag) == [0x0006])
        #expect(fixed == Self.reply(hosts: [Self.host("a"), Self.host("b")]))
    }

    @Test func malformedHypervisorProblemsAreRejected() {
        #expect(
            throws: WireError.invalidValue(message: .managerStatusReply, field: "hypervisorProblems.count", value: 2)
        ) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0006 00000004 0002 00 00")
            )
        }
        #expect(throws: WireError.truncated(message: .managerStatusReply, field: "hypervisorProblems.problem")) {
            try decodePayload(
                .managerStatusReply,
                Self.minimalHostPayload(extensionArea: "0001 0006 00000006 0001 01 0004 67")
            )
        }
    }
}

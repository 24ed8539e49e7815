import NIOCore
import Testing
import Wire

/// The `page` extension fields of ManagerStatusRequest/Reply and EnergyRequest/Reply, and both sides of paging.
@Suite struct HostPageTests {
    static let requestTypes: [WireMessageType] = [.managerStatusRequest, .energyRequest]
    static let replyTypes: [WireMessageType] = [.managerStatusReply, .energyReply]

    static func request(_ type: WireMessageType, page: HostPageRequest?) -> WireMessage {
        type == .energyRequest
            ? .energyRequest(EnergyRequest(page: page)) : .managerStatusRequest(ManagerStatusRequest(page: page))
    }

    static func page(of message: WireMessage) -> HostPageRequest? {
        switch message {
        case .managerStatusRequest(let request): request.page
        case .energyRequest(let request): request.page
        default: nil
        }
    }

    /// A reply of `type` with no host, written by hand, ending in the extension area `area` (hex).
    static func emptyReplyPayload(_ type: WireMessageType, extensionArea area: String) -> ByteBuffer {
        var payload = ByteBuffer()
        if type == .energyReply {
            payload.writeInteger(UInt64(0))  // millisecondsMeasured
        } else {
            payload.writeInteger(UInt32(0))  // managerID "", softwareVersion ""
            payload.writeInteger(UInt64(0))  // uptimeSeconds
            payload.writeInteger(UInt32(0))  // heartbeatTimeoutMilliseconds
        }
        payload.writeInteger(UInt16(0))  // hosts: 0
        payload.writeImmutableBuffer(hexBytes(area))
        return payload
    }

    static func replyPage(_ message: WireMessage) -> HostPageInfo? {
        switch message {
        case .managerStatusReply(let reply): reply.page
        case .energyReply(let reply): reply.page
        default: nil
        }
    }

    // MARK: Requests

    @Test(
        arguments: requestTypes,
        [
            nil, HostPageRequest(), HostPageRequest(afterHostID: "h-0042", limit: 500),
            HostPageRequest(afterHostID: "", limit: .max), HostPageRequest(afterHostID: Samples.unicodeName, limit: 1),
        ]
    )
    func requestPagesRoundTrip(type: WireMessageType, page: HostPageRequest?) throws {
        try expectRoundTrip(Self.request(type, page: page), requestID: 3)
    }

    @Test(arguments: requestTypes)
    func aRequestWithoutPageIsTheVersionOneBytes(type: WireMessageType) {
        #expect(hex(payloadBytes(Self.request(type, page: nil))) == "0000")
    }

    @Test(arguments: requestTypes)
    func requestPageTravelsUnderTagOne(type: WireMessageType) {
        let page = HostPageRequest(afterHostID: "h2", limit: 500)
        // One field, tag 1, 7 bytes: afterHostID present "h2", limit 500.
        #expect(
            hex(payloadBytes(Self.request(type, page: page))) == "0001" + "0001" + "00000007" + "0100026832" + "01f4"
        )
    }

    @Test(arguments: requestTypes)
    func anOldManagerSkipsTheRequestPage(type: WireMessageType) throws {
        var payload = payloadBytes(Self.request(type, page: HostPageRequest(afterHostID: "a", limit: 9)))
        // What a decoder from before the tag does: no fixed fields, then every extension field skipped.
        #expect(try payload.readWireExtensionArea(type).map(\.tag) == [0x0001])
        #expect(payload.readableBytes == 0)
    }

    @Test(arguments: requestTypes)
    func unknownTagsBesidePageAreSkipped(type: WireMessageType) throws {
        let decoded = try decodePayload(type, hexBytes("0002 7f01 00000002 abcd 0001 00000003 00 0005"))
        #expect(Self.page(of: decoded) == HostPageRequest(afterHostID: nil, limit: 5))
    }

    static let malformedRequestPages: [(String, WireError)] = [
        ("0001 0001 00000000", .truncated(message: .managerStatusRequest, field: "page.afterHostID")),
        ("0001 0001 00000001 00", .truncated(message: .managerStatusRequest, field: "page.limit")),
        (
            "0001 0001 00000003 02 0000",
            .invalidValue(message: .managerStatusRequest, field: "page.afterHostID", value: 2)
        ),
        ("0001 0001 00000003 01 0005", .truncated(message: .managerStatusRequest, field: "page.afterHostID")),
        ("0001 0001 00000006 01 0001 ff 0000", .invalidUTF8(message: .managerStatusRequest, field: "page.afterHostID")),
        (
            "0001 0001 00000004 00 0000 ee",
            .invalidValue(message: .managerStatusRequest, field: "page.length", value: 4)
        ),
    ]

    @Test(arguments: requestTypes, malformedRequestPages)
    func malformedRequestPagesAreRejected(type: WireMessageType, malformed: (String, WireError)) {
        let expected: WireError =
            switch malformed.1 {
            case .truncated(_, let field): .truncated(message: type, field: field)
            case .invalidValue(_, let field, let value): .invalidValue(message: type, field: field, value: value)
            case .invalidUTF8(_, let field): .invalidUTF8(message: type, field: field)
            default: malformed.1
            }
        #expect(throws: expected, "\(malformed.0)") {
            try decodePayload(type, hexBytes(malformed.0))
        }
    }

    // MARK: Replies

    @Test(
        arguments: replyTypes,
        [nil, HostPageInfo(totalHosts: 0, more: false), HostPageInfo(totalHosts: .max, more: true)]
    )
    func replyPagesRoundTrip(type: WireMessageType, page: HostPageInfo?) throws {
        let message: WireMessage =
            type == .energyReply
            ? .energyReply(EnergyReply(millisecondsMeasured: 5, hosts: [EnergyReplyTests.host()], page: page))
            : .managerStatusReply(
                ManagerStatusReplyTests.reply(hosts: [ManagerStatusReplyTests.host("a", inState: 1, watts: 80)])
                    .withPage(page)
            )
        try expectRoundTrip(message, requestID: 3, flags: .response)
    }

    @Test func managerStatusPageFollowsHostPowerUnderTagTwo() {
        let powered = ManagerStatusReplyTests.reply(hosts: [
            ManagerStatusReplyTests.host("a", inState: 1_000, watts: 96)
        ])
        let fixed = String(
            hex(
                payloadBytes(
                    .managerStatusReply(ManagerStatusReplyTests.reply(hosts: [ManagerStatusReplyTests.host("a")]))
                )
            ).dropLast(4)
        )
        let old = hex(payloadBytes(.managerStatusReply(powered)))
        #expect(old.hasPrefix(fixed + "0001"))
        let hostPower = String(old.dropFirst(fixed.count + 4))
        // The version-1 fixed fields and the hostPower field stay; the count goes to 2 and page follows.
        let expected = fixed + "0002" + hostPower + "0002" + "00000005" + "00002ee0" + "01"
        let paged = powered.withPage(HostPageInfo(totalHosts: 12_000, more: true))
        #expect(hex(payloadBytes(.managerStatusReply(paged))) == expected)
    }

    @Test(arguments: replyTypes)
    func anOldClientSkipsTheReplyPage(type: WireMessageType) throws {
        let payload = Self.emptyReplyPayload(
            type,
            extensionArea: "0001" + (type == .energyReply ? "0001" : "0002") + "00000005 00000007 01"
        )
        let decoded = try decodePayload(type, payload)
        #expect(Self.replyPage(decoded) == HostPageInfo(totalHosts: 7, more: true))
        // A decoder from before the tag reads the same fixed fields and skips it.
        var bytes = payload
        switch type {
        case .energyReply: _ = try EnergyReply.decode(from: &bytes)
        default: _ = try ManagerStatusReply.decode(from: &bytes)
        }
        #expect(try bytes.readWireExtensionArea(type).count == 1)
        #expect(bytes.readableBytes == 0)
    }

    @Test(arguments: replyTypes)
    func malformedReplyPagesAreRejected(type: WireMessageType) {
        let tag = type == .energyReply ? "0001" : "0002"
        let cases: [(String, WireError)] = [
            ("00000003 000000", .truncated(message: type, field: "page.totalHosts")),
            ("00000004 00000001", .truncated(message: type, field: "page.more")),
            ("00000005 00000001 02", .invalidValue(message: type, field: "page.more", value: 2)),
            ("00000006 00000001 01 ee", .invalidValue(message: type, field: "page.length", value: 6)),
        ]
        for (field, error) in cases {
            #expect(throws: error, "\(field)") {
                try decodePayload(type, Self.emptyReplyPayload(type, extensionArea: "0001 \(tag) \(field)"))
            }
        }
    }

    // MARK: Sizes

    @Test func managerStatusHostSizesMatchTheEncoder() {
        var hosts = [
            ManagerStatusReplyTests.host("a", inState: 1_000, watts: 96, estimate: ManagerStatusReplyTests.estimate),
            ManagerStatusReplyTests.host(Samples.unicodeName, sinceReport: nil, usage: nil, inState: nil, watts: 1),
            ManagerStatusReplyTests.host(String(repeating: "h", count: 300), inState: 5, watts: nil),
        ]
        hosts[0].groupManagerID = "gm-1"
        hosts[1].cordonReason = "new DIMMs"
        hosts[2].hypervisorProblem = "libvirtd down"
        // A host with power, an estimate, a group manager, a cordon and a hypervisor problem keeps the five extension
        // fields present: their own 6 + 2 bytes each are overhead, not the measured host's.
        var anchor = ManagerStatusReplyTests.host("z", inState: 1, watts: 1, estimate: ManagerStatusReplyTests.estimate)
        anchor.groupManagerID = "gm-9"
        anchor.cordonReason = ""
        anchor.hypervisorProblem = ""
        let alone = payloadBytes(.managerStatusReply(ManagerStatusReplyTests.reply(hosts: [anchor]))).readableBytes
        for host in hosts {
            let both = payloadBytes(.managerStatusReply(ManagerStatusReplyTests.reply(hosts: [host, anchor])))
            #expect(both.readableBytes - alone == ManagerStatusReply.encodedSize(of: host), "\(host.hostID)")
        }
        var reply = ManagerStatusReplyTests.reply(hosts: hosts)
        reply.page = HostPageInfo(totalHosts: 3, more: false)
        #expect(reply.encodedSize == payloadBytes(.managerStatusReply(reply)).readableBytes)
        reply.page = nil
        #expect(reply.encodedSize > payloadBytes(.managerStatusReply(reply)).readableBytes)
    }

    @Test func energyHostSizesMatchTheEncoder() {
        let hosts = [
            EnergyReplyTests.host(),
            EnergyReplyTests.host(Samples.unicodeName, watts: nil, sinceReading: nil),
            EnergyReplyTests.host("b", readingError: String(repeating: "é", count: 400)),
        ]
        let empty = payloadBytes(.energyReply(EnergyReply(millisecondsMeasured: 0, hosts: []))).readableBytes
        for host in hosts {
            let one = payloadBytes(.energyReply(EnergyReply(millisecondsMeasured: 0, hosts: [host]))).readableBytes
            #expect(one - empty == EnergyReply.encodedSize(of: host), "\(host.hostID)")
        }
        let reply = EnergyReply(millisecondsMeasured: 0, hosts: hosts, page: HostPageInfo(totalHosts: 3, more: false))
        #expect(reply.encodedSize == payloadBytes(.energyReply(reply)).readableBytes)
    }

    // MARK: Cutting pages

    static let ids = (0..<10).map { "h\($0)" }

    static func cut(_ request: HostPageRequest, budget: Int = .max, size: Int = 1) -> ([String], HostPageInfo) {
        let (hosts, info) = HostPaging.page(
            of: ids,
            hostID: { $0 },
            request: request,
            byteBudget: budget,
            size: { _ in size }
        )
        return (Array(hosts), info)
    }

    @Test func aPageStartsAfterTheCursorAndStopsAtTheLimit() {
        #expect(Self.cut(HostPageRequest(limit: 3)) == (["h0", "h1", "h2"], HostPageInfo(totalHosts: 10, more: true)))
        #expect(Self.cut(HostPageRequest(afterHostID: "h2", limit: 3)).0 == ["h3", "h4", "h5"])
        // A cursor between ids (a host that left): the next id after it.
        #expect(Self.cut(HostPageRequest(afterHostID: "h22", limit: 2)).0 == ["h3", "h4"])
        #expect(
            Self.cut(HostPageRequest(afterHostID: "h7")) == (["h8", "h9"], HostPageInfo(totalHosts: 10, more: false))
        )
        #expect(Self.cut(HostPageRequest(afterHostID: "h9")) == ([], HostPageInfo(totalHosts: 10, more: false)))
        #expect(Self.cut(HostPageRequest(afterHostID: "")).0 == Self.ids)
    }

    @Test func aPageStaysWithinItsByteBudgetButHoldsAtLeastOneHost() {
        #expect(Self.cut(HostPageRequest(), budget: 25, size: 10).0 == ["h0", "h1"])
        #expect(Self.cut(HostPageRequest(afterHostID: "h1"), budget: 30, size: 10).0 == ["h2", "h3", "h4"])
        // A single host over the budget still goes, alone: otherwise the client could never get past it.
        #expect(
            Self.cut(HostPageRequest(afterHostID: "h4"), budget: 5, size: 10) == (
                ["h5"], HostPageInfo(totalHosts: 10, more: true)
            )
        )
    }

    // MARK: Reading every page

    /// A manager over `hosts` answering paged requests like the real one; nil page info when `paging` is off.
    static func fetcher(
        _ hosts: [String],
        paging: Bool = true,
        pageSize: UInt16 = 4
    ) -> @Sendable (HostPageRequest) async throws -> EnergyReply {
        { request in
            let all = hosts.map { EnergyReplyTests.host($0) }
            guard paging else { return EnergyReply(millisecondsMeasured: 1, hosts: all) }
            var limited = request
            limited.limit = request.limit == 0 ? pageSize : min(request.limit, pageSize)
            let (page, info) = HostPaging.page(of: all, hostID: \.hostID, request: limited, byteBudget: .max) { _ in 1 }
            return EnergyReply(millisecondsMeasured: 1, hosts: Array(page), page: info)
        }
    }

    @Test func collectReadsEveryPageInOrder() async throws {
        let ids = (0..<11).map { String(format: "h%03d", $0) }
        let all = try await HostPaging.collect(fetch: Self.fetcher(ids))
        #expect(all.hosts.map(\.hostID) == ids)
        #expect(all.page == HostPageInfo(totalHosts: 11, more: false))
        #expect(try await HostPaging.collect(fetch: Self.fetcher([])).hosts.isEmpty)
    }

    @Test func collectTakesAnOldManagersSingleReplyAsTheWholeList() async throws {
        let asked = Counter()
        let all = try await HostPaging.collect { request in
            await asked.add()
            return try await Self.fetcher(["a", "b"], paging: false)(request)
        }
        #expect(all.hosts.map(\.hostID) == ["a", "b"])
        #expect(await asked.value == 1)
    }

    @Test func aManagerThatRepeatsItselfIsAnError() async {
        await #expect(throws: HostPagingError.noProgress(afterHostID: "a")) {
            _ = try await HostPaging.collect { _ in
                EnergyReply(
                    millisecondsMeasured: 1,
                    hosts: [EnergyReplyTests.host("a")],
                    page: HostPageInfo(totalHosts: 2, more: true)
                )
            }
        }
    }

    actor Counter {
        var value = 0
        func add() { value += 1 }
    }
}

extension ManagerStatusReply {
    func withPage(_ page: HostPageInfo?) -> ManagerStatusReply {
        var copy = self
        copy.page = page
        return copy
    }
}

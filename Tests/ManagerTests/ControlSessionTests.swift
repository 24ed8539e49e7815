import Logging
import Testing
import Wire

@testable import Manager

@Suite struct ControlSessionTests {
    static let usage = MonitoringReport.HostSample(
        cpuCoresInUse: 2.5,
        memoryInUseBytes: 4 << 30,
        networkRxBytesPerSecond: 1000,
        networkTxBytesPerSecond: 2000
    )

    static func session(_ registry: HostRegistry, startedAt: ContinuousClock.Instant) -> ControlSession {
        ControlSession(
            registry: registry,
            managerID: "mgr-test",
            softwareVersion: "9.9.9",
            heartbeatTimeout: .seconds(5),
            startedAt: startedAt,
            logger: Logger(label: "test")
        )
    }

    @Test func replyReportsAgesRingFillStatesAndConnections() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        await registry.join(HostRegistryTests.agent("h1"), at: start)
        let h2Connection = await registry.join(HostRegistryTests.agent("h2"), at: start + .seconds(1))
        let vm = Inventory.Entry(slot: 0, uuid: .zero, name: "web", state: .running, virtualCPUs: 1, memoryKiB: 1024)
        await registry.record(Inventory(hostID: "h1", vms: [vm, vm]), from: "h1")
        await registry.record(
            MonitoringReport(timestampMilliseconds: 1, host: Self.usage, vms: []),
            from: "h1",
            at: start + .seconds(2)
        )
        await registry.heartbeat(from: "h1", at: start + .seconds(3))
        // h2 has been silent 6 s of a 5 s timeout, h1 only 4 s.
        #expect(await registry.expire(timeout: .seconds(5), at: start + .seconds(7)).map(\.hostID) == ["h2"])
        await registry.disconnected("h2", connectionID: h2Connection)

        let reply = await Self.session(registry, startedAt: start - .seconds(10))
            .statusReply(at: start + .milliseconds(8_500))
        #expect(reply.managerID == "mgr-test")
        #expect(reply.softwareVersion == "9.9.9")
        #expect(reply.uptimeSeconds == 18)
        #expect(reply.heartbeatTimeoutMilliseconds == 5000)
        #expect(reply.hosts.map(\.hostID) == ["h1", "h2"])

        let h1 = try #require(reply.hosts.first)
        #expect(h1.hostname == "h1.lab")
        #expect(h1.state == .active)
        #expect(h1.connected)
        #expect(h1.millisecondsSinceHeartbeat == 5500)
        #expect(h1.millisecondsSinceReport == 6500)
        #expect(h1.ringFill == 1)
        #expect(h1.ringCapacity == 4)
        #expect(h1.vmCount == 2)
        #expect(h1.capacity.cores == 8)
        #expect(h1.usage == Self.usage)

        let h2 = try #require(reply.hosts.last)
        #expect(h2.state == .failed)
        #expect(!h2.connected)
        #expect(h2.millisecondsSinceHeartbeat == 7500)
        #expect(h2.millisecondsSinceReport == nil)
        #expect(h2.ringFill == 0)
        #expect(h2.vmCount == 0)
        #expect(h2.usage == nil)
    }

    @Test func anOldConnectionEndingDoesNotDisconnectTheRejoinedHost() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        let first = await registry.join(HostRegistryTests.agent("h1"), at: start)
        let second = await registry.join(HostRegistryTests.agent("h1"), at: start + .seconds(1))
        await registry.disconnected("h1", connectionID: first)
        #expect(await registry.host("h1")?.connected == true)
        await registry.disconnected("h1", connectionID: second)
        #expect(await registry.host("h1")?.connected == false)
    }

    @Test func answersStatusAndRefusesOtherRequests() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        let session = Self.session(registry, startedAt: start)
        let status = await session.answer(.managerStatusRequest(ManagerStatusRequest()), at: start)
        guard case .managerStatusReply(let reply) = status else {
            Issue.record("no ManagerStatusReply")
            return
        }
        #expect(reply.hosts.isEmpty)
        guard case .commandResult(let result) = await session.answer(.statusRequest(StatusRequest()), at: start) else {
            Issue.record("no CommandResult")
            return
        }
        #expect(result.code == .unsupported)
        #expect(await session.answer(.heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0)), at: start) == nil)
    }

    /// A registry of `count` hosts, each having reported once, with ids as long as a UUID.
    static func crowdedRegistry(_ count: Int, at start: ContinuousClock.Instant) async -> HostRegistry {
        var quiet = Logger(label: "test")
        quiet.logLevel = .warning
        let registry = HostRegistry(ringCapacity: 4, logger: quiet)
        for index in 0..<count {
            let id = "host-\(String(format: "%031d", index))"
            await registry.join(HostRegistryTests.agent(id), at: start)
            await registry.record(
                MonitoringReport(timestampMilliseconds: 1, host: Self.usage, vms: []),
                from: id,
                at: start
            )
        }
        return registry
    }

    /// Before paging, 15,000 hosts made one ManagerStatusReply over the 1 MiB frame limit that every client
    /// refused. Now each page fits well under it, and reading the pages gives every host once, in order.
    @Test(.timeLimit(.minutes(2)))
    func fifteenThousandHostsArriveInPagesUnderTheFrameLimit() async throws {
        let start = ContinuousClock.now
        let registry = await Self.crowdedRegistry(15_000, at: start)
        let session = Self.session(registry, startedAt: start)
        let limit = WireFrameDecoder.defaultMaximumPayloadLength

        // All at once, as a client from before paging asks: too large for a frame, refused with the reason.
        guard
            case .commandResult(let refusal) = await session.answer(
                .managerStatusRequest(ManagerStatusRequest()),
                at: start
            )
        else {
            Issue.record("an unpaged request for 15,000 hosts got a reply the client would refuse")
            return
        }
        #expect(refusal.code == .unsupported)
        #expect(refusal.message.contains("15000 hosts"), "\(refusal.message)")
        #expect(refusal.message.contains("over the 1 MiB frame limit"), "\(refusal.message)")
        let whole = await session.statusReply(at: start)
        #expect(WireMessage.managerStatusReply(whole).encodedPayloadSize > limit)

        var frames: [Int] = []
        let all = try await HostPaging.collect { page in
            let answer = try #require(
                await session.answer(.managerStatusRequest(ManagerStatusRequest(page: page)), at: start)
            )
            frames.append(answer.encodedPayloadSize)
            guard case .managerStatusReply(let reply) = answer else {
                throw HostPagingError.noProgress(afterHostID: nil)
            }
            return reply
        }
        #expect(all.hosts.count == 15_000)
        #expect(all.hosts.map(\.hostID) == whole.hosts.map(\.hostID))
        #expect(all.page == HostPageInfo(totalHosts: 15_000, more: false))
        #expect(frames.count > 2)
        #expect(frames.allSatisfy { $0 <= limit / 2 }, "\(frames)")
    }

    @Test(.timeLimit(.minutes(2)))
    func energyOfFifteenThousandHostsArrivesInPages() async throws {
        let start = ContinuousClock.now
        let session = Self.session(await Self.crowdedRegistry(15_000, at: start), startedAt: start)
        guard case .commandResult(let refusal) = await session.answer(.energyRequest(EnergyRequest()), at: start) else {
            Issue.record("an unpaged energy request for 15,000 hosts got a reply the client would refuse")
            return
        }
        #expect(refusal.message.contains("over the 1 MiB frame limit"), "\(refusal.message)")
        var frames: [Int] = []
        let all = try await HostPaging.collect { page in
            let answer = try #require(await session.answer(.energyRequest(EnergyRequest(page: page)), at: start))
            frames.append(answer.encodedPayloadSize)
            guard case .energyReply(let reply) = answer else { throw HostPagingError.noProgress(afterHostID: nil) }
            return reply
        }
        #expect(Set(all.hosts.map(\.hostID)).count == 15_000)
        #expect(all.hosts.allSatisfy { $0.readingError == "no BMC configured" })
        #expect(frames.count > 2 && frames.allSatisfy { $0 <= WireFrameDecoder.defaultMaximumPayloadLength / 2 })
    }

    @Test func aPageHoldsTheHostsAfterTheCursorAndAnUnpagedSmallListIsAnsweredWhole() async throws {
        let start = ContinuousClock.now
        let session = Self.session(await Self.crowdedRegistry(5, at: start), startedAt: start)
        let first = await session.statusReply(at: start, page: HostPageRequest(limit: 2))
        #expect(
            first.hosts.map(\.hostID) == ["host-\(String(format: "%031d", 0))", "host-\(String(format: "%031d", 1))"]
        )
        #expect(first.page == HostPageInfo(totalHosts: 5, more: true))
        let last = await session.statusReply(
            at: start,
            page: HostPageRequest(afterHostID: first.hosts[1].hostID, limit: 9)
        )
        #expect(last.hosts.count == 3)
        #expect(last.page == HostPageInfo(totalHosts: 5, more: false))
        guard
            case .managerStatusReply(let whole) = await session.answer(
                .managerStatusRequest(ManagerStatusRequest()),
                at: start
            )
        else {
            Issue.record("a small unpaged request was refused")
            return
        }
        #expect(whole.hosts.count == 5)
        #expect(whole.page == nil)
    }

    /// The longest ids and hostnames a string can hold (65,535 bytes each): a page still fits well under the limit.
    @Test func pagesOfMaximalHostsStayWellUnderTheFrameLimit() async throws {
        var quiet = Logger(label: "test")
        quiet.logLevel = .warning
        let registry = HostRegistry(ringCapacity: 4, logger: quiet)
        let start = ContinuousClock.now
        var ids: [String] = []
        for index in 0..<12 {
            let id = String(repeating: "\(index % 10)", count: 65_535 - 2) + String(format: "%02d", index)
            var agent = HostRegistryTests.agent(id)
            agent.hostname = String(repeating: "h", count: 65_535)
            await registry.join(agent, at: start)
            await registry.record(
                MonitoringReport(timestampMilliseconds: 1, host: Self.usage, vms: []),
                from: id,
                at: start
            )
            ids.append(id)
        }
        let session = Self.session(registry, startedAt: start)
        var frames: [Int] = []
        let all = try await HostPaging.collect { page in
            let answer = try #require(
                await session.answer(.managerStatusRequest(ManagerStatusRequest(page: page)), at: start)
            )
            frames.append(answer.encodedPayloadSize)
            guard case .managerStatusReply(let reply) = answer else {
                throw HostPagingError.noProgress(afterHostID: nil)
            }
            return reply
        }
        #expect(all.hosts.map(\.hostID) == ids.sorted())
        #expect(frames.allSatisfy { $0 <= WireFrameDecoder.defaultMaximumPayloadLength / 4 }, "\(frames)")
    }
}

import Logging
import Transport
import Wire

/// The bootstrap role: the first contact for control peers (agentctl, the torpor CLI). It answers diagnostics
/// from the group manager's registry and hands cluster requests to the group leader.
public struct ControlSession: Sendable {
    public let registry: any HostStatusSource
    /// Where cluster requests go; nil in a manager that plays no leader role (then they are refused).
    public let leader: GroupLeader?
    /// The hosts' measured power; nil when no host has a BMC configured.
    public let powerMonitor: PowerMonitor?
    public let managerID: String
    public let softwareVersion: String
    public let heartbeatTimeout: Duration
    public let startedAt: ContinuousClock.Instant
    public let logger: Logger
    /// Answers `torpor cluster consolidate`; nil in a manager that runs no consolidation (then it is refused).
    public let consolidation: ConsolidationLoop?
    /// The address this manager gives as the leader's in a LeaderReply (`coordination.advertise`, else `listen`);
    /// nil: LeaderQuery is answered `unsupported`.
    public let advertise: String?

    public init(
        registry: any HostStatusSource,
        leader: GroupLeader? = nil,
        powerMonitor: PowerMonitor? = nil,
        managerID: String,
        softwareVersion: String,
        heartbeatTimeout: Duration,
        startedAt: ContinuousClock.Instant,
        logger: Logger,
        consolidation: ConsolidationLoop? = nil,
        advertise: String? = nil
    ) {
        self.advertise = advertise
        self.consolidation = consolidation
        self.registry = registry
        self.leader = leader
        self.powerMonitor = powerMonitor
        self.managerID = managerID
        self.softwareVersion = softwareVersion
        self.heartbeatTimeout = heartbeatTimeout
        self.startedAt = startedAt
        self.logger = logger
    }

    func serve(_ connection: WireConnection) async throws {
        // Each request in its own child task (a long task wait must not hold up a status query), as many at once
        // as the connection allows (`connections.max_requests_per_connection`); more are answered busy. An
        // EventSubscription is answered `ok` at once and its events are pushed from a task of their own until the
        // connection closes.
        let (subscriptions, subscribed) = AsyncStream.makeStream(of: Wire.EventSubscription.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { subscribed.finish() }
                try await connection.serveRequests { envelope in
                    if case .eventSubscription(let request) = envelope.message {
                        guard leader != nil else {
                            return .commandResult(
                                CommandResult(code: .unsupported, message: "this manager is not a group leader")
                            )
                        }
                        subscribed.yield(request)
                        return .commandResult(CommandResult(code: .ok, message: "subscribed"))
                    }
                    return await answer(envelope.message, at: .now)
                }
            }
            for await request in subscriptions {
                guard let leader else { continue }
                group.addTask { await Self.push(leader.events, request, to: connection) }
            }
            try await group.waitForAll()
        }
    }

    /// Pushes an EventNotice per event of the subscribed exchanges until the connection closes; events lost to a
    /// slow reader are counted on the next notice.
    static func push(_ bus: EventBus, _ request: Wire.EventSubscription, to connection: WireConnection) async {
        let capacity = request.bufferEvents == 0 ? EventBus.defaultCapacity : Int(min(request.bufferEvents, 1_000_000))
        let subscription = bus.subscribe(capacity: capacity)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await connection.waitUntilClosed()
                subscription.close()
            }
            var dropped: UInt64 = 0
            for await delivery in subscription {
                switch delivery {
                case .dropped(let count):
                    dropped += count
                case .event(let event):
                    guard request.exchanges.contains(event.exchange.subscriptionBit) else { continue }
                    do {
                        try await connection.send(.eventNotice(event.notice(droppedBefore: dropped)))
                        dropped = 0
                    } catch {
                        await connection.close()
                    }
                }
            }
        }
    }

    /// A page holds hosts worth at most a quarter of the frame limit, so that even a page of hosts with 64 KiB ids
    /// and hostnames fits with room to spare (a page always holds one host; usually over a thousand).
    public static let pageByteBudget = WireFrameDecoder.defaultMaximumPayloadLength / 4
    /// The frame limit of the clients' receiving side: an unpaged reply over it is refused rather than sent.
    static let clientFrameLimit = WireFrameDecoder.defaultMaximumPayloadLength

    /// The reply to one message; nil for pushes that need none.
    public func answer(_ message: WireMessage, at now: ContinuousClock.Instant) async -> WireMessage? {
        switch message {
        case .leaderQuery:
            // Serving control peers means leading (a standby answers from StandbyListener): name ourselves.
            guard let advertise else {
                return .commandResult(CommandResult(code: .unsupported, message: "this manager does not say who leads"))
            }
            return .leaderReply(LeaderReply(leader: .elected(managerID: managerID, address: advertise)))
        case .managerStatusRequest(let request):
            let reply = await statusReply(at: now, page: request.page)
            guard request.page != nil else {
                return unpagedRefusal(bytes: reply.encodedSize, hosts: reply.hosts.count) ?? .managerStatusReply(reply)
            }
            return .managerStatusReply(reply)
        case .clusterRequest(.consolidate(let dryRun)):
            guard let consolidation else {
                return .commandResult(CommandResult(code: .unsupported, message: "this manager runs no consolidation"))
            }
            return .consolidationReply(await consolidation.consolidate(dryRun: dryRun))
        case .clusterRequest(let request):
            guard let leader else {
                return .commandResult(CommandResult(code: .unsupported, message: "this manager is not a group leader"))
            }
            let reply: WireMessage
            do throws(WireValidationError) {
                reply = await leader.handle(try request.validated())
            } catch {
                return .commandResult(CommandResult(code: .invalidArgument, message: "\(error)"))
            }
            // A retired host's BMC is no longer read.
            if case .removeHost(let host, _) = request, case .commandResult(let result) = reply, result.isOK {
                await powerMonitor?.forget(host)
            }
            return reply
        case .hostPowerRequest(let request):
            guard let leader else {
                return .commandResult(CommandResult(code: .unsupported, message: "this manager is not a group leader"))
            }
            return .commandResult(await leader.handle(request))
        case .energyRequest(let request):
            let reply = await energyReply(at: now, page: request.page)
            guard request.page != nil else {
                return unpagedRefusal(bytes: reply.encodedSize, hosts: reply.hosts.count) ?? .energyReply(reply)
            }
            return .energyReply(reply)
        case .heartbeat, .welcome, .commandResult:
            return nil
        default:
            logger.notice("unsupported request from control peer", metadata: [.message: "\(message.type)"])
            return .commandResult(
                CommandResult(code: .unsupported, message: "the manager does not accept \(message.type)")
            )
        }
    }

    /// A request from a client that does not page (from before paging) gets every host in one reply as long as
    /// they fit in a frame; past that, a CommandResult naming the limit instead of a frame the client would refuse.
    func unpagedRefusal(bytes: Int, hosts: Int) -> WireMessage? {
        guard bytes > Self.clientFrameLimit else { return nil }
        logger.notice(
            "unpaged host list too large for a frame",
            metadata: [.hosts: "\(hosts)", .bytes: "\(bytes)"]
        )
        return .commandResult(
            CommandResult(
                code: .unsupported,
                message: "the \(hosts) hosts take \(bytes) bytes, over the "
                    + "\(WireError.frameLimit(Self.clientFrameLimit)) frame limit: "
                    + "ask page by page (a client from before paging cannot)"
            )
        )
    }

    /// The manager's diagnostics, ages measured at `now`, with each host's latest power reading: every host, or
    /// the page `page` asks for.
    public func statusReply(at now: ContinuousClock.Instant, page: HostPageRequest? = nil) async -> ManagerStatusReply {
        var hosts = await registry.statusHosts(at: now)
        if let power = await powerMonitor?.snapshot(at: now).hosts {
            for index in hosts.indices { hosts[index].watts = power[hosts[index].hostID]?.watts }
        }
        if let cordons = await leader?.cordonReasons(), !cordons.isEmpty {
            for index in hosts.indices { hosts[index].cordonReason = cordons[hosts[index].hostID] }
        }
        var reply = ManagerStatusReply(
            managerID: managerID,
            softwareVersion: softwareVersion,
            uptimeSeconds: UInt64(max(0, (now - startedAt).components.seconds)),
            heartbeatTimeoutMilliseconds: UInt32(clamping: HostRegistry.milliseconds(heartbeatTimeout)),
            hosts: hosts
        )
        if let page {
            let (slice, info) = HostPaging.page(
                of: hosts,
                hostID: \.hostID,
                request: page,
                byteBudget: Self.pageByteBudget,
                size: ManagerStatusReply.encodedSize
            )
            reply.hosts = Array(slice)
            reply.page = info
        }
        return reply
    }

    /// `torpor energy`: every known host's state and, for hosts with a BMC, measured power and energy; every host,
    /// or the page `page` asks for.
    public func energyReply(at now: ContinuousClock.Instant, page: HostPageRequest? = nil) async -> EnergyReply {
        let snapshot = await powerMonitor?.snapshot(at: now)
        let hosts = await registry.statusHosts(at: now).map { host in
            let power = snapshot?.hosts[host.hostID]
            return EnergyReply.Host(
                hostID: host.hostID,
                state: host.state,
                millisecondsInState: host.millisecondsInState ?? 0,
                watts: power?.watts,
                millisecondsSinceReading: power?.sinceReading.map(HostRegistry.milliseconds),
                usedKilowattHours: power?.usedKWh ?? 0,
                alwaysOnKilowattHours: power?.alwaysOnKWh ?? 0,
                readingError: power == nil ? "no BMC configured" : power?.error
            )
        }
        var reply = EnergyReply(
            millisecondsMeasured: HostRegistry.milliseconds(snapshot?.measured ?? .zero),
            hosts: hosts
        )
        if let page {
            let (slice, info) = HostPaging.page(
                of: hosts,
                hostID: \.hostID,
                request: page,
                byteBudget: Self.pageByteBudget,
                size: EnergyReply.encodedSize
            )
            reply.hosts = Array(slice)
            reply.page = info
        }
        return reply
    }
}

import ConfigFile
import Etcd
import Logging
import MetricsExport
import RabbitMQ
import ServiceLifecycle
import Synchronization
import Systemd
import Transport
import Trust
import Wire

/// `torpor-manager`, playing all three of Snooze's roles, kept apart in code:
/// - bootstrap (`ControlSession`): the first contact for control peers;
/// - group leader (`GroupLeader`): virtual clusters, placement, tasks and the durable store;
/// - group manager (`GroupManager`, `HostRegistry`, `AgentSession`): agents, their monitoring, failure detection
///   and commands. The leader reaches it only through `GroupManagerEndpoint`.
///
/// `services()` opens the state and binds the listening socket (what can fail at start-up), then returns the small
/// services the executable runs as one `ServiceGroup`, in start order; on SIGTERM they stop in reverse order (see
/// `services()`).
public struct ManagerDaemon: Sendable {
    public static let version = "0.1.0"

    public let configuration: ManagerConfiguration
    public let registry: HostRegistry
    public let logger: Logger
    /// Where the manager's metrics are recorded and read at scrape time; served when `metrics.listen` is set.
    public let metrics: MetricsRegistry
    public let onListening: @Sendable (Int?) -> Void
    /// Called with the HTTP front's port once it listens (`http.listen`).
    public let onHTTPListening: @Sendable (Int) -> Void

    public init(
        configuration: ManagerConfiguration,
        logger: Logger,
        metrics: MetricsRegistry = MetricsRegistry(),
        onListening: @escaping @Sendable (Int?) -> Void = { _ in },
        onHTTPListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.onHTTPListening = onHTTPListening
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.registry = HostRegistry(
            ringCapacity: configuration.ringCapacity,
            identityHold: min(configuration.heartbeatInterval * 2, configuration.heartbeatTimeout),
            estimator: configuration.estimator.estimator,
            logger: logger
        )
        self.onListening = onListening
    }

    public enum StartupError: Error, CustomStringConvertible {
        case listen(String, reason: String)
        case httpListen(String, reason: String)
        case state(String)
        case metrics(MetricsListener.BindError)
        case tls(String)
        case secretFile(String)
        case geni(String)

        public var description: String {
            switch self {
            case .listen(let address, let reason): "cannot listen on \(address) (listen): \(reason)"
            case .httpListen(let address, let reason): "cannot listen on \(address) (http.listen): \(reason)"
            case .state(let reason): reason
            case .metrics(let error): error.description
            case .tls(let reason): reason
            case .secretFile(let reason): reason
            case .geni(let reason): reason
            }
        }
    }

    /// Opens the state database and binds the listening socket, then returns the manager's services in start
    /// order: the server, the tasks, the power monitor, the energy saver, the relocation and consolidation loop, the
    /// failure detector and systemd's readiness. Shutdown runs in reverse: systemd hears STOPPING first, decisions stop next, then the tasks, and
    /// the server, which holds the agents' connections the tasks use, closes last.
    public func services() async throws -> [any Service] {
        try configuration.checkRole(file: configuration.coordination?.sourceFile ?? ManagerConfiguration.defaultPath)
        if configuration.role == .groupManager { return try await groupManagerServices() }
        guard let coordination = configuration.coordination else { return try await soloServices() }
        return [try coordinatedService(coordination)]
    }

    /// With `coordination:`: one service that campaigns and, once elected, runs `soloServices()` (docs/ha.md).
    /// An unusable etcd TLS or credentials file throws a `ConfigError` naming the key (torpor-manager exits 64).
    func coordinatedService(_ coordination: CoordinationConfiguration) throws -> CoordinatedManagerService {
        let client: EtcdClient
        do {
            client = try EtcdClient(coordination.etcd, logger: logger)
        } catch {
            throw ConfigError(file: coordination.sourceFile, line: nil, key: "coordination.etcd", problem: "\(error)")
        }
        let (elected, electedContinuation) = AsyncStream<Void>.makeStream()
        let (stopped, stoppedContinuation) = AsyncStream<ElectionMachine.StopReason>.makeStream()
        // The elected key and its create_revision: the fence of every state write to etcd.
        let fence = Mutex<(key: String, revision: Int64)?>(nil)
        let election = Election(
            client: client,
            prefix: coordination.prefix,
            value: "\(coordination.advertise) \(configuration.managerID)",
            settings: ElectionMachine.Settings(ttlSeconds: coordination.leaseTTLSeconds),
            logger: logger,
            onChange: { change in
                switch change {
                case .leading(let key, let revision):
                    fence.withLock { $0 = (key, revision) }
                    electedContinuation.yield()
                case .stoppedLeading(let reason): stoppedContinuation.yield(reason)
                }
            }
        )
        return CoordinatedManagerService(
            election: election,
            client: client,
            elected: elected,
            stopped: stopped,
            standby: { [configuration, logger] in
                try await StandbyListener.bind(
                    configuration: configuration,
                    softwareVersion: Self.version,
                    client: client,
                    prefix: coordination.prefix,
                    logger: logger
                )
            },
            start: { [logger] in
                guard let (key, revision) = fence.withLock({ $0 }) else {
                    throw StartupError.state("elected without an election key")
                }
                let replica = EtcdStateReplica(
                    client: client,
                    prefix: coordination.statePrefix,
                    fenceKey: key,
                    fenceRevision: revision,
                    logger: logger,
                    metrics: ManagerMetrics(factory: metrics.factory)
                )
                return try await soloServices(replica: replica)
            },
            logger: logger
        )
    }

    /// The single-process manager: what runs alone (no `coordination:`) or once elected.
    /// With `replica` (an elected coordinated manager), the state database is first rebuilt from etcd, and every
    /// write is copied there.
    func soloServices(replica: EtcdStateReplica? = nil) async throws -> [any Service] {
        guard let listen = HostPort(configuration.listen, allowsPortZero: true) else {
            throw StartupError.listen(configuration.listen, reason: "not host:port")
        }
        let managerMetrics = ManagerMetrics(factory: metrics.factory)
        let security: WireSecurity
        do {
            security = try configuration.tls.security(addresses: [("listen", listen.host)])
        } catch {
            throw StartupError.tls("\(error)")
        }
        try Self.checkSecretFiles(configuration)
        let reloader = security.tls.map { RevocationReloader(trust: $0.trust, logger: logger) }
        let events = EventBus()
        // Subscribed before the leader runs, so the broker also gets what happens at start (GL_JOIN…).
        let rabbitmq = try rabbitMQPublisher(events, metrics: managerMetrics)
        let leader: GroupLeader
        let store: ManagerStore
        // With `group_managers:`, the hosts' agents are in group manager processes; else in this one.
        let estimator = configuration.estimator.estimator
        let remote = configuration.groupManagers.map {
            RemoteGroupManagers(policy: $0.assignment, estimator: estimator, logger: logger)
        }
        let hostStatus: any HostStatusSource = remote ?? registry
        do {
            store = try ManagerStore(path: configuration.database)
            if let replica { try await replica.synchronize(store) }
            try await remote?.restore(from: store)
            leader = try GroupLeader(
                store: store,
                groupManager: remote ?? GroupManager(registry: registry, logger: logger),
                configuration: configuration,
                logger: logger,
                fencing: HostFencer(configuration: configuration, logger: logger),
                metrics: managerMetrics,
                events: events
            )
        } catch {
            throw StartupError.state("cannot open the state database (database): \(error)")
        }
        let leadership = LeaderReply(
            leader: .elected(
                managerID: configuration.managerID,
                address: configuration.coordination?.advertise ?? configuration.listen
            )
        )
        let session = AgentSession(
            registry: registry,
            observer: leader,
            logHeartbeats: configuration.logHeartbeats,
            logger: logger,
            leadership: leadership
        )
        let heartbeatInterval = self.configuration.heartbeatInterval
        let groupManagerLinks = remote.map {
            GroupManagerLinkSession(
                groupManagers: $0,
                observer: leader,
                leadership: leadership,
                heartbeatInterval: heartbeatInterval,
                logger: logger
            )
        }
        let assignments = remote.map { AssignmentSession(groupManagers: $0, leadership: leadership, logger: logger) }
        let powerMonitor = PowerMonitor(configuration: configuration, logger: logger)
        let registry = self.registry
        // Relocation and consolidation: estimates from the registry, state and migrations from the leader.
        let consolidation = ConsolidationLoop(
            configuration: configuration,
            planner: PlacementLoadPlanner(configuration: configuration),
            policyName: configuration.consolidation.policy.rawValue,
            migrations: leader,
            state: { try await leader.planningState() },
            demands: { await hostStatus.demands() },
            announcer: leader,
            logger: logger
        )
        let control = ControlSession(
            registry: hostStatus,
            leader: leader,
            powerMonitor: powerMonitor,
            managerID: configuration.managerID,
            softwareVersion: Self.version,
            heartbeatTimeout: configuration.heartbeatTimeout,
            startedAt: .now,
            logger: logger,
            consolidation: consolidation,
            advertise: configuration.coordination?.advertise ?? configuration.listen
        )
        // Gauges mirroring state: read at each scrape from what `torpor hosts` and `torpor energy` show.
        metrics.onScrape {
            let now = ContinuousClock.now
            let vmStates = try? await leader.store.vms().map(\.state)
            managerMetrics.record(
                status: await control.statusReply(at: now),
                energy: await control.energyReply(at: now),
                vmStates: vmStates
            )
        }
        let configuration = self.configuration
        let metricsListener: MetricsListener?
        do {
            metricsListener = try await configuration.metrics.bindListener(registry: metrics, logger: logger)
        } catch {
            throw StartupError.metrics(error)
        }
        let server: WireServer
        do {
            server = try await WireServer.bind(
                host: listen.host,
                port: listen.port,
                configuration: configuration.connection,
                limits: configuration.serverLimits,
                security: security,
                frameCounters: WireFrameCounters(factory: metrics.factory),
                wakeupCoalescing: configuration.wakeupCoalescing,
                logger: logger,
                welcome: { [registry] hello, version in
                    // With group managers the leader admits no agent: it only tells each where to go.
                    try await Self.welcome(
                        hello,
                        version: version,
                        configuration: configuration,
                        admitting: remote == nil ? registry : nil
                    )
                },
                handler: { connection in
                    switch connection.peer.hello?.role {
                    case .control:
                        try await control.serve(connection)
                    case .manager:
                        guard let groupManagerLinks else {
                            try? await connection.send(
                                .error(
                                    ErrorMessage(
                                        code: .unsupported,
                                        message: "manager \(configuration.managerID) holds its agents itself: "
                                            + "set group_managers: on it to take group managers"
                                    )
                                )
                            )
                            return
                        }
                        try await groupManagerLinks.serve(connection)
                    case .agent:
                        guard let description = connection.peer.hello?.agent else { return }
                        if let assignments {
                            try await assignments.serve(connection, description: description)
                        } else {
                            try await session.serve(connection, description: description)
                        }
                    case nil:
                        return
                    }
                }
            )
        } catch {
            await metricsListener?.close()
            throw StartupError.listen(configuration.listen, reason: "\(error)")
        }
        onListening(server.port)
        logger.info(
            "manager ready",
            metadata: [
                .listen: "\(configuration.listen)", .port: "\(server.port ?? 0)",
                .database: "\(configuration.database)",
                .policy: "\(configuration.placementPolicy.rawValue)",
                .tls: "\(security.tls.map { "\($0.identity)" } ?? "plaintext")",
            ]
        )

        var services: [any Service] = [ServerService(server: server)]
        if let metricsListener { services.append(metricsListener) }
        services.append(TaskService(leader: leader))
        services.append(
            ReservationService(interval: configuration.reservations.checkInterval) { await leader.checkReservations() }
        )
        if powerMonitor.hasSources {
            services.append(
                PowerMonitorService(
                    monitor: powerMonitor,
                    registry: hostStatus,
                    interval: configuration.energy.powerReadingInterval,
                    store: store,
                    logger: logger
                )
            )
        }
        if configuration.energy.enabled {
            services.append(
                EnergyService(interval: configuration.energy.evaluationInterval) { await leader.evaluateEnergy() }
            )
        }
        if configuration.relocation.enabled || configuration.consolidation.schedule != nil {
            services.append(
                ConsolidationService(
                    loop: consolidation,
                    refreshInterval: configuration.estimator.refreshInterval,
                    schedule: configuration.consolidation.schedule,
                    timeZone: .current
                )
            )
        }
        if let remote, let interval = configuration.groupManagers?.rebalanceInterval, interval > .zero {
            // A group manager linked for two heartbeat timeouts is stable enough to be given hosts.
            let settle = configuration.heartbeatTimeout * 2
            services.append(
                RebalanceService(interval: interval) {
                    let busy = await leader.hostsBusyForRebalancing(at: .now)
                    await remote.rebalance(busy: busy, settle: settle, at: .now)
                }
            )
        }
        if let remote {
            // Hosts whose group manager was lost: FAILED unless they join another within the timeout.
            services.append(
                FailureDetectorService(
                    expire: { await remote.expire(timeout: $0, at: $1) },
                    timeout: configuration.heartbeatTimeout
                ) { failed in await leader.hostsFailed(failed) }
            )
        } else {
            services.append(
                FailureDetectorService(registry: registry, timeout: configuration.heartbeatTimeout) { failed in
                    await leader.hostsFailed(failed)
                }
            )
        }
        if configuration.http.enabled {
            var webView: WebViewRoutes?
            if configuration.http.webView.enabled {
                let history = EnergyHistoryRecorder(
                    capacity: configuration.http.webView.historySamples,
                    interval: configuration.http.webView.sampleInterval
                )
                services.append(
                    EnergyHistoryService(recorder: history, energy: { await control.energyReply(at: .now) })
                )
                webView = WebViewRoutes(
                    source: .manager(control: control, leader: leader),
                    history: history,
                    logger: logger
                )
            }
            services.append(try httpFront(leader: leader, wirePort: server.port ?? listen.port, webView: webView))
        }
        if let rabbitmq { services.append(rabbitmq) }
        if configuration.geni.enabled {
            let aggregate = GENIAggregate(
                leader: leader,
                store: store,
                configuration: configuration.geni,
                logger: logger
            )
            do {
                services.append(
                    try await GENIListener.bind(configuration: configuration.geni, aggregate: aggregate, logger: logger)
                )
            } catch {
                throw StartupError.geni(error.description)
            }
        }
        if let reloader { services.append(RevocationReloadService(reloader: reloader)) }
        services.append(ReadinessService(logger: logger))
        return services
    }

    /// The HTTP front with the route groups `http:` switches on.
    func httpFront(
        leader: GroupLeader,
        wirePort: Int,
        webView: WebViewRoutes? = nil
    ) throws(StartupError) -> HTTPFrontService {
        var routes: [any HTTPFrontRoutes] = []
        if configuration.http.events.enabled {
            routes.append(EventStreamRoutes(bus: leader.events, configuration: configuration.http.events))
        }
        if let webView { routes.append(webView) }
        if configuration.http.snooze.enabled {
            routes.append(
                SnoozeAPI(
                    leader: leader,
                    managerID: configuration.managerID,
                    configuration: configuration.http,
                    wirePort: wirePort,
                    hostWake: configuration.hostWake,
                    migrationTimeoutSeconds: Int(configuration.migration.timeout.components.seconds),
                    logger: logger
                )
            )
        }
        if configuration.http.hypervisorCoordinator.enabled {
            routes.append(
                HypervisorCoordinatorAPI(
                    leader: leader,
                    configuration: configuration.http.hypervisorCoordinator,
                    imagesDirectory: configuration.images.directory,
                    logger: logger
                )
            )
        }
        do {
            return try HTTPFrontService(
                configuration: configuration.http,
                routes: routes,
                logger: logger,
                onListening: onHTTPListening
            )
        } catch {
            throw .httpListen(configuration.http.listen ?? "", reason: "not host:port")
        }
    }

    /// The publisher of `events.rabbitmq`, reading its password file (checked like the BMC ones); nil without one.
    /// An unreadable password file throws a `ConfigError` naming the key.
    func rabbitMQPublisher(_ events: EventBus, metrics: ManagerMetrics) throws -> RabbitMQPublisher? {
        guard let broker = configuration.events.rabbitmq else { return nil }
        let password = try broker.readPassword()
        return RabbitMQPublisher(
            endpoint: AMQPEndpoint(
                host: broker.host,
                port: broker.port,
                virtualHost: broker.virtualHost,
                user: broker.user,
                password: password
            ),
            subscription: events.subscribe(capacity: broker.bufferEvents),
            retry: BrokerRetry(initial: broker.retryInitial, maximum: broker.retryMaximum),
            logger: logger,
            metrics: metrics
        )
    }

    /// BMC password files (`hosts.<id>.ipmi.password_file`) must not be readable by every user.
    static func checkSecretFiles(_ configuration: ManagerConfiguration) throws {
        let files = Set(configuration.hostWake.values.compactMap { $0.bmc?.passwordFile })
        for file in files.sorted() {
            do {
                try SecretFile.checkPermissions(file)
            } catch {
                throw StartupError.secretFile("hosts.*.ipmi.password_file: \(error)")
            }
        }
    }

    /// The Welcome for a peer's Hello. An agent's Hello is checked first and, with `registry`, the agent admitted
    /// to it (a second connection for a connected host's id is refused); an agent is told its intervals.
    static func welcome(
        _ hello: Hello,
        version: UInt8,
        configuration: ManagerConfiguration,
        admitting registry: HostRegistry?
    ) async throws -> Welcome {
        if hello.role == .agent {
            do throws(WireValidationError) {
                _ = try hello.validated()
            } catch {
                throw HandshakeRejection(code: .invalidValue, message: "\(error)")
            }
            if let registry, let agent = hello.agent { try await registry.admit(agent, at: .now) }
        }
        return Welcome(
            version: version,
            role: .manager,
            softwareVersion: Self.version,
            nodeName: configuration.managerID,
            assignment: hello.role == .agent
                ? Welcome.Assignment(
                    managerID: configuration.managerID,
                    heartbeatIntervalMilliseconds: milliseconds(configuration.heartbeatInterval),
                    reportIntervalMilliseconds: milliseconds(configuration.reportInterval)
                ) : nil
        )
    }

    static func milliseconds(_ duration: Duration) -> UInt32 {
        UInt32(clamping: HostRegistry.milliseconds(duration))
    }
}

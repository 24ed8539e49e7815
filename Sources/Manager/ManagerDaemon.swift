import Logging
import ServiceLifecycle
import Systemd
import Transport
import Wire

/// `torpor-manager` as one service playing all three of Snooze's roles, kept apart in code:
/// - bootstrap (`ControlSession`): the first contact for control peers;
/// - group leader (`GroupLeader`): virtual clusters, placement, tasks and the durable store;
/// - group manager (`GroupManager`, `HostRegistry`, `AgentSession`): agents, their monitoring, failure detection
///   and commands. The leader reaches it only through `GroupManagerEndpoint`.
public struct ManagerDaemon: Service {
    public static let version = "0.1.0"

    public let configuration: ManagerConfiguration
    public let registry: HostRegistry
    public let logger: Logger
    public let onListening: @Sendable (Int?) -> Void

    public init(
        configuration: ManagerConfiguration,
        logger: Logger,
        onListening: @escaping @Sendable (Int?) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.registry = HostRegistry(ringCapacity: configuration.ringCapacity, logger: logger)
        self.onListening = onListening
    }

    public enum StartupError: Error, CustomStringConvertible {
        case listen(String, reason: String)
        case state(String)

        public var description: String {
            switch self {
            case .listen(let address, let reason): "cannot listen on \(address) (listen): \(reason)"
            case .state(let reason): reason
            }
        }
    }

    public func run() async throws {
        guard let listen = HostPort(configuration.listen, allowsPortZero: true) else {
            throw StartupError.listen(configuration.listen, reason: "not host:port")
        }
        let leader: GroupLeader
        do {
            let store = try ManagerStore(path: configuration.database)
            leader = try GroupLeader(
                store: store,
                groupManager: GroupManager(registry: registry, logger: logger),
                configuration: configuration,
                logger: logger
            )
        } catch {
            throw StartupError.state("cannot open the state database (database): \(error)")
        }
        let session = AgentSession(
            registry: registry,
            observer: leader,
            logHeartbeats: configuration.logHeartbeats,
            logger: logger
        )
        let powerMonitor = PowerMonitor(configuration: configuration, logger: logger)
        let control = ControlSession(
            registry: registry,
            leader: leader,
            powerMonitor: powerMonitor,
            managerID: configuration.managerID,
            softwareVersion: Self.version,
            heartbeatTimeout: configuration.heartbeatTimeout,
            startedAt: .now,
            logger: logger
        )
        let configuration = self.configuration
        let server: WireServer
        do {
            server = try await WireServer.bind(
                host: listen.host,
                port: listen.port,
                configuration: configuration.connection,
                limits: configuration.serverLimits,
                logger: logger,
                welcome: { hello, version in
                    Welcome(
                        version: version,
                        role: .manager,
                        softwareVersion: Self.version,
                        nodeName: configuration.managerID,
                        assignment: hello.role == .agent
                            ? Welcome.Assignment(
                                managerID: configuration.managerID,
                                heartbeatIntervalMilliseconds: Self.milliseconds(configuration.heartbeatInterval),
                                reportIntervalMilliseconds: Self.milliseconds(configuration.reportInterval)
                            ) : nil
                    )
                },
                handler: { connection in
                    if connection.peer.hello?.role == .control {
                        try await control.serve(connection)
                        return
                    }
                    guard let description = connection.peer.hello?.agent else { return }
                    try await session.serve(connection, description: description)
                }
            )
        } catch {
            throw StartupError.listen(configuration.listen, reason: "\(error)")
        }
        onListening(server.port)
        logger.info(
            "manager ready",
            metadata: [
                "torpor.listen": "\(configuration.listen)", "torpor.port": "\(server.port ?? 0)",
                "torpor.database": "\(configuration.database)",
                "torpor.policy": "\(configuration.placementPolicy.rawValue)",
            ]
        )
        let notifier = SystemdNotifier()
        _ = try? notifier.ready()
        let registry = self.registry
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await server.run() }
                    group.addTask { await leader.run() }
                    if configuration.energy.enabled {
                        group.addTask {
                            while (try? await Task.sleep(for: configuration.energy.evaluationInterval)) != nil {
                                await leader.evaluateEnergy()
                            }
                        }
                    }
                    if powerMonitor.hasSources {
                        group.addTask {
                            repeat {
                                let up = await registry.all().filter(\.connected).map(\.hostID)
                                await powerMonitor.sample(awake: Set(up))
                            } while (try? await Task.sleep(for: configuration.energy.powerReadingInterval)) != nil
                        }
                    }
                    group.addTask {
                        // Failure detection: check a few times per timeout.
                        while (try? await Task.sleep(for: configuration.heartbeatTimeout / 4)) != nil {
                            let failed = await registry.expire(timeout: configuration.heartbeatTimeout, at: .now)
                            if !failed.isEmpty { await leader.hostsFailed(failed) }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            _ = try? notifier.stopping()
        }
    }

    static func milliseconds(_ duration: Duration) -> UInt32 {
        UInt32(clamping: HostRegistry.milliseconds(duration))
    }
}

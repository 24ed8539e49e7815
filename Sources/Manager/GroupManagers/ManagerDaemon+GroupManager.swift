import Logging
import MetricsExport
import ServiceLifecycle
import Transport
import Trust
import Wire

extension ManagerDaemon {
    /// `role: group-manager`: no state database and no group leader. Its agents join it on `listen` (sent by the
    /// leader), their heartbeats, monitoring and failures are kept here (`HostRegistry`, `AgentSession`, the failure
    /// detector), and `LeaderLinkService` relays them to the leader and carries its orders back. `agentctl manager`
    /// may ask it about its hosts.
    func groupManagerServices() async throws -> [any Service] {
        guard let role = configuration.groupManager else {
            throw StartupError.state("role group-manager needs group_manager.leaders")
        }
        guard let listen = HostPort(configuration.listen, allowsPortZero: true) else {
            throw StartupError.listen(configuration.listen, reason: "not host:port")
        }
        let security: WireSecurity
        do {
            security = try configuration.tls.security(addresses: [("listen", listen.host)])
        } catch {
            throw StartupError.tls("\(error)")
        }
        let reloader = security.tls.map { RevocationReloader(trust: $0.trust, logger: logger) }
        let configuration = self.configuration
        let registry = self.registry
        let relay = LeaderRelay(logger: logger)
        let session = AgentSession(
            registry: registry,
            observer: relay,
            logHeartbeats: configuration.logHeartbeats,
            logger: logger
        )
        let control = ControlSession(
            registry: registry,
            managerID: configuration.managerID,
            softwareVersion: Self.version,
            heartbeatTimeout: configuration.heartbeatTimeout,
            startedAt: .now,
            logger: logger
        )
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
                welcome: { hello, version in
                    try await Self.welcome(hello, version: version, configuration: configuration, admitting: registry)
                },
                handler: { connection in
                    switch connection.peer.hello?.role {
                    case .control:
                        try await control.serve(connection)
                    case .agent:
                        guard let description = connection.peer.hello?.agent else { return }
                        try await session.serve(connection, description: description)
                    case .manager, nil:
                        return
                    }
                }
            )
        } catch {
            await metricsListener?.close()
            throw StartupError.listen(configuration.listen, reason: "\(error)")
        }
        onListening(server.port)
        // Told to the leader, which sends agents there: the port bound when `listen` asked for any.
        var agentAddress = role.advertise
        if let port = server.port, let advertised = HostPort(role.advertise, allowsPortZero: true),
            advertised.port == 0
        {
            agentAddress = "\(advertised.host):\(port)"
        }
        var client = WireClient(
            hello: Hello(role: .manager, softwareVersion: Self.version, nodeName: configuration.managerID),
            configuration: configuration.connection,
            security: security,
            logger: logger
        )
        client.frameCounters = WireFrameCounters(factory: metrics.factory)
        logger.info(
            "group manager ready",
            metadata: [
                .listen: "\(configuration.listen)", .port: "\(server.port ?? 0)", .address: "\(agentAddress)",
                .tls: "\(security.tls.map { "\($0.identity)" } ?? "plaintext")",
            ]
        )
        var services: [any Service] = [ServerService(server: server)]
        // Its Wire frame counters (`metrics.listen`); the hosts' gauges are the leader's.
        if let metricsListener { services.append(metricsListener) }
        services.append(
            LeaderLinkService(
                following: LeaderFollowingClient(client: client, bootstrap: role.leaders),
                relay: relay,
                registry: registry,
                groupManager: GroupManager(registry: registry, logger: logger),
                agentAddress: agentAddress,
                maxHosts: role.maxHosts,
                heartbeatInterval: configuration.heartbeatInterval,
                heartbeatTimeout: configuration.heartbeatTimeout,
                reportInterval: configuration.reportInterval,
                logger: logger
            )
        )
        services.append(
            FailureDetectorService(registry: registry, timeout: configuration.heartbeatTimeout) { failed in
                await relay.hostsFailed(failed)
            }
        )
        if let reloader { services.append(RevocationReloadService(reloader: reloader)) }
        services.append(ReadinessService(logger: logger))
        return services
    }
}

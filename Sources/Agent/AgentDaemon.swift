import Foundation
import Libvirt
import Logging
import MetricsExport
import NIOCore
import ServiceLifecycle
import Systemd
import Transport
import Wire

/// The whole agent as one service: opens libvirt and listens for agentctl and managers (on the socket systemd
/// passed or one it binds), then runs its small services (`Sources/Agent/Services`) as a `ServiceGroup`: the
/// server, sampling, libvirt's lifecycle events, the link to its manager, the sleep hook's signals, systemd's
/// readiness and watchdog. Stopping the agent never touches a VM: only the agent's own tasks end.
public struct AgentDaemon: Service {
    public static let version = "0.1.0"

    public let configuration: AgentConfiguration
    public let logger: Logger
    /// Where the agent's metrics are recorded and read at scrape time; served when `metrics.listen` is set.
    public let metrics: MetricsRegistry
    /// A listening socket handed over by systemd; nil binds `configuration.listen`.
    public let listeningSocket: Int32?
    /// Called with the bound address once the agent accepts connections.
    public let onListening: @Sendable (SocketAddress?) -> Void

    public init(
        configuration: AgentConfiguration,
        listeningSocket: Int32?,
        logger: Logger,
        metrics: MetricsRegistry = MetricsRegistry(),
        onListening: @escaping @Sendable (SocketAddress?) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.listeningSocket = listeningSocket
        self.logger = logger
        self.metrics = metrics
        self.onListening = onListening
    }

    /// Errors that stop the agent before it is ready, each naming what to fix.
    public enum StartupError: Error, CustomStringConvertible {
        case libvirt(uri: String, LibvirtError)
        case listen(String, TransportError)
        case metrics(MetricsListener.BindError)
        case tls(String)

        public var description: String {
            switch self {
            case .libvirt(let uri, let error):
                "cannot use libvirt URI '\(uri)' (libvirt_uri): \(error.message.isEmpty ? "\(error)" : error.message)"
            case .listen(let address, let error): "cannot listen on \(address) (listen): \(error)"
            case .metrics(let error): error.description
            case .tls(let reason): reason
            }
        }
    }

    public func run() async throws {
        // First, so that the sleep hook's signals never meet their default action (terminate).
        let resumeSignals = ResumeSignal.stream()
        var addresses: [(setting: String, host: String)] = []
        if listeningSocket == nil { addresses.append(("listen", configuration.listen.host)) }
        if let manager = configuration.manager { addresses.append(("manager", manager.host)) }
        for manager in configuration.managers.dropFirst() { addresses.append(("managers", manager.host)) }
        let security: WireSecurity
        do {
            security = try configuration.tls.security(addresses: addresses)
        } catch {
            throw StartupError.tls("\(error)")
        }
        let reloader = security.tls.map { RevocationReloader(trust: $0.trust, logger: logger) }
        let connection: LibvirtConnection
        do {
            connection = try await LibvirtConnection.open(configuration.libvirtURI)
        } catch {
            throw StartupError.libvirt(uri: configuration.libvirtURI, error)
        }

        // Before the first inventory: a migration the previous agent process started is nobody's any more.
        await OrphanedMigrationCleanup(connection: connection, logger: logger, clock: ContinuousClock()).run()

        let agentMetrics = AgentMetrics(factory: metrics.factory)
        connection.observeCalls { agentMetrics.libvirtCall($0) }
        let linkStatus = ManagerLinkStatus(
            address: configuration.managers.isEmpty
                ? configuration.manager.map { "\($0)" }
                : configuration.managers.map(\.description).joined(separator: ",")
        )
        let monitor = try await AgentMonitor(
            configuration: configuration,
            connection: connection,
            link: linkStatus,
            logger: logger,
            metrics: agentMetrics
        )
        metrics.onScrape { await monitor.recordRingMetrics() }
        // The first round reports the VMs already running (e.g. after a restart) before anyone asks.
        await monitor.sampleOnce()
        let linkControl = ManagerLinkControl(logger: logger)
        let executor = CommandExecutor(
            connection: connection,
            power: configuration.power,
            link: linkControl,
            migration: configuration.migration,
            logger: logger,
            metrics: agentMetrics
        )
        let handler = AgentRequestHandler(
            monitor: monitor,
            executor: executor,
            agentVersion: Self.version,
            logger: logger
        )
        let hostname = configuration.hostname
        let welcome: WireServer.WelcomeProvider = { _, version in
            Welcome(version: version, role: .agent, softwareVersion: Self.version, nodeName: hostname)
        }
        let metricsListener: MetricsListener?
        do {
            metricsListener = try await configuration.metrics.bindListener(registry: metrics, logger: logger)
        } catch {
            throw StartupError.metrics(error)
        }
        let frameCounters = WireFrameCounters(factory: metrics.factory)
        let server: WireServer
        do {
            if let listeningSocket {
                server = try await WireServer.bind(
                    listeningSocket: listeningSocket,
                    configuration: configuration.connection,
                    limits: configuration.serverLimits,
                    security: security,
                    frameCounters: frameCounters,
                    logger: logger,
                    welcome: welcome
                ) { try await handler.serve($0) }
            } else {
                server = try await WireServer.bind(
                    host: configuration.listen.host,
                    port: configuration.listen.port,
                    configuration: configuration.connection,
                    limits: configuration.serverLimits,
                    security: security,
                    frameCounters: frameCounters,
                    logger: logger,
                    welcome: welcome
                ) { try await handler.serve($0) }
            }
        } catch {
            await metricsListener?.close()
            throw StartupError.listen(listeningSocket.map { "socket fd \($0)" } ?? "\(configuration.listen)", error)
        }
        if listeningSocket != nil, security.tls == nil, let ip = server.localAddress?.ipAddress,
            !WireTLSSettings.isLoopback(ip)
        {
            throw StartupError.tls(
                "the socket systemd passed listens on \(ip), not a loopback address: set tls.certificate, tls.key and "
                    + "tls.ca (docs/security.md); plaintext (tls.allow_plaintext) is for loopback only"
            )
        }
        onListening(server.localAddress)
        let inventory = await monitor.inventory()
        logger.info(
            "agent ready",
            metadata: [
                "torpor.host": "\(configuration.hostID)",
                "torpor.listen": "\(server.localAddress.map { "\($0)" } ?? "?")",
                "torpor.vms": "\(inventory.vms.count)",
                "torpor.tls": "\(security.tls.map { "\($0.identity)" } ?? "plaintext")",
            ]
        )

        let advertised = Self.reachableAddress(server.localAddress, hostname: configuration.hostname)
        let description = AgentDescription(
            hostID: configuration.hostID,
            hostname: configuration.hostname,
            capabilities: Self.capabilities(of: configuration, path: ProcessInfo.processInfo.environment["PATH"]),
            capacity: monitor.capacity,
            wake: configuration.wake,
            listenAddress: advertised,
            migrationURI: configuration.migrationURI(advertisedAddress: advertised)
        )
        // Started in this order; on graceful shutdown (the executable's group passes SIGTERM down to this one)
        // stopped in reverse: systemd hears STOPPING first, the watchdog pings until the very end.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let notifier = SystemdNotifier()
        if case .some(.some) = try? notifier.watchdogInterval {
            services.append(.init(service: WatchdogService(notifier: notifier)))
        }
        services.append(.init(service: ServerService(server: server)))
        if let metricsListener { services.append(.init(service: metricsListener)) }
        services.append(.init(service: SamplingService(monitor: monitor)))
        if configuration.releaseStartupPagesAfter > .zero {
            services.append(
                .init(
                    service: StartupPagesService(delay: configuration.releaseStartupPagesAfter, logger: logger),
                    successTerminationBehavior: .ignore
                )
            )
        }
        services.append(
            .init(
                service: LifecycleEventService(monitor: monitor, connection: connection),
                successTerminationBehavior: .ignore
            )
        )
        if let manager = configuration.manager {
            let link = ManagerLink(
                manager: manager,
                bootstrap: configuration.managers,
                description: description,
                agentVersion: Self.version,
                monitor: monitor,
                handler: handler,
                status: linkStatus,
                defaultHeartbeat: configuration.heartbeatInterval,
                defaultReportInterval: configuration.sampleInterval,
                control: linkControl,
                security: security,
                frameCounters: frameCounters,
                logger: logger
            )
            services.append(.init(service: ManagerLinkService(link: link)))
        }
        services.append(
            .init(service: ResumeSignalService(signals: resumeSignals, link: linkControl, logger: logger))
        )
        if let reloader {
            services.append(.init(service: RevocationReloadService(reloader: reloader)))
        }
        services.append(.init(service: ReadinessService(logger: logger)))
        try await ServiceGroup(configuration: .init(services: services, logger: logger)).run()
        // Closing the connection releases only the agent's handle; libvirt keeps every domain as it is.
        await connection.close()
    }

    /// What this host offers: VM lifecycle always, and each power action it has a runnable command for.
    static func capabilities(of configuration: AgentConfiguration, path: String?) -> AgentCapabilities {
        var capabilities: AgentCapabilities = [.vmLifecycle]
        // libvirt's test driver cannot migrate; every hypervisor driver the agent is used with (qemu) can.
        if !configuration.libvirtURI.hasPrefix("test:") {
            capabilities.insert(.liveMigration)
        }
        capabilities.formUnion(configuration.power.capabilities(path: path))
        return capabilities
    }

    /// The address a manager can dial back: a wildcard bind is useless to others, the hostname is not.
    static func reachableAddress(_ address: SocketAddress?, hostname: String) -> String {
        guard let address, let port = address.port else { return "" }
        let ip = address.ipAddress ?? hostname
        let host = ip == "0.0.0.0" || ip == "::" ? hostname : ip
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

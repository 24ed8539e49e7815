import Libvirt
import Logging
import NIOCore
import ServiceLifecycle
import Systemd
import Transport
import Wire

/// The whole agent as one service: opens libvirt, samples, listens for agentctl and managers (on the
/// socket systemd passed or one it binds), dials its manager, and tells systemd when it is ready, alive and
/// stopping. Stopping the agent never touches a VM: only the agent's own tasks end.
public struct AgentDaemon: Service {
    public static let version = "0.1.0"

    public let configuration: AgentConfiguration
    public let logger: Logger
    /// A listening socket handed over by systemd; nil binds `configuration.listen`.
    public let listeningSocket: Int32?
    /// Called with the bound address once the agent accepts connections.
    public let onListening: @Sendable (SocketAddress?) -> Void

    public init(
        configuration: AgentConfiguration,
        listeningSocket: Int32?,
        logger: Logger,
        onListening: @escaping @Sendable (SocketAddress?) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.listeningSocket = listeningSocket
        self.logger = logger
        self.onListening = onListening
    }

    /// Errors that stop the agent before it is ready, each naming what to fix.
    public enum StartupError: Error, CustomStringConvertible {
        case libvirt(uri: String, LibvirtError)
        case listen(String, TransportError)

        public var description: String {
            switch self {
            case .libvirt(let uri, let error):
                "cannot use libvirt URI '\(uri)' (libvirt_uri): \(error.message.isEmpty ? "\(error)" : error.message)"
            case .listen(let address, let error): "cannot listen on \(address) (listen): \(error)"
            }
        }
    }

    public func run() async throws {
        // First, so that the sleep hook's signals never meet their default action (terminate).
        let resumeSignals = ResumeSignal.stream()
        let notifier = SystemdNotifier()
        let connection: LibvirtConnection
        do {
            connection = try await LibvirtConnection.open(configuration.libvirtURI)
        } catch {
            throw StartupError.libvirt(uri: configuration.libvirtURI, error)
        }

        let linkStatus = ManagerLinkStatus(address: configuration.manager.map { "\($0)" })
        let monitor = try await AgentMonitor(
            configuration: configuration,
            connection: connection,
            link: linkStatus,
            logger: logger
        )
        // The first round reports the VMs already running (e.g. after a restart) before anyone asks.
        await monitor.sampleOnce()
        let linkControl = ManagerLinkControl(logger: logger)
        let executor = CommandExecutor(
            connection: connection,
            power: configuration.power,
            link: linkControl,
            logger: logger
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
        let server: WireServer
        do {
            if let listeningSocket {
                server = try await WireServer.bind(
                    listeningSocket: listeningSocket,
                    configuration: configuration.connection,
                    limits: configuration.serverLimits,
                    logger: logger,
                    welcome: welcome
                ) { try await handler.serve($0) }
            } else {
                server = try await WireServer.bind(
                    host: configuration.listen.host,
                    port: configuration.listen.port,
                    configuration: configuration.connection,
                    limits: configuration.serverLimits,
                    logger: logger,
                    welcome: welcome
                ) { try await handler.serve($0) }
            }
        } catch {
            throw StartupError.listen(listeningSocket.map { "socket fd \($0)" } ?? "\(configuration.listen)", error)
        }
        onListening(server.localAddress)
        let inventory = await monitor.inventory()
        logger.info(
            "agent ready",
            metadata: [
                "torpor.host": "\(configuration.hostID)",
                "torpor.listen": "\(server.localAddress.map { "\($0)" } ?? "?")",
                "torpor.vms": "\(inventory.vms.count)",
            ]
        )
        _ = try? notifier.ready()

        let description = AgentDescription(
            hostID: configuration.hostID,
            hostname: configuration.hostname,
            capabilities: [.vmLifecycle, .suspendToRam, .suspendToDisk, .suspendToBoth, .shutdown],
            capacity: monitor.capacity,
            wake: configuration.wake,
            listenAddress: Self.reachableAddress(server.localAddress, hostname: configuration.hostname)
        )
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown {
                try await self.serve(
                    server,
                    connection,
                    monitor,
                    handler,
                    linkStatus,
                    linkControl,
                    resumeSignals,
                    description
                )
            }
        } onGracefulShutdown: {
            logger.info("agent stopping; VMs are left running")
            _ = try? notifier.stopping()
        }
        // Closing the connection releases only the agent's handle; libvirt keeps every domain as it is.
        await connection.close()
    }

    /// The address a manager can dial back: a wildcard bind is useless to others, the hostname is not.
    static func reachableAddress(_ address: SocketAddress?, hostname: String) -> String {
        guard let address, let port = address.port else { return "" }
        let ip = address.ipAddress ?? hostname
        let host = ip == "0.0.0.0" || ip == "::" ? hostname : ip
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private func serve(
        _ server: WireServer,
        _ connection: LibvirtConnection,
        _ monitor: AgentMonitor,
        _ handler: AgentRequestHandler,
        _ linkStatus: ManagerLinkStatus,
        _ linkControl: ManagerLinkControl,
        _ resumeSignals: AsyncStream<ResumeSignal>,
        _ description: AgentDescription
    ) async throws {
        let notifier = SystemdNotifier()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run() }
            group.addTask { await self.follow(resumeSignals, linkControl) }
            group.addTask { await monitor.runSampling() }
            group.addTask { await monitor.followLifecycleEvents(of: connection) }
            if case .some(.some) = try? notifier.watchdogInterval {
                group.addTask { try await notifier.runWatchdog() }
            }
            if let manager = configuration.manager {
                group.addTask {
                    await ManagerLink(
                        manager: manager,
                        description: description,
                        agentVersion: Self.version,
                        monitor: monitor,
                        handler: handler,
                        status: linkStatus,
                        defaultHeartbeat: configuration.heartbeatInterval,
                        control: linkControl,
                        logger: logger
                    ).run()
                }
            }
        }
    }

    /// The sleep hook's signals: SIGUSR1 (resumed) reconnects to the manager at once; SIGUSR2 (the system is about
    /// to sleep on its own) tells the manager first.
    private func follow(_ signals: AsyncStream<ResumeSignal>, _ link: ManagerLinkControl) async {
        for await signal in signals {
            switch signal {
            case .resumed:
                logger.notice("resumed: reconnecting to the manager", metadata: ["torpor.signal": "\(signal)"])
                link.reconnectNow(resumed: true)
            case .systemSleeping:
                logger.notice(
                    "system going to sleep",
                    metadata: ["torpor.signal": "\(signal)", "torpor.action": "\(PowerCommand.Action.suspendToRam)"]
                )
                await link.send(.goingDown(.suspendToRam, reason: "system sleep"))
            }
        }
    }
}

import ArgumentParser
import ConfigFile
import Foundation
import Logging
import Manager
import Metrics
import MetricsExport
import ServiceLifecycle
import Systemd

@main
struct TorporManager: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torpor-manager",
        abstract: "Torpor's manager: hosts join it; it places and runs virtual clusters and keeps their state.",
        discussion: """
            Settings come from the configuration file (default \(ManagerConfiguration.defaultPath)); flags override \
            it. Exit status: 0 after a clean stop, 1 on a runtime failure, 64 on bad flags or configuration.
            """,
        version: ManagerDaemon.version
    )

    @Option(name: .long, help: "Configuration file (a missing default file means built-in defaults).")
    var config: String?

    @Option(name: .long, help: "host:port to listen on for agents and clients (listen).")
    var listen: String?

    @Option(name: .long, help: "Heartbeat interval assigned to agents, e.g. 3s (heartbeat_interval).")
    var heartbeatInterval: String?

    @Option(name: .long, help: "Silence after which a host is FAILED, e.g. 10s (heartbeat_timeout).")
    var heartbeatTimeout: String?

    @Option(name: .long, help: "SQLite state file (database).")
    var database: String?

    @Flag(name: .long, help: "Log every heartbeat at info level (log_heartbeats).")
    var logHeartbeats = false

    @Option(name: .long, help: "manager (the group leader) or group-manager (role).")
    var role: String?

    @Option(name: .long, help: "Log destination: auto, journal or stderr.")
    var log = "auto"

    func loadConfiguration() throws -> ManagerConfiguration {
        var configuration =
            try configurationFile(explicit: config, defaultPath: ManagerConfiguration.defaultPath)
            .map(ManagerConfiguration.load(file:)) ?? ManagerConfiguration()
        if let listen { configuration.listen = listen }
        if let heartbeatInterval {
            configuration.heartbeatInterval = try durationFlag("heartbeat-interval", heartbeatInterval)
        }
        if let heartbeatTimeout {
            configuration.heartbeatTimeout = try durationFlag("heartbeat-timeout", heartbeatTimeout)
        }
        if logHeartbeats { configuration.logHeartbeats = true }
        if let database { configuration.database = database }
        if let role {
            guard let value = ManagerRole(rawValue: role) else {
                throw ConfigError.flag("role", "'\(role)' is not one of manager, group-manager")
            }
            configuration.role = value
        }
        try configuration.checkRole(file: config ?? ManagerConfiguration.defaultPath)
        guard LogDestination(rawValue: log) != nil else {
            throw ConfigError.flag("log", "'\(log)' is not one of auto, journal, stderr")
        }
        return configuration
    }

    func run() async throws {
        let configuration: ManagerConfiguration
        do {
            configuration = try loadConfiguration()
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(64)
        }
        (LogDestination(rawValue: log) ?? .auto).bootstrap(identifier: "torpor-manager")
        let logger = Logger(label: "torpor.manager")
        // The only place the global MetricsSystem is bootstrapped; the manager's code takes the factory injected.
        let metrics = MetricsRegistry()
        MetricsSystem.bootstrap(metrics.factory)
        let daemon = ManagerDaemon(configuration: configuration, logger: logger, metrics: metrics)
        let services: [any Service]
        do {
            services = try await daemon.services()
        } catch let error as ManagerDaemon.StartupError {
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as ConfigError {
            // A file the configuration names cannot be used (events.rabbitmq.password_file).
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(64)
        }
        // Started in order, stopped in reverse on SIGTERM or SIGINT (ManagerDaemon.services()).
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as HTTPFrontService.StartupError {
            // The HTTP front binds when it starts: its failure ends the manager like a bad `listen`.
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as ManagerLostLeadership {
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(75)
        } catch let error as ManagerDaemon.StartupError {
            // With coordination: the manager opens its state and binds once elected.
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("torpor-manager: \(error)\n".utf8))
            throw ExitCode(64)
        }
    }
}

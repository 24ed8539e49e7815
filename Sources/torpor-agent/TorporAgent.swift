import Agent
import ArgumentParser
import ConfigFile
import Foundation
import Logging
import Metrics
import MetricsExport
import ServiceLifecycle
import Systemd
import Transport

@main
struct TorporAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torpor-agent",
        abstract: "Torpor's per-host agent: watches VMs through libvirt, reports to the manager, runs its orders.",
        discussion: """
            Settings come from the configuration file (default \(AgentConfiguration.defaultPath); see docs/agent.md); \
            flags override it. When started by systemd socket activation the agent takes its listening socket \
            from LISTEN_FDS and ignores --listen. Exit status: 0 after a clean stop, 1 on a runtime failure, \
            64 on bad flags or configuration.
            """,
        version: AgentDaemon.version
    )

    @Option(name: .long, help: "Configuration file (a missing default file means built-in defaults).")
    var config: String?

    @Option(name: .long, help: "Host identity reported to the manager (host_id).")
    var hostID: String?

    @Option(name: .long, help: "libvirt connection URI, e.g. qemu:///system or test:///default (libvirt_uri).")
    var libvirtURI: String?

    @Option(name: .long, help: "host:port to listen on when not socket-activated (listen).")
    var listen: String?

    @Option(name: .long, help: "Manager host:port to join (manager), or a comma-separated list of managers that fail over (managers).")
    var manager: String?

    @Option(name: .long, help: "Sampling interval, e.g. 3s or 500ms (sample_interval).")
    var sampleInterval: String?

    @Option(name: .long, help: "Samples kept per VM and for the host (ring_capacity).")
    var ringCapacity: Int?

    @Option(name: .long, help: "Root under which /proc is read (proc_root).")
    var procRoot: String?

    @Option(name: .long, help: "Log destination: auto, journal or stderr (log).")
    var log: String?

    func loadConfiguration() throws -> AgentConfiguration {
        var configuration =
            try configurationFile(explicit: config, defaultPath: AgentConfiguration.defaultPath)
            .map(AgentConfiguration.load(file:)) ?? AgentConfiguration()
        if let hostID { configuration.hostID = hostID }
        if let libvirtURI { configuration.libvirtURI = libvirtURI }
        if let listen {
            guard let address = HostPort(listen, allowsPortZero: true) else {
                throw ConfigError.flag("listen", "'\(listen)' is not host:port")
            }
            configuration.listen = address
        }
        if let manager {
            // A comma-separated list is a bootstrap list of managers that fail over (managers:).
            let addresses = try manager.split(separator: ",", omittingEmptySubsequences: false).map { text in
                guard let address = HostPort(String(text)) else {
                    throw ConfigError.flag("manager", "'\(text)' is not host:port")
                }
                return address
            }
            configuration.manager = addresses.first
            configuration.managers = addresses.count > 1 ? addresses : []
        }
        if let sampleInterval {
            configuration.sampleInterval = try durationFlag("sample-interval", sampleInterval)
        }
        if let ringCapacity {
            guard (2...100_000).contains(ringCapacity) else {
                throw ConfigError.flag("ring-capacity", "\(ringCapacity) is outside 2...100000")
            }
            configuration.ringCapacity = ringCapacity
        }
        if let procRoot { configuration.procRoot = procRoot }
        if let log {
            guard let destination = LogDestination(rawValue: log) else {
                throw ConfigError.flag("log", "'\(log)' is not one of auto, journal, stderr")
            }
            configuration.log = destination
        }
        return configuration
    }

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try loadConfiguration()
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("torpor-agent: \(error)\n".utf8))
            throw ExitCode(64)
        }
        configuration.log.bootstrap(identifier: "torpor-agent")
        var logger = Logger(label: "torpor.agent")
        logger[metadataKey: "torpor.host"] = "\(configuration.hostID)"

        let activated: [(fd: Int32, name: String)]
        do {
            activated = try ListenFileDescriptors.take()
        } catch {
            FileHandle.standardError.write(Data("torpor-agent: socket activation: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let socket = activated.first { $0.name == "torpor-agent" }?.fd ?? activated.first?.fd
        // The only place the global MetricsSystem is bootstrapped; the agent's code takes the factory injected.
        let metrics = MetricsRegistry()
        MetricsSystem.bootstrap(metrics.factory)
        let daemon = AgentDaemon(configuration: configuration, listeningSocket: socket, logger: logger, metrics: metrics)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: daemon)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as AgentDaemon.StartupError {
            FileHandle.standardError.write(Data("torpor-agent: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

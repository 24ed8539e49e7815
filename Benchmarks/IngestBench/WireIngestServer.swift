import Foundation
import Logging
import Manager
import Transport
import Wire

/// The manager's side of the ingest benchmark: a WireServer handing each agent's connection to the manager's own
/// AgentSession and HostRegistry (the daemon's code path: Hello checked and admitted, reports validated and put
/// into the host's ring), with nothing else of the daemon around it.
public enum WireIngestServer {
    /// `torpor-bench ingest-server [--tls DIR] [--no-coalescing]`: listens on a free loopback port, says
    /// `ready PORT`, answers `stats` with `PROCESSED LATE MAX_LATENESS_MS`.
    public static func main(arguments: [String]) async throws {
        var logger = Logger(label: "torpor-bench.ingest-server")
        logger.logLevel = .error
        let security: WireSecurity
        if let directory = ControlChannel.option("--tls", in: arguments) {
            security = .tls(try IngestCertificates(directory: directory).managerTLS())
        } else {
            security = .plaintext
        }
        // The same ingest the gRPC side gets: Hello checks, registry, session and counters.
        let ingest = ManagerIngest()
        let server = try await WireServer.bind(
            host: "127.0.0.1",
            port: 0,
            limits: WireServerLimits(maximumConnections: 30_000),
            security: security,
            // The daemon's default, which the gRPC side gets too (ManagerIngest.coalesceWakeups).
            wakeupCoalescing: ManagerIngest.wakeupCoalescing(arguments: arguments),
            logger: logger,
            welcome: { hello, version in
                _ = try await ingest.admit(hello)
                return Welcome(
                    version: version,
                    role: .manager,
                    softwareVersion: "bench",
                    nodeName: "ingest-bench",
                    assignment: Welcome.Assignment(
                        managerID: "ingest-bench",
                        heartbeatIntervalMilliseconds: 1000,
                        reportIntervalMilliseconds: 1000
                    )
                )
            },
            handler: { connection in
                guard let description = connection.peer.hello?.agent else { return }
                try await ingest.session.serve(connection, description: description)
            }
        )
        ControlChannel.serve {
            let counts = ingest.counters.snapshot
            return "\(counts.processed) \(counts.late) \(counts.maximumLatenessMilliseconds)"
        }
        ControlChannel.say("ready \(server.port ?? 0)")
        try await server.run()
    }
}

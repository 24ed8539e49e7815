import Foundation
import Logging
import Manager
import Transport
import Wire

/// The manager's side of the ingest benchmark: a WireServer handing each agent's connection to the manager's own
/// AgentSession and HostRegistry (the daemon's code path: Hello checked and admitted, reports validated and put
/// into the host's ring), with nothing else of the daemon around it.
public enum WireIngestServer {
    /// `torpor-bench ingest-server [--tls DIR]`: listens on a free loopback port, says `ready PORT`, answers
    /// `stats` with `PROCESSED LATE MAX_LATENESS_MS`.
    public static func main(arguments: [String]) async throws {
        var logger = Logger(label: "torpor-bench.ingest-server")
        logger.logLevel = .error
        let security: WireSecurity
        if let directory = ControlChannel.option("--tls", in: arguments) {
            security = .tls(try IngestCertificates(directory: directory).managerTLS())
        } else {
            security = .plaintext
        }
        let counters = IngestCounters()
        let registry = HostRegistry(ringCapacity: ManagerConfiguration().ringCapacity, logger: logger)
        let session = AgentSession(
            registry: registry,
            observer: nil,
            logger: logger,
            reportRecorded: { report, _ in counters.processed(sampledMilliseconds: report.timestampMilliseconds) }
        )
        let server = try await WireServer.bind(
            host: "127.0.0.1",
            port: 0,
            limits: WireServerLimits(maximumConnections: 30_000),
            security: security,
            logger: logger,
            welcome: { hello, version in
                guard hello.role == .agent, let agent = hello.agent else {
                    throw HandshakeRejection(code: .unsupported, message: "only agents report here")
                }
                do throws(WireValidationError) {
                    _ = try hello.validated()
                } catch {
                    throw HandshakeRejection(code: .invalidValue, message: "\(error)")
                }
                try await registry.admit(agent, at: .now)
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
                try await session.serve(connection, description: description)
            }
        )
        ControlChannel.serve {
            let counts = counters.snapshot
            return "\(counts.processed) \(counts.late) \(counts.maximumLatenessMilliseconds)"
        }
        ControlChannel.say("ready \(server.port ?? 0)")
        try await server.run()
    }
}

import GRPCCore
import GRPCNIOTransportHTTP2
import IngestBench
import Wire

/// `torpor-ingest-grpc ingest-server [--tls DIR] [--no-coalescing]`: the gRPC twin of torpor-bench's Wire ingest
/// server. Listens on a free loopback port (mutual TLS with the bench's CA when given --tls), says `ready PORT`,
/// answers `stats` with `PROCESSED LATE MAX_LATENESS_MS`; each agent's stream feeds the manager's own HostRegistry
/// rings (ManagerIngest). Its event loops coalesce wake-ups as the Wire server's do unless --no-coalescing.
public enum GRPCIngestServer {
    public static func main(arguments: [String]) async throws {
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let directory = ControlChannel.option("--tls", in: arguments) {
            let certificates = IngestCertificates(directory: directory)
            security = .mTLS(
                certificateChain: [.file(path: certificates.managerFiles.certificate, format: .pem)],
                privateKey: .file(path: certificates.managerFiles.key, format: .pem)
            ) { config in
                config.trustRoots = .certificates([.file(path: certificates.caBundlePath, format: .pem)])
                config.clientCertificateVerification = .noHostnameVerification
            }
        } else {
            security = .plaintext
        }
        let ingest = ManagerIngest()
        // The Wire server's wakeup coalescing, on the event loops gRPC's transport runs on.
        let coalescer = ingest.coalesceWakeups(arguments: arguments)
        defer { coalescer?.stop() }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: security
        )
        let server = GRPCServer(transport: transport, services: [AgentIngestService(ingest: ingest)])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            guard let port = try await transport.listeningAddress.ipv4?.port else {
                throw IngestMessageError(description: "the gRPC server is not listening on an IPv4 port")
            }
            let counters = ingest.counters
            ControlChannel.serve {
                let counts = counters.snapshot
                return "\(counts.processed) \(counts.late) \(counts.maximumLatenessMilliseconds)"
            }
            ControlChannel.say("ready \(port)")
        }
    }
}

/// One agent's stream: its hello admitted and answered with a Welcome, then each report into the host's ring.
struct AgentIngestService: Torpor_Ingest_AgentIngest.SimpleServiceProtocol {
    let ingest: ManagerIngest

    func report(
        request: RPCAsyncSequence<Torpor_Ingest_AgentMessage, any Error>,
        response: RPCWriter<Torpor_Ingest_ManagerMessage>,
        context: ServerContext
    ) async throws {
        var messages = request.makeAsyncIterator()
        guard case .hello(let helloMessage)? = try await messages.next()?.body else {
            throw RPCError(code: .invalidArgument, message: "the first message of a stream must be the agent's hello")
        }
        let hello: Hello
        do {
            hello = try Hello(helloMessage)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        let connectionID: UInt64
        do {
            connectionID = try await ingest.join(hello)
        } catch {
            throw RPCError(code: .failedPrecondition, message: error.message)
        }
        let hostID = helloMessage.hostID
        do {
            var welcome = Torpor_Ingest_ManagerMessage()
            welcome.welcome.managerID = "ingest-bench"
            welcome.welcome.reportIntervalMilliseconds = 1000
            try await response.write(welcome)
            while let message = try await messages.next() {
                guard case .report(let reportMessage)? = message.body else {
                    throw RPCError(code: .invalidArgument, message: "after the hello an agent sends only reports")
                }
                do {
                    let report = try MonitoringReport(reportMessage)
                    await ingest.report(report, from: hostID, connectionID: connectionID)
                } catch {
                    throw RPCError(code: .invalidArgument, message: error.description)
                }
            }
        } catch {
            await ingest.left(hostID, connectionID: connectionID)
            throw error
        }
        await ingest.left(hostID, connectionID: connectionID)
    }
}

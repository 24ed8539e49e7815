import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IngestBench
import SwiftProtobuf
import Synchronization
import Wire

/// `torpor-ingest-grpc ingest-agents --port P --agents N [--tls DIR]`: the gRPC twin of torpor-bench's Wire
/// agents. N agents each on its own HTTP/2 connection (with TLS, its own certificate) and one long-lived stream,
/// each sending the same 20-VM report once a second on the same schedule (IngestSchedule). An agent counts as
/// connected once the server's Welcome arrives. Says `connected OK FAILED`, answers `stats` with `SENT BEHIND`.
public enum GRPCSimulatedAgents {
    /// Agents connecting at once, as the Wire agents do.
    static let connectingAtOnce = 64

    public static func main(arguments: [String]) async throws {
        guard let port = ControlChannel.option("--port", in: arguments).flatMap(Int.init),
            let count = ControlChannel.option("--agents", in: arguments).flatMap(Int.init), count > 0
        else {
            FileHandle.standardError.write(Data("ingest-agents: needs --port P --agents N\n".utf8))
            exit(64)
        }
        let certificates = ControlChannel.option("--tls", in: arguments).map(IngestCertificates.init(directory:))
        let agents = (0..<count).map(SimulatedGRPCAgent.init(index:))
        // One token per agent done connecting (welcomed or failed) lets the next start.
        let (tokens, tokensIn) = AsyncStream<Void>.makeStream()
        for _ in 0..<connectingAtOnce { tokensIn.yield() }
        var nextToken = tokens.makeAsyncIterator()
        try await withThrowingDiscardingTaskGroup { group in
            for agent in agents {
                _ = await nextToken.next()
                let transportSecurity = Self.security(for: agent.index, certificates)
                group.addTask { await agent.run(port: port, security: transportSecurity, connected: tokensIn) }
            }
            for _ in 0..<connectingAtOnce { _ = await nextToken.next() }

            let counters = SendCounters()
            ControlChannel.serve {
                let counts = counters.snapshot
                return "\(counts.sent) \(counts.behind)"
            }
            let open = agents.filter(\.isConnected)
            ControlChannel.say("connected \(open.count) \(count - open.count)")
            try await IngestSchedule.run(count: open.count, counters: counters) { index, sampled in
                try open[index].send(
                    .with { $0.report = Torpor_Ingest_MonitoringReport(SimulatedReport.report(index, at: sampled)) }
                )
            }
        }
    }

    static func security(
        for index: Int,
        _ certificates: IngestCertificates?
    ) -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard let certificates else { return .plaintext }
        let files = certificates.agentFiles(index)
        return .mTLS(
            certificateChain: [.file(path: files.certificate, format: .pem)],
            privateKey: .file(path: files.key, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.file(path: certificates.caBundlePath, format: .pem)])
            config.serverCertificateVerification = .noHostnameVerification
        }
    }
}

struct StreamClosed: Error {}

/// One simulated agent: a client with its own connection, and the stream its reports go out on.
final class SimulatedGRPCAgent: Sendable {
    enum State { case connecting, connected, failed }

    let index: Int
    private let state = Mutex(State.connecting)
    private let outbox: AsyncStream<Torpor_Ingest_AgentMessage>
    private let outboxIn: AsyncStream<Torpor_Ingest_AgentMessage>.Continuation

    init(index: Int) {
        self.index = index
        (outbox, outboxIn) = AsyncStream.makeStream()
    }

    var isConnected: Bool { state.withLock { $0 == .connected } }

    /// Queues `message` on the agent's stream; throws once the stream has ended.
    func send(_ message: Torpor_Ingest_AgentMessage) throws {
        guard case .enqueued = outboxIn.yield(message) else { throw StreamClosed() }
    }

    /// Connects, says hello and streams until the connection ends; yields one token to `connected` when welcomed
    /// or, failing that, when it gives up.
    func run(
        port: Int,
        security: HTTP2ClientTransport.Posix.TransportSecurity,
        connected: AsyncStream<Void>.Continuation
    ) async {
        let hello = Torpor_Ingest_AgentMessage.with {
            $0.hello = Torpor_Ingest_AgentHello(SimulatedReport.hello(IngestCertificates.hostID(index)))
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: port),
                transportSecurity: security
            )
            try await withGRPCClient(transport: transport) { client in
                let ingest = Torpor_Ingest_AgentIngest.Client(wrapping: client)
                try await ingest.report(
                    requestProducer: { writer in
                        try await writer.write(hello)
                        for await message in self.outbox { try await writer.write(message) }
                    },
                    onResponse: { response in
                        for try await message in response.messages {
                            if case .welcome? = message.body { self.settle(.connected, connected) }
                        }
                    }
                )
            }
        } catch {
            // Seen in the counts: a failed agent is not connected, a dropped stream's reports go missing.
        }
        settle(.failed, connected)
        outboxIn.finish()
    }

    /// The first outcome only: the token is yielded once.
    private func settle(_ outcome: State, _ connected: AsyncStream<Void>.Continuation) {
        let first = state.withLock { state in
            guard state == .connecting else { return false }
            state = outcome
            return true
        }
        if first { connected.yield() }
    }
}

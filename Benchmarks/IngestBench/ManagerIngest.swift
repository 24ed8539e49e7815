import Logging
import NIOPosix
import Synchronization
import Manager
import Transport
import Wire

/// The manager's report ingest without Wire's server around it, for another service's server (the gRPC side,
/// Benchmarks/ingest-grpc): the Hello checked and admitted as WireIngestServer's welcome does, the host joined in
/// the same HostRegistry, and each report through the manager's AgentSession (validated, into the host's ring).
public struct ManagerIngest: Sendable {
    public let counters: IngestCounters
    /// Agents joined and not gone: what a `WakeupCoalescer` on the gRPC side weighs, as the Wire server weighs the
    /// connections it serves.
    let connected: ConnectedAgents
    let registry: HostRegistry
    let session: AgentSession
    let logger: Logger

    public init() {
        var logger = Logger(label: "torpor-bench.ingest-server")
        logger.logLevel = .error
        let counters = IngestCounters()
        let registry = HostRegistry(ringCapacity: ManagerConfiguration().ringCapacity, logger: logger)
        self.counters = counters
        self.connected = ConnectedAgents()
        self.registry = registry
        self.logger = logger
        session = AgentSession(
            registry: registry,
            observer: nil,
            logger: logger,
            reportRecorded: { report, _ in counters.processed(sampledMilliseconds: report.timestampMilliseconds) }
        )
    }

    /// Checks `hello` as the daemon's welcome does and admits its agent; returns the agent.
    func admit(_ hello: Hello) async throws(HandshakeRejection) -> AgentDescription {
        guard hello.role == .agent, let agent = hello.agent else {
            throw HandshakeRejection(code: .unsupported, message: "only agents report here")
        }
        do throws(WireValidationError) {
            _ = try hello.validated()
        } catch {
            throw HandshakeRejection(code: .invalidValue, message: "\(error)")
        }
        try await registry.admit(agent, at: .now)
        return agent
    }

    /// Admits and joins the agent saying `hello`; returns its connection id for `left`.
    public func join(_ hello: Hello) async throws(HandshakeRejection) -> UInt64 {
        let agent = try await admit(hello)
        let connectionID = await registry.join(agent, at: .now)
        connected.count.add(1, ordering: .relaxed)
        connected.arrived.add(1, ordering: .relaxed)
        return connectionID
    }

    /// One report from the agent of `hostID` on its connection `connectionID` (from `join`), handled as the Wire
    /// session handles a MonitoringReport frame once its agent has joined: taken for the registry's next batch if
    /// valid, else refused and logged.
    public func report(_ report: MonitoringReport, from hostID: String, connectionID: UInt64) async {
        let message = WireMessage.monitoringReport(report)
        guard !session.take(message, from: hostID, connectionID: connectionID) else { return }
        await session.handle(message, from: hostID, logger: logger)
    }

    /// The agent's stream ended.
    public func left(_ hostID: String, connectionID: UInt64) async {
        connected.count.subtract(1, ordering: .relaxed)
        await registry.disconnected(hostID, connectionID: connectionID)
    }

    /// The manager daemon's wakeup coalescing (`connections.wakeup_pause`), unless the arguments say
    /// `--no-coalescing`.
    public static func wakeupCoalescing(arguments: [String]) -> WakeupCoalescing? {
        arguments.contains("--no-coalescing") ? nil : ManagerConfiguration().wakeupCoalescing
    }

    /// For a server that is not a WireServer (the gRPC side): the same coalescing on NIO's shared event loops,
    /// weighing the agents joined here, and not pausing while agents join (as a WireServer does not while
    /// connections arrive).
    public func coalesceWakeups(arguments: [String]) -> WakeupCoalescer? {
        guard let coalescing = Self.wakeupCoalescing(arguments: arguments) else { return nil }
        let connected = self.connected
        return WakeupCoalescer.start(
            on: MultiThreadedEventLoopGroup.singleton,
            coalescing,
            arrivals: { connected.arrived.load(ordering: .relaxed) },
            load: { connected.count.load(ordering: .relaxed) }
        )
    }
}

final class ConnectedAgents: Sendable {
    let count = Atomic<Int>(0)
    /// Agents that joined so far; only grows.
    let arrived = Atomic<Int>(0)
}

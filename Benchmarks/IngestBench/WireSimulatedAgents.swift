import Foundation
import Logging
import Transport
import Wire

/// `torpor-bench ingest-agents --port P --agents N [--tls DIR] [--inventory]`: N agents each on its own Wire
/// connection (and, with TLS, its own certificate), each sending a 20-VM MonitoringReport once a second, the N
/// spread evenly over the second. With `--inventory` each first sends an Inventory naming its 20 VMs, as a real
/// agent does on joining, so a group manager has VMs to relay to its leader. Says `connected OK FAILED`, answers
/// `stats` with `SENT BEHIND`, and `stop` with the reports sent in all once no send is under way.
public enum WireSimulatedAgents {
    public static func main(arguments: [String]) async throws {
        guard let port = ControlChannel.option("--port", in: arguments).flatMap(Int.init),
            let agents = ControlChannel.option("--agents", in: arguments).flatMap(Int.init), agents > 0
        else {
            FileHandle.standardError.write(Data("ingest-agents: needs --port P --agents N\n".utf8))
            exit(64)
        }
        let certificates = ControlChannel.option("--tls", in: arguments).map(IngestCertificates.init(directory:))
        let sendsInventory = arguments.contains("--inventory")
        var quiet = Logger(label: "torpor-bench.ingest-agents")
        quiet.logLevel = .critical
        let logger = quiet
        // The agents only send: nothing arrives to keep a connection from looking idle on this side.
        let configuration = WireConnectionConfiguration(idleTimeout: nil)

        let connections = await connectAll(agents: agents, port: port) { index in
            var client = WireClient(
                hello: SimulatedReport.hello(IngestCertificates.hostID(index)),
                connectTimeout: .seconds(60),
                configuration: configuration,
                logger: logger
            )
            if let certificates { client.security = .tls(try certificates.agentTLS(index)) }
            let connection = try await client.connect(host: "127.0.0.1", port: port)
            if sendsInventory { try await connection.send(.inventory(SimulatedReport.inventory(index))) }
            return connection
        }
        let counters = SendCounters()
        ControlChannel.serve(
            stats: {
                let counts = counters.snapshot
                return "\(counts.sent) \(counts.behind)"
            },
            stop: {
                counters.stop()
                // A send already under way is counted when its write completes.
                Thread.sleep(forTimeInterval: 1)
                return "\(counters.snapshot.sent)"
            }
        )
        let open = connections.compactMap { $0 }
        ControlChannel.say("connected \(open.count) \(agents - open.count)")
        try await IngestSchedule.run(count: open.count, counters: counters) { index, sampled in
            try await open[index].send(.monitoringReport(SimulatedReport.report(index, at: sampled)))
        }
        // Stopped (`stop`): the connections stay open until stdin closes, when the control thread exits the process.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// Connects agents 0..<`agents`, 64 at a time; nil where a connection failed.
    static func connectAll(
        agents: Int,
        port: Int,
        connect: @escaping @Sendable (Int) async throws -> WireConnection
    ) async -> [WireConnection?] {
        var connections = [WireConnection?](repeating: nil, count: agents)
        await withTaskGroup(of: (Int, WireConnection?).self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask { (index, try? await connect(index)) }
            }
            while next < min(64, agents) { add() }
            for await (index, connection) in group {
                connections[index] = connection
                if next < agents { add() }
            }
        }
        return connections
    }
}

/// The same report content for both services: 20 running VMs with plausible figures.
public enum SimulatedReport {
    public static let vmsPerReport = 20

    public static func hello(_ hostID: String) -> Hello {
        Hello(
            role: .agent,
            softwareVersion: "bench",
            nodeName: hostID,
            agent: AgentDescription(
                hostID: hostID,
                hostname: hostID,
                capabilities: [.vmLifecycle],
                capacity: HostCapacity(
                    cores: 32,
                    memoryBytes: 128 << 30,
                    nicRxBytesPerSecond: 1_250_000_000,
                    nicTxBytesPerSecond: 1_250_000_000
                ),
                wake: WakeSettings(),
                listenAddress: "127.0.0.1:1"
            )
        )
    }

    /// Agent `agent`'s VMs, slot by slot as its reports list them, each with a UUID of its own.
    public static func inventory(_ agent: Int) -> Inventory {
        Inventory(
            hostID: IngestCertificates.hostID(agent),
            vms: (0..<vmsPerReport).map { slot in
                Inventory.Entry(
                    slot: UInt16(slot),
                    uuid: WireUUID(high: UInt64(agent) + 1, low: UInt64(slot) + 1),
                    name: "bench-\(agent)-vm-\(slot)",
                    state: .running,
                    virtualCPUs: 2,
                    memoryKiB: 2 << 20
                )
            }
        )
    }

    public static func report(_ agent: Int, at sampledMilliseconds: Int64) -> MonitoringReport {
        let received = Float(10_000 + agent % 1000)
        let vms = (0..<vmsPerReport).map { (slot: Int) -> MonitoringReport.VMSample in
            let cores: Float = Float(slot % 4) * 0.5 + 0.25
            let memory = UInt32(1_048_576 + slot * 4096)
            return MonitoringReport.VMSample(
                slot: UInt16(slot),
                state: .running,
                cpuCoresInUse: cores,
                memoryInUseKiB: memory,
                networkRxBytesPerSecond: received,
                networkTxBytesPerSecond: 5000,
                diskReadBytesPerSecond: 20_000,
                diskWriteBytesPerSecond: 8000
            )
        }
        return MonitoringReport(
            timestampMilliseconds: sampledMilliseconds,
            host: MonitoringReport.HostSample(
                cpuCoresInUse: 7.5,
                memoryInUseBytes: 40 << 30,
                networkRxBytesPerSecond: 250_000,
                networkTxBytesPerSecond: 120_000
            ),
            vms: vms
        )
    }
}

/// Sends one report per agent per second, agent i at offset i/N of each second, from a few tasks at once; a send
/// more than half a second after its time is counted as behind (the agents' side cannot keep up).
public enum IngestSchedule {
    public static let senders = 16

    public static func run(
        count: Int,
        counters: SendCounters,
        send: @escaping @Sendable (_ index: Int, _ sampledMilliseconds: Int64) async throws -> Void
    ) async throws {
        guard count > 0 else { return }
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(200)
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<min(senders, count) {
                group.addTask {
                    var round = 0
                    while !Task.isCancelled {
                        for index in stride(from: sender, to: count, by: senders) {
                            guard !counters.isStopped else { return }
                            let due = start + .seconds(round) + .seconds(1) * (Double(index) / Double(count))
                            let now = clock.now
                            if due > now + .milliseconds(2) {
                                try? await clock.sleep(until: due)
                                guard !counters.isStopped else { return }
                            }
                            let behind = clock.now - due > .milliseconds(500)
                            let sampled = Int64(Date().timeIntervalSince1970 * 1000)
                            // A failed send (closed connection) is not counted: the window then shows it missing.
                            if (try? await send(index, sampled)) != nil { counters.sent(behind: behind) }
                        }
                        round += 1
                    }
                }
            }
        }
    }
}

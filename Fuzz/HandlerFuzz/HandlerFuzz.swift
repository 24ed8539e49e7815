import Agent
import Dispatch
import Foundation
import Libvirt
import Logging
import Manager
import NIOCore
import Wire

// A libFuzzer target over the daemons' *handlers*: the input is read as Wire frames (so the fuzzer explores the
// message space through the real decoders), and every message that decodes is handed to the code a daemon runs on
// it, with fresh state per input:
// - the manager's side of an agent (AgentSession.take and .handle: heartbeats, inventories, reports, power notices,
//   hypervisor status, with the real HostRegistry and a GroupLeader over a temporary SQLite store; a Hello as an
//   agent joins like the Welcome path does);
// - the manager's control requests (ControlSession.answer: cluster requests, host power, status, energy);
// - the agent's commands (AgentRequestHandler.answer over libvirt's test:///default, power commands running
//   /bin/true).
// scripts/fuzz-handlers builds it with `-sanitize=fuzzer,address -DWIRE_LIBFUZZER`; a plain build replays files.
//
// Refusals (CommandResult errors, dropped messages) are fine; a crash, a sanitizer report, a hang (libFuzzer's
// -timeout) or a reply that does not encode and decode back is a finding. Every wait is zeroed so that an input
// never sleeps: task waits within the limit become 0, the power-command and wake timeouts are 0.

/// At most this many messages per input: longer sequences add time, not coverage.
private let maximumMessages = 16

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let messages = decodeMessages(ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size)))
    guard !messages.isEmpty else { return 0 }
    blocking { await HandlerHarness.run(messages) }
    return 0
}

/// The messages the frames in `input` decode to, up to the first error.
private func decodeMessages(_ input: ByteBuffer) -> [WireMessage] {
    var buffer = input
    var messages: [WireMessage] = []
    let decoder = WireFrameDecoder()
    while messages.count < maximumMessages {
        guard let frame = try? decoder.decodeFrame(buffer: &buffer) else { break }
        // nil: an ignorable frame of a type this build does not know, dropped as a daemon drops it.
        do {
            guard let envelope = try WireEnvelope(frame: frame) else { continue }
            messages.append(envelope.message)
        } catch {
            break
        }
    }
    return messages
}

/// Runs `body` on the cooperative pool and waits for it on this (libFuzzer's) thread, which is not in the pool.
private func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}

enum HandlerHarness {
    static let logger = Logger(label: "fuzz") { _ in RenderingLogHandler() }
    static let scratch: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-handler-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        return path.path
    }()
    nonisolated(unsafe) static var inputs = 0

    /// The host that agent messages come from until a Hello names another.
    static let seedHost = AgentDescription(
        hostID: "fuzz-host",
        hostname: "fuzz-host.lab",
        capabilities: [.vmLifecycle, .suspendToRam, .shutdown],
        capacity: HostCapacity(
            cores: 8,
            memoryBytes: 16 << 30,
            nicRxBytesPerSecond: 1 << 27,
            nicTxBytesPerSecond: 1 << 27
        ),
        wake: WakeSettings(),
        listenAddress: "127.0.0.1:7701"
    )

    static func run(_ messages: [WireMessage]) async {
        inputs += 1
        let database = "\(scratch)/manager-\(inputs).sqlite"
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        let manager: ManagerSide
        let agent: AgentSide
        do {
            manager = try ManagerSide(database: database)
            agent = try await AgentSide()
        } catch {
            fatalError("HandlerFuzz: cannot set up the handlers: \(error)")
        }
        var hostID = seedHost.hostID
        var connectionID = await manager.join(seedHost)
        for message in messages {
            switch message {
            case .hello(let hello):
                if let joined = await manager.join(hello) { (hostID, connectionID) = joined }
            case .heartbeat, .monitoringReport:
                // As a connection's event loop does once its agent joined: the intake first, the session if refused.
                guard !manager.session.take(message, from: hostID, connectionID: connectionID) else { continue }
                await manager.session.handle(message, from: hostID, logger: logger)
            case .inventory, .powerNotice, .hypervisorStatus:
                await manager.session.handle(message, from: hostID, logger: logger)
            case .clusterRequest, .hostPowerRequest, .managerStatusRequest, .energyRequest:
                checkReply(await manager.control.answer(withoutWaiting(message), at: .now))
            case .vmCommand, .powerCommand, .statusRequest, .samplesRequest:
                checkReply(await agent.handler.answer(message))
            default:
                // Messages neither side accepts: both must refuse them without harm.
                checkReply(await manager.control.answer(message, at: .now))
                checkReply(await agent.handler.answer(message))
                await manager.session.handle(message, from: hostID, logger: logger)
            }
        }
        // What follows every input in a daemon: failure detection and the views a CLI asks for.
        let failed = await manager.registry.expire(timeout: .zero, at: .now + .seconds(1))
        await manager.leader.hostsFailed(failed)
        checkReply(.managerStatusReply(await manager.control.statusReply(at: .now)))
        checkReply(.energyReply(await manager.control.energyReply(at: .now)))
        checkReply(.statusReply(await agent.monitor.status(agentVersion: "fuzz")))
        await agent.connection.close()
    }

    /// A task wait within the limit is answered at once: the tasks never run here, and waiting finds no bug.
    static func withoutWaiting(_ message: WireMessage) -> WireMessage {
        guard case .clusterRequest(.task(let id, let wait)) = message, wait <= WireLimits.maximumTaskWaitMilliseconds
        else { return message }
        return .clusterRequest(.task(id: id, waitMilliseconds: 0))
    }

    /// A reply goes out over the wire: it must encode into one frame that decodes to the same message.
    static func checkReply(_ reply: WireMessage?) {
        guard let reply else { return }
        var bytes = ByteBuffer()
        WireEnvelope(requestID: 1, message: reply).encode(into: &bytes)
        let decoder = WireFrameDecoder(maximumPayloadLength: .max)
        do {
            guard let frame = try decoder.decodeFrame(buffer: &bytes), bytes.readableBytes == 0,
                let envelope = try WireEnvelope(frame: frame)
            else { fatalError("HandlerFuzz: a \(reply.type) reply is not exactly one frame") }
            var again = ByteBuffer()
            envelope.encode(into: &again)
            var original = ByteBuffer()
            WireEnvelope(requestID: 1, message: reply).encode(into: &original)
            if again != original { fatalError("HandlerFuzz: a \(reply.type) reply does not re-encode the same") }
        } catch {
            fatalError("HandlerFuzz: a \(reply.type) reply does not decode: \(error)")
        }
    }

    /// The manager's handlers over a fresh store and registry.
    struct ManagerSide {
        let registry: HostRegistry
        let leader: GroupLeader
        let session: AgentSession
        let control: ControlSession

        init(database: String) throws {
            var configuration = ManagerConfiguration()
            configuration.managerID = "fuzz-manager"
            configuration.database = database
            configuration.checkTemplateDisks = false
            // No image request reads a file of this machine or runs a program: every path is outside the roots.
            configuration.images.roots = ["/nonexistent/torpor-fuzz-images"]
            configuration.images.directory = "/nonexistent/torpor-fuzz-images"
            // No input ever waits: a wake does not wait for the host to go down (timeout + 10 s) or to rejoin.
            configuration.energy.powerCommandTimeout = .seconds(-10)
            configuration.energy.wakeupTime = .zero
            registry = HostRegistry(ringCapacity: 4, logger: HandlerHarness.logger)
            leader = try GroupLeader(
                store: try ManagerStore(path: database),
                groupManager: GroupManager(
                    registry: registry,
                    commandTimeout: .milliseconds(50),
                    logger: HandlerHarness.logger
                ),
                configuration: configuration,
                logger: HandlerHarness.logger
            )
            session = AgentSession(registry: registry, observer: leader, logger: HandlerHarness.logger)
            control = ControlSession(
                registry: registry,
                leader: leader,
                managerID: configuration.managerID,
                softwareVersion: "fuzz",
                heartbeatTimeout: configuration.heartbeatTimeout,
                startedAt: .now,
                logger: HandlerHarness.logger
            )
        }

        /// Returns the connection id the registry gave the join.
        func join(_ description: AgentDescription) async -> UInt64 {
            let connectionID = await registry.join(description, at: .now)
            await leader.hostJoined(description)
            return connectionID
        }

        /// A Hello as the manager's Welcome closure and AgentSession take it: validated, admitted, joined. The
        /// host id that joined and its connection id, or nil when refused.
        func join(_ hello: Hello) async -> (String, UInt64)? {
            guard hello.role == .agent, let validated = try? hello.validated(), let agent = validated.agent else {
                return nil
            }
            do {
                try await registry.admit(agent, at: .now)
            } catch {
                return nil
            }
            return (agent.hostID, await join(agent))
        }
    }

    /// The agent's handler over a fresh test:///default connection (its state lives as long as the connection).
    struct AgentSide {
        let connection: LibvirtConnection
        let monitor: AgentMonitor
        let handler: AgentRequestHandler

        init() async throws {
            var configuration = AgentConfiguration(hostname: "fuzz-agent")
            configuration.libvirtURI = "test:///default"
            for action in PowerCommand.Action.allCases { configuration.power.set(["/bin/true"], for: action) }
            configuration.power.timeout = .seconds(5)
            connection = try await LibvirtConnection.open(configuration.libvirtURI)
            monitor = try await AgentMonitor(
                configuration: configuration,
                connection: connection,
                link: ManagerLinkStatus(address: nil),
                logger: HandlerHarness.logger
            )
            handler = AgentRequestHandler(
                monitor: monitor,
                executor: CommandExecutor(
                    connection: connection,
                    power: configuration.power,
                    logger: HandlerHarness.logger
                ),
                agentVersion: "fuzz",
                logger: HandlerHarness.logger
            )
        }
    }
}

extension AgentConfiguration.PowerCommands {
    fileprivate mutating func set(_ argv: [String], for action: PowerCommand.Action) {
        switch action {
        case .suspendToRam: suspendToRam = argv
        case .suspendToDisk: suspendToDisk = argv
        case .suspendToBoth: suspendToBoth = argv
        case .shutdown: shutdown = argv
        }
    }
}

/// Renders every message and its metadata, as a real handler would, then drops it: string interpolations in log
/// calls run on fuzzed values too.
struct RenderingLogHandler: LogHandler {
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var rendered = "\(event.level) \(event.message)"
        for (key, value) in (event.metadata ?? [:]).merging(metadata, uniquingKeysWith: { event, _ in event }) {
            rendered += " \(key)=\(value)"
        }
        _ = rendered.utf8.count
    }
}

#if WIRE_LIBFUZZER
// As in WireFuzz: SwiftPM aliases `main`, so this @main calls libFuzzer's driver (needs `-enable-experimental-feature
// Extern`).
@_extern(c, "LLVMFuzzerRunDriver")
private func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
#endif

@main
enum HandlerFuzzMain {
    /// One input per handler path, each a sequence of frames as a peer would send them.
    static var seeds: [String: [WireMessage]] {
        let agent = HandlerHarness.seedHost
        let domain = """
            <domain type='test'><name>seed</name><memory unit='MiB'>512</memory><vcpu>2</vcpu>
            <os><type arch='x86_64'>hvm</type></os></domain>
            """
        let vm = Inventory.Entry(
            slot: 0,
            uuid: WireUUID(high: 1, low: 2),
            name: "seed",
            state: .running,
            virtualCPUs: 2,
            memoryKiB: 1 << 20
        )
        let host = MonitoringReport.HostSample(
            cpuCoresInUse: 1,
            memoryInUseBytes: 1 << 30,
            networkRxBytesPerSecond: 10,
            networkTxBytesPerSecond: 10
        )
        let sample = MonitoringReport.VMSample(
            slot: 0,
            state: .running,
            cpuCoresInUse: 0.5,
            memoryInUseKiB: 1 << 19,
            networkRxBytesPerSecond: 1,
            networkTxBytesPerSecond: 1,
            diskReadBytesPerSecond: 1,
            diskWriteBytesPerSecond: 1
        )
        var other = agent
        other.hostID = "fuzz-host-2"
        other.migrationURI = "qemu+tcp://127.0.0.1/system"
        let progress = MigrationProgress(
            vmName: "seed",
            destinationURI: other.migrationURI,
            phase: .copying,
            elapsedMilliseconds: 1_000,
            dataTotalBytes: 1 << 30,
            dataProcessedBytes: 1 << 29,
            dataRemainingBytes: 1 << 29,
            memoryDirtyRateBytesPerSecond: 1 << 20,
            iteration: 2,
            steps: [MigrationProgress.TakenStep(.raiseDowntime, atMilliseconds: 900)]
        )
        var absurd = vm
        absurd.memoryKiB = 1 << 60
        return [
            "agent-join-inventory-report": [
                .hello(Hello(role: .agent, softwareVersion: "s", nodeName: "n", agent: other)),
                .inventory(Inventory(hostID: other.hostID, vms: [vm])),
                .monitoringReport(MonitoringReport(timestampMilliseconds: 1, host: host, vms: [sample])),
                .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 1)),
            ],
            "agent-power-notices": [
                .powerNotice(.goingDown(.suspendToRam, reason: "seed")),
                .hostPowerRequest(.wake(agent.hostID)),
                .powerNotice(.resumed(reason: "seed")),
                .hypervisorStatus(.unreachable("seed")),
                .hypervisorStatus(.answering),
                .hostPowerRequest(.sleep(agent.hostID)),
            ],
            "cluster-lifecycle": [
                .clusterRequest(.define(cluster: "c")),
                .clusterRequest(.add(cluster: "c", vms: [.init(templateXML: domain, networkRxBytesPerSecond: 1)])),
                .clusterRequest(.act(.start, cluster: "c", vm: "")),
                .clusterRequest(.info(cluster: "c")),
                .clusterRequest(.list),
                .clusterRequest(.vmInfo(vm: "seed")),
                .clusterRequest(.remove(cluster: "c", vm: "seed")),
                .clusterRequest(.undefine(cluster: "c")),
                .clusterRequest(.task(id: "t-00000000", waitMilliseconds: 0)),
            ],
            // Migrations: requests to both sides, a progress push and cancels, for a VM that does not run.
            "migration": [
                .hello(Hello(role: .agent, softwareVersion: "s", nodeName: "n", agent: other)),
                .clusterRequest(.define(cluster: "m")),
                .clusterRequest(.add(cluster: "m", vms: [.init(templateXML: domain, networkRxBytesPerSecond: 1)])),
                .clusterRequest(.migrate(vm: "seed", to: other.hostID, method: .live)),
                .clusterRequest(.migrate(vm: "seed", to: agent.hostID, method: .liveNonSharedFullDisk)),
                .migrationProgress(progress),
                .clusterRequest(.migrateCancel(vm: "seed")),
                .clusterRequest(.act(.suspend, cluster: "m", vm: "")),
                .migrationCancel(MigrationCancel(vmName: "seed")),
                .vmCommand(
                    .migrate(
                        VMCommand.Migration(
                            name: "test",
                            destinationURI: other.migrationURI,
                            method: .live,
                            timeoutSeconds: 1
                        )
                    )
                ),
            ],
            // The catalog: flavors, images (refused: every path is outside the harness's roots), VMs from them.
            "catalog": [
                .clusterRequest(.flavorCreate(.init(name: "f", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 0))),
                .clusterRequest(.imageAdd(name: "i", path: "/nonexistent/torpor-fuzz-images/i.qcow2")),
                .clusterRequest(.define(cluster: "c")),
                .clusterRequest(.addFromImage(cluster: "c", .init(flavor: "f", image: "i", names: ["v"]))),
                .clusterRequest(.flavorList),
                .clusterRequest(.imageList),
                .clusterRequest(.imageRemove(name: "i")),
                .clusterRequest(.flavorDelete(name: "f")),
            ],
            // Trapped torpor-manager before the inventory was validated (issue 10.1).
            "inventory-absurd-memory": [
                .inventory(Inventory(hostID: agent.hostID, vms: [absurd])),
                .clusterRequest(.list),
            ],
            "adopted-then-failed": [
                .inventory(Inventory(hostID: agent.hostID, vms: [vm])),
                .managerStatusRequest(ManagerStatusRequest()),
                .energyRequest(EnergyRequest()),
            ],
            "agent-commands": [
                .statusRequest(StatusRequest()),
                .vmCommand(.start(domainXML: domain)),
                .samplesRequest(SamplesRequest(vmName: "seed", last: 3)),
                .vmCommand(.suspend(name: "seed")),
                .vmCommand(.resume(name: "seed")),
                .vmCommand(.shutdown(name: "seed")),
                .vmCommand(.destroy(name: "test")),
                .vmCommand(.undefine(name: "seed")),
                .powerCommand(PowerCommand(action: .suspendToRam, timeoutSeconds: 1)),
                .powerCommand(PowerCommand(action: .shutdown, timeoutSeconds: 1, force: true)),
            ],
        ]
    }

    static func writeSeeds(to directory: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, messages) in seeds {
            var bytes = ByteBuffer()
            for (index, message) in messages.enumerated() {
                WireEnvelope(requestID: UInt32(index + 1), message: message).encode(into: &bytes)
            }
            let path = "\(directory)/\(name)"
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes.readableBytesView)) else {
                print("\(path): cannot write")
                exit(1)
            }
            print(path)
        }
    }

    static func main() {
        #if WIRE_LIBFUZZER
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, fuzz))
        #else
        replay(CommandLine.arguments.dropFirst())
        #endif
    }

    /// Without libFuzzer: `HandlerFuzz FILE...` runs each file through the fuzz function, to reproduce a crash;
    /// `HandlerFuzz --write-seeds DIR` writes the seed inputs (Fuzz/corpus/handlers is made of them).
    static func replay(_ paths: ArraySlice<String>) {
        if paths.first == "--write-seeds", paths.count == 2 {
            writeSeeds(to: paths.last!)
            return
        }
        if paths.isEmpty {
            print("usage: HandlerFuzz FILE...  (replays inputs; scripts/fuzz-handlers builds the libFuzzer target)")
            exit(64)
        }
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                exit(1)
            }
            let bytes = [UInt8](data)
            _ = bytes.withUnsafeBufferPointer { buffer in
                withUnsafePointer(to: 0 as UInt8) { empty in fuzz(buffer.baseAddress ?? empty, buffer.count) }
            }
            print("\(path): ok (\(bytes.count) bytes)")
        }
    }
}

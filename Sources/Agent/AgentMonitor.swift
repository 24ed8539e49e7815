import Foundation
import Libvirt
import Logging
import Wire

/// Owns the collectors and the monitoring store: samples every interval, and answers what the manager link
/// and agentctl ask about the host and its VMs. Sampling goes on whether or not a manager is connected.
public actor AgentMonitor {
    public let configuration: AgentConfiguration
    public let capacity: HostCapacity
    private var host: HostCollector
    private var domains: DomainCollector
    private var store: MonitoringStore
    private let logger: Logger
    private let startedAt = ContinuousClock.now
    private var roundSubscribers: [UUID: AsyncStream<Int>.Continuation] = [:]
    private var round = 0
    private let link: ManagerLinkStatus
    private let metrics: AgentMetrics

    public init(
        configuration: AgentConfiguration,
        connection: LibvirtConnection,
        link: ManagerLinkStatus,
        logger: Logger,
        metrics: AgentMetrics = .none
    ) async throws {
        self.configuration = configuration
        self.link = link
        self.metrics = metrics
        self.logger = logger
        self.host = HostCollector(procRoot: configuration.procRoot, interfaces: Set(configuration.hostInterfaces))
        self.domains = DomainCollector(connection: connection)
        self.store = MonitoringStore(ringCapacity: configuration.ringCapacity)
        let node = try await connection.nodeInfo()
        self.capacity = HostCapacity(
            cores: UInt16(clamping: node.cores),
            memoryBytes: node.memoryKiB * 1024,
            nicRxBytesPerSecond: configuration.capacityNICBytesPerSecond,
            nicTxBytesPerSecond: configuration.capacityNICBytesPerSecond
        )
    }

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// One sampling round: every collector, then the store. A failing collector is logged and skipped.
    /// Rounds never overlap: a call during a round (a VM command, a lifecycle event) asks for one more round
    /// right after it instead of racing it for the collectors' previous readings.
    public func sampleOnce() async {
        guard !roundInProgress else {
            anotherRoundRequested = true
            return
        }
        roundInProgress = true
        defer { roundInProgress = false }
        repeat {
            anotherRoundRequested = false
            await runRound()
        } while anotherRoundRequested
    }

    private var roundInProgress = false
    private var anotherRoundRequested = false
    /// The domain collector's latest error while it keeps failing; nil while it succeeds.
    private var domainCollectorFailure: String?
    /// The libvirt connection's reopen count when last looked at.
    private var libvirtReconnections = 0
    /// What libvirt said when the latest round found libvirtd unreachable (the connection could not be opened
    /// again); nil once a round reads the domains. The manager link tells the manager (HypervisorStatus).
    public private(set) var hypervisorProblem: String?

    private func noteDomainCollectorSucceeded(reconnections: Int) {
        if reconnections != libvirtReconnections {
            libvirtReconnections = reconnections
            logger.notice(
                "libvirt connection lost and opened again (libvirtd restarted)",
                metadata: [
                    "torpor.libvirt_uri": "\(configuration.libvirtURI)", "torpor.reconnections": "\(reconnections)",
                ]
            )
        }
        if domainCollectorFailure != nil {
            domainCollectorFailure = nil
            logger.notice("domain collector back", metadata: ["torpor.collector": "domains"])
        }
    }

    private func runRound() async {
        let time = SampleTime(monotonic: .now, wallClockMilliseconds: Self.nowMilliseconds())
        var hostOutput: HostCollector.Output?
        // Collectors are values: take them out, collect, put them back (safe because rounds never overlap).
        var host = self.host
        var domains = self.domains
        defer {
            self.host = host
            self.domains = domains
        }
        if configuration.hostMetrics == .proc {
            let started = ContinuousClock.now
            do {
                hostOutput = try await host.collect(at: time)
                metrics.collectorRan(host.name, took: .now - started, succeeded: true)
            } catch {
                metrics.collectorRan(host.name, took: .now - started, succeeded: false)
                logger.warning(
                    "host collector failed",
                    metadata: ["torpor.collector": "host", "torpor.error": "\(error)"]
                )
            }
        }
        let started = ContinuousClock.now
        do {
            let vms = try await domains.collect(at: time)
            metrics.collectorRan(domains.name, took: .now - started, succeeded: true)
            if configuration.hostMetrics == .vms { hostOutput = HostFromVMs.output(of: vms, capacity: capacity) }
            store.record(time: time, host: hostOutput, vms: vms)
            noteDomainCollectorSucceeded(reconnections: domains.connection.reconnections)
            hypervisorProblem = nil
        } catch {
            if let libvirtError = error as? LibvirtError, libvirtError.errorCode == .noConnect {
                hypervisorProblem = libvirtError.message
            }
            metrics.collectorRan(domains.name, took: .now - started, succeeded: false)
            // Once per new error: libvirtd down for an hour would otherwise log a line every round.
            let description = "\(error)"
            if description != domainCollectorFailure {
                logger.warning(
                    "domain collector failed",
                    metadata: ["torpor.collector": "domains", "torpor.error": "\(description)"]
                )
            }
            domainCollectorFailure = description
            // A gap: the VMs keep their last state and samples, and no report is made from this round.
            store.record(time: time, host: hostOutput, vms: nil)
        }
        round += 1
        for continuation in roundSubscribers.values { continuation.yield(round) }
    }

    /// Samples every `configuration.sampleInterval` until cancelled. The first round is the caller's
    /// `sampleOnce()` at start-up, so this waits one interval first: rates over a few milliseconds are noise.
    public func runSampling() async {
        while (try? await Task.sleep(for: configuration.sampleInterval)) != nil {
            await sampleOnce()
        }
        for continuation in roundSubscribers.values { continuation.finish() }
    }

    /// Runs a round whenever libvirt reports a domain starting, stopping, pausing or vanishing, so the
    /// inventory reaches the manager without waiting for the next interval. Returns when cancelled.
    public func followLifecycleEvents(of connection: LibvirtConnection) async {
        // The stream survives a libvirtd restart (the connection carries it over when it reopens); should it end
        // anyway while the agent runs, the agent subscribes again.
        var loggedFailure = false
        while !Task.isCancelled {
            let events: AsyncStream<DomainLifecycleEvent>
            do {
                events = try await connection.domainLifecycleEvents()
                loggedFailure = false
            } catch {
                if !loggedFailure {
                    logger.notice(
                        "no lifecycle events; inventory follows the sampling interval",
                        metadata: ["torpor.error": "\(error)"]
                    )
                    loggedFailure = true
                }
                // A driver without events, or the agent closing the connection: nothing to wait for.
                if [.noSupport, .invalidConnection].contains(error.errorCode) { return }
                try? await Task.sleep(for: configuration.sampleInterval)
                continue
            }
            for await event in events {
                logger.info("domain event", metadata: ["torpor.vm": "\(event.name)", "torpor.event": "\(event.kind)"])
                await sampleOnce()
            }
            try? await Task.sleep(for: configuration.sampleInterval)
        }
    }

    /// A stream of round numbers, one element after each sampling round, for as long as the caller iterates.
    public func rounds() -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        roundSubscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UUID) { roundSubscribers[id] = nil }

    public var inventoryGeneration: Int { store.inventoryGeneration }

    public func inventory() -> Inventory { store.inventory(hostID: configuration.hostID) }

    public func report() -> MonitoringReport? { store.report(timestampMilliseconds: Self.nowMilliseconds()) }

    /// The newest round's number with its report; nil when that round made none (see `MonitoringStore.report`).
    public func newestReport() -> (round: Int, report: MonitoringReport)? {
        report().map { (round, $0) }
    }

    /// Samples held in the rings, for the metrics at scrape time.
    func recordRingMetrics() {
        metrics.recordRings(
            hostSamples: store.host.count,
            vmSamples: store.vms.values.reduce(0) { $0 + $1.samples.count },
            vms: store.vms.count
        )
    }

    public func samples(vm: String, last: Int?) -> SamplesReply? { store.samples(vm: vm, last: last) }

    public func status(agentVersion: String) -> StatusReply {
        var reply = StatusReply(
            hostID: configuration.hostID,
            hostname: configuration.hostname,
            agentVersion: agentVersion,
            uptimeSeconds: UInt64((ContinuousClock.now - startedAt).components.seconds),
            capacity: capacity,
            manager: link.current,
            host: store.host.last?.sample,
            vms: store.statusVMs()
        )
        reply.hypervisorProblem = hypervisorProblem
        return reply
    }
}

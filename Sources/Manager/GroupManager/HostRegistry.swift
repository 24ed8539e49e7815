import Logging
import Wire

/// The group manager's hosts: joins, heartbeats, reports, inventories, and failure by heartbeat timeout.
/// A returning host rejoins under the same identity and becomes ACTIVE again.
public actor HostRegistry {
    private var hosts: [String: HostRecord] = [:]
    private let ringCapacity: Int
    private let logger: Logger

    public init(ringCapacity: Int, logger: Logger) {
        self.ringCapacity = ringCapacity
        self.logger = logger
    }

    public func join(_ description: AgentDescription, at now: ContinuousClock.Instant) {
        let previous = hosts[description.hostID]
        hosts[description.hostID] = HostRecord(
            description: description,
            state: .active,
            joinedAt: now,
            lastHeartbeat: now,
            lastReport: nil,
            inventory: previous?.inventory,
            reports: RingBufferOfReports(capacity: ringCapacity)
        )
        logger.info(
            previous == nil ? "hello from agent: host joined" : "hello from agent: host rejoined",
            metadata: [
                "torpor.host": "\(description.hostID)",
                "torpor.hostname": "\(description.hostname)",
                "torpor.cores": "\(description.capacity.cores)",
                "torpor.memory_bytes": "\(description.capacity.memoryBytes)",
                "torpor.previous_state": "\(previous?.state.rawValue ?? "new")",
            ]
        )
    }

    public func heartbeat(from hostID: String, at now: ContinuousClock.Instant) {
        guard var host = hosts[hostID] else { return }
        host.lastHeartbeat = now
        host.heartbeats += 1
        if host.state == .failed {
            host.state = .active
            logger.notice("host back after failure", metadata: ["torpor.host": "\(hostID)"])
        }
        hosts[hostID] = host
    }

    public func record(_ inventory: Inventory, from hostID: String) {
        hosts[hostID]?.inventory = inventory
    }

    public func record(_ report: MonitoringReport, from hostID: String, at now: ContinuousClock.Instant) {
        hosts[hostID]?.reports.append(report)
        hosts[hostID]?.lastReport = now
    }

    /// Marks hosts silent for longer than `timeout` as FAILED; returns them with the VMs they were running.
    public func expire(timeout: Duration, at now: ContinuousClock.Instant) -> [HostRecord] {
        var failed: [HostRecord] = []
        for (id, host) in hosts where host.state == .active && now - host.lastHeartbeat > timeout {
            hosts[id]?.state = .failed
            failed.append(hosts[id]!)
            logger.error(
                "host failed: no heartbeat",
                metadata: [
                    "torpor.host": "\(id)",
                    "torpor.silent_for": "\(now - host.lastHeartbeat)",
                    "torpor.vms": "\(host.inventory?.vms.map(\.name).joined(separator: ",") ?? "")",
                ]
            )
        }
        return failed
    }

    public func host(_ id: String) -> HostRecord? { hosts[id] }

    public func all() -> [HostRecord] { hosts.values.sorted { $0.hostID < $1.hostID } }
}

import Placement

/// What the relocation and consolidation loop reads from the group leader (docs/manager.md, "Consolidation").
extension GroupLeader {
    /// Every host with the state placement gives it, and every stored VM, read under the decisions lock so that no
    /// plan or power decision is half-made while they are read.
    public func planningState() async throws -> (hosts: [PlanningHost], vms: [StoredVM]) {
        await lockDecisions()
        defer { unlockDecisions() }
        let hosts = await groupManager.hosts().map { host in
            PlanningHost(id: host.hostID, capacity: ResourceVector(host.capacity), state: placementState(of: host))
        }
        return (hosts, try await store.vms())
    }

    /// As the start tasks see a host: the energy saver's view first (asleep, waking, failed to wake), then the
    /// group manager's (ACTIVE, connected and its libvirtd answering; anything else is never used).
    func placementState(of host: ManagedHost) -> HostState {
        switch power[host.hostID]?.state {
        case .sleeping?: .sleeping
        case .waking?: .waking
        case .failed?: .failed
        default: host.isUsable ? .active : .failed
        }
    }
}

/// The loop starts its moves through the leader's migration tasks (docs/manager.md, "Migration").
extension GroupLeader: MigrationStarting {
    public func startMigration(vmName: String, to hostID: String, reason: String) async throws -> String {
        try await startMigration(vm: vmName, to: hostID, reason: reason)
    }

    /// Running while the task is pending or running, and when the store cannot be read (asked again at the next
    /// refresh); failed when the store no longer has it.
    public func migrationOutcome(taskID: String) async -> MigrationTaskOutcome {
        do {
            guard let task = try await store.task(id: taskID) else { return .failed }
            switch task.state {
            case .pending, .running: return .running
            case .succeeded: return .succeeded
            case .failed: return .failed
            }
        } catch {
            return .running
        }
    }

    /// Hosts with a migration in or out, hosts whose agent did not announce `liveMigration` (its libvirt driver
    /// cannot migrate, like the test driver): relocation and consolidation would only make failed tasks there; and
    /// cordoned hosts, out of service (a drain empties them).
    public func hostsPlanningLeavesAlone() async -> Set<String> {
        var hosts = Set(hostsWithMigrations().keys).union(cordons.keys)
        for host in await groupManager.hosts() where !host.capabilities.contains(.liveMigration) {
            hosts.insert(host.hostID)
        }
        return hosts
    }
}

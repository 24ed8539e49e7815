import ServiceLifecycle

/// On a group leader with `group_managers:`: every `interval` (`group_managers.rebalance_interval`), moves at most
/// one host towards the spread the assignment policy deals (`RemoteGroupManagers.rebalance`), first after one
/// interval. Not in the group when the interval is 0.
struct RebalanceService: Service {
    let interval: Duration
    let rebalance: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: interval)) != nil {
                await rebalance()
            }
        }
    }
}

import Etcd
import Logging
import ServiceLifecycle
import Synchronization
import Systemd
import Transport

/// A manager that fails over (`coordination:`, docs/ha.md): it campaigns in the etcd election and stands by until
/// elected, its listener answering only who leads (`StandbyListener`); elected, it starts the whole single-process manager (`start()`: state, listener, group leader and the
/// rest) as a service group of its own. Losing the election (keepalives unconfirmed for 2/3 of the lease TTL, the
/// lease gone, the key deleted) stops acting at once: the service throws `ManagerLostLeadership` and torpor-manager
/// exits 75, so systemd's restart campaigns again with fresh state rather than a leader that might still act.
/// A graceful stop (SIGTERM) resigns: the lease is revoked and the next manager leads at once.
struct CoordinatedManagerService: Service {
    let election: Election
    let client: EtcdClient
    /// One element when this manager is elected (the first time only).
    let elected: AsyncStream<Void>
    /// One element when it stops leading, with the reason.
    let stopped: AsyncStream<ElectionMachine.StopReason>
    /// Binds the standby's listener (`StandbyListener`): "who leads" answered, everything else refused.
    let standby: @Sendable () async throws -> WireServer
    let start: @Sendable () async throws -> [any Service]
    let logger: Logger

    func run() async throws {
        defer { Task { [client] in await client.shutdown() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await election.run() }
            logger.notice("standing by: campaigning for leadership", metadata: ["torpor.prefix": "\(election.prefix)"])
            // Standing by is this unit's ready state (Type=notify): without READY=1 systemd would kill a standby
            // after TimeoutStartSec. Elected, the leading group's ReadinessService says READY=1 again, harmlessly.
            let notifier = SystemdNotifier()
            _ = try? notifier.notify("READY=1\nSTATUS=standing by: campaigning for leadership")
            // Stand by until elected, or until asked to stop, answering "who leads" on the listen address; the
            // standby listener closes before the elected manager binds the same address.
            let elected = self.elected
            let standbyServer = try await standby()
            let wasElected = await withTaskGroup(of: Bool?.self) { standing in
                standing.addTask { [logger] in
                    do {
                        try await standbyServer.run()
                    } catch {
                        logger.error("the standby listener failed", metadata: ["torpor.error": "\(error)"])
                    }
                    return nil
                }
                standing.addTask {
                    await cancelWhenGracefulShutdown { () async -> Bool in
                        for await _ in elected { return true }
                        return false
                    }
                }
                while let result = await standing.next() {
                    guard let wasElected = result else { continue }
                    standing.cancelAll()
                    return wasElected
                }
                return false
            }
            guard wasElected, !Task.isCancelled else {
                group.cancelAll()
                return
            }
            logger.notice("elected: starting the group leader", metadata: ["torpor.key": "\(election.key ?? "?")"])
            _ = try? notifier.status("leading")
            let services = try await start()
            let leading = ServiceGroup(
                configuration: .init(services: services.map { .init(service: $0) }, logger: logger)
            )
            group.addTask {
                // Stops gracefully with the outer group (SIGTERM) and then resigns.
                try await leading.run()
            }
            group.addTask { [stopped, logger] in
                for await reason in stopped where reason != .resigned {
                    logger.critical("stopped leading", metadata: ["torpor.reason": "\(reason.rawValue)"])
                    throw ManagerLostLeadership(reason: reason)
                }
            }
            try await withGracefulShutdownHandler {
                // Whichever ends first: the leading group (stopped gracefully) or a lost election (thrown).
                try await group.next()
            } onGracefulShutdown: {
                Task { await leading.triggerGracefulShutdown() }
            }
            group.cancelAll()
        }
    }
}

/// A coordinated manager stopped leading: torpor-manager exits 75 (EX_TEMPFAIL) and systemd starts it again.
public struct ManagerLostLeadership: Error, CustomStringConvertible {
    public var reason: ElectionMachine.StopReason
    public var description: String { "stopped leading (\(reason.rawValue)); exiting so a restart campaigns again" }
}

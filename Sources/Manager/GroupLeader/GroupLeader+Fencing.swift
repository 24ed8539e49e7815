import Foundation
import Logging

/// A FAILED host's fate is unknown: it may still run its VMs. They are started elsewhere only after the host is
/// fenced (powered off through its BMC and confirmed off) — automatically for VMs marked highly available, when a
/// user starts them otherwise. Without a fencing driver nothing is restarted elsewhere, and the task says why.
extension GroupLeader {
    /// Fences `host`; once it is confirmed off, its VMs are recorded stopped there, free to be placed anew.
    func fence(_ host: String) async -> HostFencingOutcome {
        guard let fencing else {
            return .noDriver("no fencing driver is configured for \(host)")
        }
        if fencesInFlight[host] != nil {
            return await withCheckedContinuation { fencesInFlight[host, default: []].append($0) }
        }
        fencesInFlight[host] = []
        // Never powered off under a migration in or out: each ends (from the inventories at worst) within its
        // outcome wait, and the VM's host is known then.
        if let moving = migrations.runningMoves(touching: host).first {
            logger.notice(
                "fencing waits for a migration to end",
                metadata: [.host: "\(host)", .task: "\(moving.taskID)", .vm: "\(moving.vmName)"]
            )
            while !migrations.runningMoves(touching: host).isEmpty, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        logger.notice("fencing a FAILED host", metadata: [.host: "\(host)"])
        let outcome = await fencing.fence(host: host)
        defer {
            for waiter in fencesInFlight.removeValue(forKey: host) ?? [] { waiter.resume(returning: outcome) }
        }
        switch outcome {
        case .fenced:
            await lockDecisions()
            defer { unlockDecisions() }
            let stranded =
                (try? await store.vms(onHost: host).filter {
                    [.unreachable, .starting, .running, .suspended, .shuttingDown].contains($0.state)
                }) ?? []
            for vm in stranded {
                try? await store.setVMPlacement(
                    id: vm.id,
                    hostID: nil,
                    state: .stopped,
                    reason: "\(host) was fenced (powered off) while FAILED"
                )
            }
            logger.notice(
                "host fenced; its VMs are stopped",
                metadata: [.host: "\(host)", .vms: "\(stranded.map(\.name).joined(separator: ","))"]
            )
        case .notFenced(let reason), .noDriver(let reason):
            logger.error(
                "host not fenced; its VMs are not restarted elsewhere",
                metadata: [.host: "\(host)", .error: "\(reason)"]
            )
        }
        return outcome
    }

    /// A FAILED host ran highly available VMs: fence it, then start them elsewhere, one task per VM.
    func evacuate(_ host: String) async {
        let candidates =
            (try? await store.vms(onHost: host).filter { $0.highlyAvailable && $0.state == .unreachable }) ?? []
        guard !candidates.isEmpty else { return }
        guard case .fenced = await fence(host) else { return }
        for vm in candidates {
            do throws(ClusterRequestError) {
                let task = try await submit("start", cluster: vm.vcName, vm: vm.name)
                logger.notice(
                    "restarting a highly available VM elsewhere",
                    metadata: [.vm: "\(vm.name)", .host: "\(host)", .task: "\(task.id)"]
                )
            } catch {
                logger.error(
                    "cannot restart a highly available VM",
                    metadata: [.vm: "\(vm.name)", .error: "\(error)"]
                )
            }
        }
    }
}

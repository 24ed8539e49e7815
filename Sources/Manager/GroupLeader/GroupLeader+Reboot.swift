import Wire

/// Rebooting a VM: libvirt's reboot (an ACPI request to the guest) through its host's agent, as a task like the other
/// VM actions. The VM stays on its host and keeps running; only a running VM can be rebooted. Snooze's
/// `rebootVirtualMachine` comes here; the Wire `ClusterRequest` has no reboot action (yet).
extension GroupLeader {
    /// Records and queues a task rebooting `vm` of `cluster` (every running VM of the cluster when `vm` is empty).
    public func submitReboot(cluster: String, vm: String) async -> WireMessage {
        do throws(ClusterRequestError) {
            return .taskStatus(try await submit("reboot", cluster: cluster, vm: vm))
        } catch {
            logger.notice("request refused", metadata: [.error: "\(error)"])
            return .commandResult(error.result)
        }
    }

    func reboot(_ vms: [StoredVM], task: inout StoredTask) async {
        var work: [(StoredVM, String)] = []
        for vm in vms {
            if let host = vm.hostID, vm.state == .running {
                work.append((vm, host))
                setOutcome(&task, vm.name, .inProgress, host: host, "reboot")
            } else {
                setOutcome(
                    &task,
                    vm.name,
                    .failed,
                    host: vm.hostID ?? "",
                    "cannot reboot a VM that is \(vm.state.rawValue)"
                )
            }
        }
        await save(&task, detail: "reboot \(work.count) VM\(work.count == 1 ? "" : "s")")
        await withTaskGroup(of: (StoredVM, String, CommandResult).self) { group in
            for (vm, host) in work {
                let groupManager = self.groupManager
                group.addTask { (vm, host, await groupManager.send(.reboot(name: vm.name), to: host)) }
            }
            for await (vm, host, result) in group {
                setOutcome(&task, vm.name, result.isOK ? .done : .failed, host: host, result.message)
                await save(&task, detail: progress(task))
            }
        }
    }
}

import Wire

/// Rebooting a VM: libvirt's reboot (an ACPI request to the guest) through its host's agent, as a task like the other
/// VM actions (`act(.reboot, …)`). The VM stays on its host and keeps running; only a running VM can be rebooted.
/// Snooze's `rebootVirtualMachine` comes here; the Wire `ClusterRequest` has no reboot action (yet).
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
}

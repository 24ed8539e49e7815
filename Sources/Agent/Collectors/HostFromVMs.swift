import Wire

/// The host as the sum of its VMs, for a simulated host that has no `/proc` of its own (a lab host on libvirt's test
/// driver, or one of several agents on one machine): its CPU, memory and traffic are its VMs', never the machine's.
public enum HostFromVMs {
    static let inactive: Set<VMState> = [.shutOff, .crashed, .noState]

    /// One round's host sample from the domain collector's observations; CPU in use is nil (unknown) while a
    /// running VM has no rates yet, so the round is a gap rather than an undercount.
    public static func output(of observations: [VMObservation], capacity: HostCapacity) -> HostCollector.Output {
        var cpu = 0.0
        var memory: UInt64 = 0
        var rx = 0.0
        var tx = 0.0
        var complete = true
        // A stopped domain uses nothing, whatever its stats say (the test driver makes numbers up for it).
        for observation in observations where !Self.inactive.contains(observation.state) {
            guard let metrics = observation.metrics else {
                if observation.state == .running || observation.state == .blocked { complete = false }
                continue
            }
            cpu += metrics.cpuCoresInUse
            memory &+= metrics.memoryInUseBytes
            rx += metrics.networkRxBytesPerSecond
            tx += metrics.networkTxBytesPerSecond
        }
        return HostCollector.Output(
            cores: Int(capacity.cores),
            memoryTotalBytes: capacity.memoryBytes,
            memoryInUseBytes: min(memory, capacity.memoryBytes),
            cpuCoresInUse: complete ? cpu : nil,
            networkRxBytesPerSecond: rx,
            networkTxBytesPerSecond: tx
        )
    }
}

import Wire

/// A protobuf message whose values do not fit Wire's types (the gRPC server refuses it, as Wire's decoder would).
public struct IngestMessageError: Error, Equatable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

// Wire's messages and their protobuf twins (Protos/ingest.proto), field for field.

extension Torpor_Ingest_AgentHello {
    public init(_ hello: Hello) {
        self.init()
        softwareVersion = hello.softwareVersion
        nodeName = hello.nodeName
        if let agent = hello.agent {
            hostID = agent.hostID
            hostname = agent.hostname
            capabilities = agent.capabilities.rawValue
            cores = UInt32(agent.capacity.cores)
            memoryBytes = agent.capacity.memoryBytes
            nicRxBytesPerSecond = agent.capacity.nicRxBytesPerSecond
            nicTxBytesPerSecond = agent.capacity.nicTxBytesPerSecond
            listenAddress = agent.listenAddress
        }
    }
}

extension Hello {
    /// An agent's Hello (wake settings at their defaults: the simulated agents send none).
    public init(_ message: Torpor_Ingest_AgentHello) throws(IngestMessageError) {
        guard let cores = UInt16(exactly: message.cores) else {
            throw IngestMessageError(description: "AgentHello.cores \(message.cores) is over \(UInt16.max)")
        }
        self.init(
            role: .agent,
            softwareVersion: message.softwareVersion,
            nodeName: message.nodeName,
            agent: AgentDescription(
                hostID: message.hostID,
                hostname: message.hostname,
                capabilities: AgentCapabilities(rawValue: message.capabilities),
                capacity: HostCapacity(
                    cores: cores,
                    memoryBytes: message.memoryBytes,
                    nicRxBytesPerSecond: message.nicRxBytesPerSecond,
                    nicTxBytesPerSecond: message.nicTxBytesPerSecond
                ),
                wake: WakeSettings(),
                listenAddress: message.listenAddress
            )
        )
    }
}

extension Torpor_Ingest_MonitoringReport {
    public init(_ report: MonitoringReport) {
        self.init()
        timestampMilliseconds = report.timestampMilliseconds
        host.cpuCoresInUse = report.host.cpuCoresInUse
        host.memoryInUseBytes = report.host.memoryInUseBytes
        host.networkRxBytesPerSecond = report.host.networkRxBytesPerSecond
        host.networkTxBytesPerSecond = report.host.networkTxBytesPerSecond
        vms = report.vms.map { vm in
            var sample = Torpor_Ingest_VMSample()
            sample.slot = UInt32(vm.slot)
            sample.state = Torpor_Ingest_VMState(rawValue: Int(vm.state.rawValue)) ?? .noState
            sample.cpuCoresInUse = vm.cpuCoresInUse
            sample.memoryInUseKiB = vm.memoryInUseKiB
            sample.networkRxBytesPerSecond = vm.networkRxBytesPerSecond
            sample.networkTxBytesPerSecond = vm.networkTxBytesPerSecond
            sample.diskReadBytesPerSecond = vm.diskReadBytesPerSecond
            sample.diskWriteBytesPerSecond = vm.diskWriteBytesPerSecond
            return sample
        }
    }
}

extension MonitoringReport {
    public init(_ message: Torpor_Ingest_MonitoringReport) throws(IngestMessageError) {
        var vms: [VMSample] = []
        vms.reserveCapacity(message.vms.count)
        for (index, sample) in message.vms.enumerated() {
            guard let slot = UInt16(exactly: sample.slot) else {
                throw IngestMessageError(description: "MonitoringReport.vms[\(index)].slot \(sample.slot) is over \(UInt16.max)")
            }
            guard let rawState = UInt8(exactly: sample.state.rawValue), let state = VMState(rawValue: rawState) else {
                throw IngestMessageError(
                    description: "MonitoringReport.vms[\(index)].state \(sample.state.rawValue) is no VMState"
                )
            }
            vms.append(
                VMSample(
                    slot: slot,
                    state: state,
                    cpuCoresInUse: sample.cpuCoresInUse,
                    memoryInUseKiB: sample.memoryInUseKiB,
                    networkRxBytesPerSecond: sample.networkRxBytesPerSecond,
                    networkTxBytesPerSecond: sample.networkTxBytesPerSecond,
                    diskReadBytesPerSecond: sample.diskReadBytesPerSecond,
                    diskWriteBytesPerSecond: sample.diskWriteBytesPerSecond
                )
            )
        }
        self.init(
            timestampMilliseconds: message.timestampMilliseconds,
            host: HostSample(
                cpuCoresInUse: message.host.cpuCoresInUse,
                memoryInUseBytes: message.host.memoryInUseBytes,
                networkRxBytesPerSecond: message.host.networkRxBytesPerSecond,
                networkTxBytesPerSecond: message.host.networkTxBytesPerSecond
            ),
            vms: vms
        )
    }
}

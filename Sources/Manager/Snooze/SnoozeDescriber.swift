import Foundation

/// Snooze's descriptions of what the leader knows (pure: a view in, Snooze's shapes out), shared by the REST API
/// and the events the leader publishes. `base` is the address every reply advertises (docs/snooze-api.md).
public struct SnoozeDescriber: Sendable {
    let managerID: String
    /// The manager's Wire port, shown as the monitoring data address.
    let wirePort: Int
    let hostWake: [String: HostWakeConfiguration]
    /// Shown as each host's hypervisor migration timeout (`migration.timeout`, seconds; 0: the agent's own).
    let migrationTimeoutSeconds: Int

    public init(
        managerID: String,
        wirePort: Int,
        hostWake: [String: HostWakeConfiguration] = [:],
        migrationTimeoutSeconds: Int = 0
    ) {
        self.managerID = managerID
        self.wirePort = wirePort
        self.hostWake = hostWake
        self.migrationTimeoutSeconds = migrationTimeoutSeconds
    }

    func groupLeaderDescription(base: Snooze.NetworkAddress) -> Snooze.GroupManagerDescription {
        Snooze.GroupManagerDescription(
            id: managerID,
            hostname: base.address,
            listenSettings: listenSettings(base),
            localControllers: [:],
            heartbeatAddress: Self.noHeartbeat,
            summaryInformation: [:]
        )
    }

    /// The one group manager: this manager, with every host.
    func groupManager(_ view: GroupLeaderView, base: Snooze.NetworkAddress) -> Snooze.GroupManagerDescription {
        let controllers = localControllers(view, base: base)
        var active = [0.0, 0, 0, 0]
        var passive = [0.0, 0, 0, 0]
        for controller in controllers {
            let into = controller.status == "ACTIVE"
            for index in 0..<4 {
                if into { active[index] += controller.totalCapacity[index] } else {
                    passive[index] += controller.totalCapacity[index]
                }
            }
        }
        var requested = [0.0, 0, 0, 0]
        for vm in view.vms where Self.placedStates.contains(vm.record.state) {
            for (index, value) in Self.capacity(of: vm.record).enumerated() { requested[index] += value }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return Snooze.GroupManagerDescription(
            id: managerID,
            hostname: base.address,
            listenSettings: listenSettings(base),
            localControllers: Dictionary(uniqueKeysWithValues: controllers.map { ($0.id, $0) }),
            heartbeatAddress: Self.noHeartbeat,
            summaryInformation: [
                "\(now)": Snooze.Summary(
                    timeStamp: now,
                    usedCapacity: requested,
                    requestedCapacity: requested,
                    localControllers: controllers.map(\.id),
                    activeCapacity: active,
                    passiveCapacity: passive
                )
            ]
        )
    }

    func localControllers(_ view: GroupLeaderView, base: Snooze.NetworkAddress) -> [Snooze.LocalControllerDescription] {
        view.hosts.sorted { $0.hostID < $1.hostID }.map { localController($0, in: view, base: base) }
    }

    func localController(
        _ host: ManagedHost,
        in view: GroupLeaderView,
        base: Snooze.NetworkAddress
    ) -> Snooze.LocalControllerDescription {
        let vms = view.vms.filter { $0.record.hostID == host.hostID && Self.placedStates.contains($0.record.state) }
        return Snooze.LocalControllerDescription(
            id: host.hostID,
            hostname: host.hostID,
            controlDataAddress: base,
            status: Self.status(of: host, in: view),
            hypervisorSettings: Snooze.HypervisorSettings(
                port: 16509,
                driver: "qemu",
                transport: "tcp",
                migration: .init(method: "live", timeout: migrationTimeoutSeconds)
            ),
            totalCapacity: [
                Double(host.capacity.cores), Double(host.capacity.memoryBytes) / 1024,
                Double(host.capacity.nicRxBytesPerSecond) / 1024, Double(host.capacity.nicTxBytesPerSecond) / 1024,
            ],
            virtualMachineMetaData: Dictionary(
                vms.map { ($0.record.name, metaData($0, base: base)) },
                uniquingKeysWith: { first, _ in first }
            ),
            wakeupSettings: Snooze.WakeupSettings(driver: wakeDriver(host.hostID), options: "")
        )
    }

    func wakeDriver(_ hostID: String) -> String {
        switch hostWake[hostID]?.drivers.first {
        case .ipmi?: "IPMI"
        case .wakeOnLAN?: "WOL"
        case .command?: "COMMAND"
        case nil: "NONE"
        }
    }

    /// `errorCode` from the task at hand when there is one, else from the VM's state; `usedCapacity` is the host's
    /// monitoring estimate when it comes from samples, stamped `now` (Snooze kept a history by time).
    func metaData(
        _ vm: GroupLeaderView.VM,
        base: Snooze.NetworkAddress,
        errorCode: SnoozeErrorCode? = nil,
        now: Date = Date()
    ) -> Snooze.VirtualMachineMetaData {
        Snooze.VirtualMachineMetaData(
            status: Self.status(of: vm.record.state),
            virtualMachineLocation: Snooze.VirtualMachineLocation(
                virtualMachineId: vm.record.name,
                localControllerId: vm.record.hostID ?? "",
                groupManagerId: managerID,
                groupManagerControlDataAddress: base,
                localControllerControlDataAddress: base
            ),
            usedCapacity: Self.usedCapacity(vm.estimate, at: now),
            requestedCapacity: Self.capacity(of: vm.record),
            ipAddress: vm.lease.map { "\($0.ip)" } ?? "",
            errorCode: (errorCode ?? SnoozeErrorCode.of(vm.record.state)).rawValue,
            groupManagerControlDataAddress: base,
            xmlRepresentation: vm.record.templateXML
        )
    }

    func listenSettings(_ base: Snooze.NetworkAddress) -> Snooze.ListenSettings {
        Snooze.ListenSettings(
            controlDataAddress: base,
            monitoringDataAddress: Snooze.NetworkAddress(address: base.address, port: wirePort)
        )
    }

    /// Torpor has no multicast heartbeats (they ride on the agents' connections).
    static let noHeartbeat = Snooze.NetworkAddress(address: "UNKNOWN", port: -1)

    static let placedStates: Set<StoredVM.State> = [.starting, .running, .suspended, .shuttingDown]

    static func capacity(of vm: StoredVM) -> [Double] {
        [
            Double(vm.virtualCPUs), Double(vm.memoryBytes) / 1024, Double(vm.networkRx) / 1024,
            Double(vm.networkTx) / 1024,
        ]
    }

    /// A measured estimate as Snooze's one-entry history `{"MILLISECONDS": [cores, KiB, rx KiB/s, tx KiB/s]}`;
    /// empty without samples (the estimate would only repeat the request).
    static func usedCapacity(_ estimate: VMEstimate?, at now: Date) -> [String: [Double]] {
        guard let estimate, estimate.samples > 0 else { return [:] }
        let used = estimate.estimated
        return [
            "\(Int64(now.timeIntervalSince1970 * 1000))": [
                used.cpuCores, used.memoryBytes / 1024, used.networkRxBytesPerSecond / 1024,
                used.networkTxBytesPerSecond / 1024,
            ]
        ]
    }

    /// Snooze's VM statuses.
    static func status(of state: StoredVM.State) -> String {
        switch state {
        case .running: "RUNNING"
        case .suspended: "PAUSED"
        case .shuttingDown: "SHUTDOWN_PENDING"
        case .stopped: "OFFLINE"
        case .failed, .duplicated: "ERROR"
        case .pending, .starting, .missing, .unreachable: "UNKNOWN"
        }
    }

    /// Snooze's local controller statuses.
    static func status(of host: ManagedHost, in view: GroupLeaderView) -> String {
        if view.waking.contains(host.hostID) || host.state == .waking { return "WAKING_UP" }
        if view.asleep.contains(host.hostID) || host.state == .sleeping { return "PASSIVE" }
        return host.state == .active && host.connected ? "ACTIVE" : "UNKNOWN"
    }

    /// The address events advertise, as the REST API's replies do without a request to take a `Host` from:
    /// `http.advertise`, else `http.listen` (a wildcard host replaced by this machine's name), else `listen`.
    static func eventAddress(_ configuration: ManagerConfiguration) -> Snooze.NetworkAddress {
        let http = configuration.http
        let listen = http.listen.flatMap { HostPortText($0, requiresPort: true) }
        if let advertise = http.advertise, let parsed = HostPortText(advertise, requiresPort: false) {
            return Snooze.NetworkAddress(address: parsed.host, port: parsed.port ?? listen?.port ?? 0)
        }
        let chosen = listen ?? HostPortText(configuration.listen, requiresPort: true)
        let host = chosen.map(\.host).flatMap { ["0.0.0.0", "::", ""].contains($0) ? nil : $0 }
        return Snooze.NetworkAddress(address: host ?? ProcessInfo.processInfo.hostName, port: chosen?.port ?? 0)
    }
}

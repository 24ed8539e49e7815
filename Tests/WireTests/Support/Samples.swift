import Wire

// Realistic message values. The `golden…` ones are exactly what the hex fixtures of the same name hold.
enum Samples {
    static let debianUUID = WireUUID("0f476e56-67ea-11e1-858e-00216a972a36")!
    static let webUUID = WireUUID("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")!

    static let capacity = HostCapacity(
        cores: 32,
        memoryBytes: 128 << 30,
        nicRxBytesPerSecond: 1_250_000_000,
        nicTxBytesPerSecond: 1_250_000_000
    )

    static let agentDescription = AgentDescription(
        hostID: "0f2c9e8a7b6d4c3b",
        hostname: "kvm-07.lab",
        capabilities: [.vmLifecycle, .liveMigration, .suspendToRam, .shutdown, .powerMetering],
        capacity: capacity,
        wake: WakeSettings(
            macAddress: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            wakeOnLANTarget: "10.0.0.255:9",
            bmcAddress: "10.0.1.7:623",
            drivers: [.wakeOnLAN, .ipmi]
        ),
        listenAddress: "0.0.0.0:7701"
    )

    static let goldenHello = WireEnvelope(
        message: .hello(
            Hello(
                supportedVersions: [1],
                role: .agent,
                softwareVersion: "0.1.0",
                nodeName: "kvm-07",
                agent: agentDescription
            )
        )
    )

    static let goldenWelcome = WireEnvelope(
        message: .welcome(
            Welcome(
                version: 1,
                role: .manager,
                softwareVersion: "0.1.0",
                nodeName: "mgr-1",
                assignment: Welcome.Assignment(
                    managerID: "mgr-1",
                    heartbeatIntervalMilliseconds: 5000,
                    reportIntervalMilliseconds: 10_000
                )
            )
        )
    )

    static let goldenHeartbeat = WireEnvelope(
        flags: .response,
        requestID: 7,
        message: .heartbeat(Heartbeat(sequence: 42, timestampMilliseconds: 1_763_827_200_123))
    )

    static let goldenError = WireEnvelope(
        message: .error(
            ErrorMessage(
                code: .noCommonVersion,
                message: "no common protocol version: this side speaks [1], the peer speaks [2, 3]"
            )
        )
    )

    static let host = MonitoringReport.HostSample(
        cpuCoresInUse: 3.75,
        memoryInUseBytes: 64 << 30,
        networkRxBytesPerSecond: 1_536_000.5,
        networkTxBytesPerSecond: 2_048_000
    )

    static let goldenMonitoringReport = WireEnvelope(
        message: .monitoringReport(
            MonitoringReport(
                timestampMilliseconds: 1_763_827_205_000,
                host: host,
                vms: [
                    MonitoringReport.VMSample(
                        slot: 0,
                        state: .running,
                        cpuCoresInUse: 1.3,
                        memoryInUseKiB: 2_097_152,
                        networkRxBytesPerSecond: 40_960.25,
                        networkTxBytesPerSecond: 81_920.75,
                        diskReadBytesPerSecond: 1_048_576,
                        diskWriteBytesPerSecond: 2.5
                    ),
                    MonitoringReport.VMSample(
                        slot: 3,
                        state: .paused,
                        cpuCoresInUse: 0,
                        memoryInUseKiB: 4_194_304,
                        networkRxBytesPerSecond: 0,
                        networkTxBytesPerSecond: 0,
                        diskReadBytesPerSecond: 0,
                        diskWriteBytesPerSecond: 0
                    ),
                ]
            )
        )
    )

    static let goldenInventory = WireEnvelope(
        message: .inventory(
            Inventory(
                hostID: "0f2c9e8a7b6d4c3b",
                vms: [
                    Inventory.Entry(
                        slot: 0,
                        uuid: debianUUID,
                        name: "debian1",
                        state: .running,
                        virtualCPUs: 1,
                        memoryKiB: 200_000
                    ),
                    Inventory.Entry(
                        slot: 3,
                        uuid: webUUID,
                        name: "web-01",
                        state: .shutOff,
                        virtualCPUs: 4,
                        memoryKiB: 8_388_608
                    ),
                ]
            )
        )
    )

    static let goldenMigrate = WireEnvelope(
        requestID: 513,
        message: .vmCommand(
            .migrate(
                VMCommand.Migration(
                    name: "web-01",
                    destinationURI: "qemu+tcp://10.0.0.2/system",
                    method: .live,
                    timeoutSeconds: 300
                )
            )
        )
    )

    static let goldenCommandResultError = WireEnvelope(
        flags: .response,
        requestID: 513,
        message: .commandResult(
            CommandResult(
                code: .hypervisorError,
                message: "migration failed",
                detail: "operation failed: domain 'web-01' is not running"
            )
        )
    )

    static let goldenPowerCommand = WireEnvelope(
        requestID: 77,
        message: .powerCommand(PowerCommand(action: .suspendToRam, timeoutSeconds: 10))
    )

    static let goldenManagerStatusRequestPage = WireEnvelope(
        requestID: 5,
        message: .managerStatusRequest(ManagerStatusRequest(page: HostPageRequest()))
    )

    static let goldenManagerStatusReplyPage = WireEnvelope(
        flags: .response,
        requestID: 5,
        message: .managerStatusReply(
            ManagerStatusReply(
                managerID: "mgr-1",
                softwareVersion: "0.1.0",
                uptimeSeconds: 93_784,
                heartbeatTimeoutMilliseconds: 10_000,
                hosts: [
                    ManagerStatusReply.Host(
                        hostID: "h1",
                        hostname: "kvm-1",
                        state: .active,
                        connected: true,
                        millisecondsSinceHeartbeat: 812,
                        millisecondsSinceReport: 1_250,
                        ringFill: 12,
                        ringCapacity: 30,
                        vmCount: 2,
                        capacity: capacity,
                        usage: nil
                    )
                ],
                page: HostPageInfo(totalHosts: 3, more: true)
            )
        )
    )

    static let goldenClusterRequestAddFromImage = WireEnvelope(
        requestID: 19,
        message: .clusterRequest(
            .addFromImage(
                cluster: "web",
                ClusterRequest.ImageVMs(
                    flavor: "small",
                    image: "debian-12",
                    names: ["web-1", "web-2"],
                    sshKeys: ["ssh-ed25519 AAAAC3Nz alice@lab"],
                    networkRxBytesPerSecond: 0,
                    networkTxBytesPerSecond: 12_500_000,
                    highlyAvailable: true
                )
            )
        )
    )

    static let goldenCatalogReply = WireEnvelope(
        flags: .response,
        requestID: 13,
        message: .catalogReply(
            CatalogReply(
                flavors: [
                    CatalogReply.Flavor(id: 3, name: "small", virtualCPUs: 2, memoryBytes: 1 << 30, diskBytes: 10 << 30)
                ],
                images: [
                    CatalogReply.Image(
                        id: 7,
                        name: "debian-12",
                        path: "/srv/images/debian-12.qcow2",
                        format: "qcow2",
                        sizeBytes: 344_457_216,
                        virtualSizeBytes: 2 << 30,
                        sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                        addedAtUnixMilliseconds: 1_764_633_600_000,
                        vmCount: 2
                    )
                ]
            )
        )
    )

    static let goldenEventSubscription = WireEnvelope(
        requestID: 21,
        message: .eventSubscription(EventSubscription(exchanges: [.system, .management], bufferEvents: 256))
    )

    static let goldenEventNotice = WireEnvelope(
        message: .eventNotice(
            EventNotice(
                sequence: 42,
                timeUnixMilliseconds: 1_764_633_600_000,
                exchange: .management,
                routingKey: "m.h.vm.START",
                eventType: "START",
                status: .processed,
                message: #"{"status":"RUNNING"}"#,
                droppedBefore: 3
            )
        )
    )

    static let goldenLeaderQuery = WireEnvelope(requestID: 30, message: .leaderQuery(LeaderQuery()))

    static let goldenLeaderReply = WireEnvelope(
        flags: .response,
        requestID: 30,
        message: .leaderReply(LeaderReply(leader: .elected(managerID: "m2", address: "10.0.0.12:7700")))
    )

    static let goldenLeaderReplyNone = WireEnvelope(
        flags: .response,
        requestID: 31,
        message: .leaderReply(LeaderReply(leader: .nobody))
    )

    static let goldenClusterRequestCordon = WireEnvelope(
        requestID: 516,
        message: .clusterRequest(.cordon(host: "kvm-08", reason: "fw"))
    )

    static let goldenClusterRequestRemoveHost = WireEnvelope(
        requestID: 517,
        message: .clusterRequest(.removeHost(host: "kvm-08", confirmedOff: false))
    )

    static let goldenClusterRequestConsolidate = WireEnvelope(
        requestID: 12,
        message: .clusterRequest(.consolidate(dryRun: true))
    )

    static let goldenConsolidationReply = WireEnvelope(
        flags: .response,
        requestID: 12,
        message: .consolidationReply(
            ConsolidationReply(
                policy: "cost-aware",
                started: false,
                reason: "",
                moves: [
                    ConsolidationReply.Move(
                        vm: "web-1",
                        fromHost: "h3",
                        toHost: "h1",
                        memoryBytes: 1 << 30,
                        costBytes: 1_342_177_280,
                        costSeconds: 10.75
                    )
                ],
                hostsFreed: ["h3"],
                costBytes: 1_342_177_280,
                costSeconds: 10.75,
                hostsUsedBefore: 3,
                hostsUsedAfter: 2,
                hostsLowerBound: 2
            )
        )
    )

    static let goldenEnergyRequestPage = WireEnvelope(
        requestID: 6,
        message: .energyRequest(EnergyRequest(page: HostPageRequest(afterHostID: "h2", limit: 500)))
    )

    static let goldenEnergyReplyPage = WireEnvelope(
        flags: .response,
        requestID: 6,
        message: .energyReply(
            EnergyReply(
                millisecondsMeasured: 3_600_000,
                hosts: [
                    EnergyReply.Host(
                        hostID: "h3",
                        state: .sleeping,
                        millisecondsInState: 133_000,
                        watts: 8.5,
                        millisecondsSinceReading: 2_000,
                        usedKilowattHours: 0.25,
                        alwaysOnKilowattHours: 1.5
                    )
                ],
                page: HostPageInfo(totalHosts: 3, more: false)
            )
        )
    )

    static let goldenStatusReply = WireEnvelope(
        flags: .response,
        requestID: 9,
        message: .statusReply(
            StatusReply(
                hostID: "0f2c9e8a7b6d4c3b",
                hostname: "kvm-07.lab",
                agentVersion: "0.1.0",
                uptimeSeconds: 93_784,
                capacity: capacity,
                manager: StatusReply.ManagerLink(
                    state: .connected,
                    address: "10.0.0.1:7700",
                    sinceMilliseconds: 1_763_827_100_000
                ),
                host: host,
                vms: [
                    StatusReply.VM(
                        uuid: debianUUID,
                        name: "debian1",
                        state: .running,
                        latest: VMMetrics(
                            timestampMilliseconds: 1_763_827_199_000,
                            cpuCoresInUse: 0.37,
                            memoryInUseBytes: 204_800_000,
                            networkRxBytesPerSecond: 12_800.5,
                            networkTxBytesPerSecond: 640.25,
                            diskReadBytesPerSecond: 0,
                            diskWriteBytesPerSecond: 4096
                        ),
                        nics: [
                            StatusReply.NIC(
                                name: "vnet0",
                                rxBytes: 123_456_789,
                                txBytes: 98_765_432,
                                rxBytesPerSecond: 12_800.5,
                                txBytesPerSecond: 640.25
                            )
                        ]
                    )
                ]
            )
        )
    )

    /// A libvirt domain as Snooze's documentation shows it (seeds/000), for VMCommand.start.
    static let domainXML = """
        <?xml version="1.0" encoding="UTF-8" standalone="no"?><domain type="kvm"> <name>debian1</name>  \
        <uuid>0f476e56-67ea-11e1-858e-00216a972a36</uuid>  <memory>200000</memory>  \
        <currentMemory>200000</currentMemory>  <vcpu>1</vcpu>  <os>    <type arch="x86_64" machine="pc-0.12">hvm\
        </type>    <boot dev="hd"/>  </os>  <devices>    <emulator>/usr/bin/kvm</emulator>    \
        <disk device="disk" type="file">      <driver name="qemu" type="qcow2"/>      \
        <source file="/var/lib/torpor/images/debian1.qcow2"/>      <target bus="virtio" dev="vda"/>    </disk>    \
        <interface type="bridge">      <mac address="52:54:01:84:26:2c"/>      <source bridge="virbr0"/>    \
        </interface>  </devices> </domain>
        """

    /// An ASCII string of the maximum length a `string` field holds.
    static let maxString = String(repeating: "a", count: Int(UInt16.max))
    /// 65535 bytes of 3-byte scalars (21845 × "€"): the maximum length, all of it multi-byte.
    static let maxMultibyteString = String(repeating: "€", count: Int(UInt16.max) / 3)
    static let unicodeName = "vm-ünïcødé-日本-🚀"
}

import Logging
import NIOCore
import Placement
import Testing
import Wire

@testable import Manager

/// A group manager's reports carry each host's whole sample window only when the leader cannot hold the rest (the
/// link's first reports, a new join or inventory, reports evicted unsent); otherwise only the samples taken since
/// the link's previous report. A 10,000-host group manager sent about 100 MB of whole windows every 3 s (issue 14).
@Suite struct GroupManagerReportSamplesTests {
    static let uuids = [WireUUID(high: 1, low: 1), WireUUID(high: 1, low: 2)]

    static func registry(ring: Int = 30, window: Int = 5) -> HostRegistry {
        HostRegistry(ringCapacity: ring, estimator: Estimator(window: window), logger: Logger(label: "test"))
    }

    static func inventory(_ hostID: String, vms: Int = 2) -> Inventory {
        Inventory(
            hostID: hostID,
            vms: (0..<vms).map { slot in
                Inventory.Entry(
                    slot: UInt16(slot),
                    uuid: uuids[slot],
                    name: "vm-\(slot)",
                    state: .running,
                    virtualCPUs: 2,
                    memoryKiB: 1 << 20
                )
            }
        )
    }

    /// A report in which VM slot s uses `cores + s` cores.
    static func monitoringReport(cores: Float, vms: Int = 2) -> MonitoringReport {
        MonitoringReport(
            timestampMilliseconds: 0,
            host: MonitoringReport.HostSample(
                cpuCoresInUse: cores,
                memoryInUseBytes: 0,
                networkRxBytesPerSecond: 0,
                networkTxBytesPerSecond: 0
            ),
            vms: (0..<vms).map { slot in
                MonitoringReport.VMSample(
                    slot: UInt16(slot),
                    state: .running,
                    cpuCoresInUse: cores + Float(slot),
                    memoryInUseKiB: 1024,
                    networkRxBytesPerSecond: 0,
                    networkTxBytesPerSecond: 0,
                    diskReadBytesPerSecond: 0,
                    diskWriteBytesPerSecond: 0
                )
            }
        )
    }

    static func record(_ registry: HostRegistry, _ hostID: String, cores: ClosedRange<Int>) async {
        for value in cores {
            await registry.heartbeat(from: hostID, recording: monitoringReport(cores: Float(value)), at: .now)
        }
    }

    /// Each VM's samples in the report's host `hostID`, as cores.
    static func cores(_ report: GroupManagerReport, _ hostID: String) -> [[Double]] {
        report.hosts.first { $0.status.hostID == hostID }?.vms.map { $0.samples.map(\.cpuCores) } ?? []
    }

    /// The registry's report at `a:1`, after the cursors `sent`, with the cursors for the next one.
    static func report(
        _ registry: HostRegistry,
        after sent: [String: GroupManagerReportCursor] = [:]
    ) async -> (report: GroupManagerReport, sent: [String: GroupManagerReportCursor]) {
        await registry.groupManagerReport(agentAddress: "a:1", maxHosts: 0, at: .now, after: sent)
    }

    static func samplesAreNew(_ report: GroupManagerReport, _ hostID: String) -> Bool? {
        report.hosts.first { $0.status.hostID == hostID }?.samplesAreNew
    }

    @Test func laterReportsSendOnlyTheSamplesTakenSince() async {
        let registry = Self.registry()
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        await registry.record(Self.inventory("h1"), from: "h1")
        await Self.record(registry, "h1", cores: 1...7)

        let (first, sent) = await Self.report(registry)
        #expect(Self.samplesAreNew(first, "h1") == false)
        #expect(Self.cores(first, "h1") == [[3, 4, 5, 6, 7], [4, 5, 6, 7, 8]], "the whole window of 5")
        #expect(first.sampleWindow == 5)

        await Self.record(registry, "h1", cores: 8...9)
        let (second, sentAgain) = await Self.report(registry, after: sent)
        #expect(Self.samplesAreNew(second, "h1") == true)
        #expect(Self.cores(second, "h1") == [[8, 9], [9, 10]])
        // The row's estimate still comes from the whole window.
        let estimate = await registry.statusHosts(at: .now).first?.estimate
        #expect(estimate != nil && second.hosts.first?.status.estimate == estimate)

        let (third, _) = await Self.report(registry, after: sentAgain)
        #expect(Self.samplesAreNew(third, "h1") == true)
        #expect(Self.cores(third, "h1") == [[], []], "nothing new: every VM listed, no samples")
    }

    @Test func aNewInventoryARejoinOrReportsEvictedUnsentSendTheWholeWindowAgain() async {
        let registry = Self.registry(ring: 4, window: 3)
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        await registry.record(Self.inventory("h1"), from: "h1")
        await Self.record(registry, "h1", cores: 1...4)
        let (_, sent) = await Self.report(registry)

        // A new inventory: the VM list may have changed.
        await registry.record(Self.inventory("h1"), from: "h1")
        await Self.record(registry, "h1", cores: 5...5)
        let (afterInventory, sent2) = await Self.report(registry, after: sent)
        #expect(Self.samplesAreNew(afterInventory, "h1") == false)
        #expect(Self.cores(afterInventory, "h1") == [[3, 4, 5], [4, 5, 6]])

        // Five reports into a ring of four: one was evicted before it was sent.
        await Self.record(registry, "h1", cores: 6...10)
        let (afterEviction, sent3) = await Self.report(registry, after: sent2)
        #expect(Self.samplesAreNew(afterEviction, "h1") == false)
        #expect(Self.cores(afterEviction, "h1") == [[8, 9, 10], [9, 10, 11]])

        // Four, exactly the ring: still all there.
        await Self.record(registry, "h1", cores: 11...14)
        let (fourNew, sent4) = await Self.report(registry, after: sent3)
        #expect(Self.samplesAreNew(fourNew, "h1") == true)
        #expect(Self.cores(fourNew, "h1") == [[12, 13, 14], [13, 14, 15]], "at most the window")

        // A rejoin empties the ring and the leader's samples of the host.
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        await registry.record(Self.inventory("h1"), from: "h1")
        await Self.record(registry, "h1", cores: 20...20)
        let (afterRejoin, _) = await Self.report(registry, after: sent4)
        #expect(Self.samplesAreNew(afterRejoin, "h1") == false)
        #expect(Self.cores(afterRejoin, "h1") == [[20], [21]])
    }

    @Test func aHostWithoutInventoryOrNewToTheLinkGoesWhole() async {
        let registry = Self.registry()
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        let (_, sent) = await Self.report(registry)
        await registry.join(HostRegistryTests.agent("h2"), at: .now)
        await registry.record(Self.inventory("h2"), from: "h2")
        await Self.record(registry, "h2", cores: 1...2)
        let (report, next) = await Self.report(registry, after: sent)
        #expect(Self.samplesAreNew(report, "h1") == false, "no inventory, no VMs")
        #expect(Self.samplesAreNew(report, "h2") == false, "not in the previous report")
        #expect(Set(next.keys) == ["h1", "h2"])
    }

    // MARK: The leader's side

    static func vm(_ index: Int, _ cores: [Double]) -> GroupManagerReport.VMSamples {
        GroupManagerReport.VMSamples(uuid: uuids[index], samples: cores.map { ResourceAmounts(cpuCores: $0) })
    }

    static func host(_ vms: [GroupManagerReport.VMSamples], new: Bool) -> GroupManagerReport.Host {
        GroupManagerReport.Host(
            status: RemoteGroupManagersTests.status("h1"),
            capabilities: [],
            hasInventory: true,
            vms: vms,
            samplesAreNew: new
        )
    }

    static let held: [String: [ResourceVector]] = [
        "\(uuids[0])".lowercased(): [1, 2, 3].map { ResourceVector(cpuCores: $0) },
        "\(uuids[1])".lowercased(): [7].map { ResourceVector(cpuCores: $0) },
    ]

    @Test(arguments: [
        // A whole window replaces what was held.
        (false, [[9]], 3, [[9]]),
        // New samples are appended, the newest `window` kept.
        (true, [[4, 5]], 3, [[3, 4, 5]]),
        (true, [[4, 5], [8]], 4, [[2, 3, 4, 5], [7, 8]]),
        (true, [[], []], 3, [[1, 2, 3], [7]]),
        // A VM no longer listed is gone.
        (true, [[4]], 10, [[1, 2, 3, 4]]),
        // More new samples than the window: all kept, as a whole window of that size would be.
        (true, [[4, 5, 6, 7]], 2, [[4, 5, 6, 7]]),
    ])
    func theLeaderAppendsNewSamplesAndReplacesWholeWindows(new: Bool, cores: [[Double]], window: Int, held: [[Double]])
    {
        let entry = Self.host(cores.enumerated().map { Self.vm($0.offset, $0.element) }, new: new)
        let samples = RemoteGroupManagers.samples(of: entry, holding: Self.held, window: window)
        #expect(samples.count == held.count)
        for (index, expected) in held.enumerated() {
            #expect(samples["\(Self.uuids[index])".lowercased()]?.map(\.cpuCores) == expected)
        }
    }

    @Test func aNewVMStartsFromItsNewSamples() {
        let entry = Self.host([Self.vm(0, [4]), Self.vm(1, [5])], new: true)
        let samples = RemoteGroupManagers.samples(of: entry, holding: [:], window: 3)
        #expect(samples["\(Self.uuids[1])".lowercased()]?.map(\.cpuCores) == [5])
    }

    /// The whole path, many rounds: what the leader holds after each report, whole or new samples, sent in small
    /// parts through the decoder, is exactly the group manager's window.
    @Test func theLeaderHoldsTheGroupManagersWindowAfterEveryReport() async throws {
        let registry = Self.registry(ring: 8, window: 5)
        let hosts = (0..<6).map { "h\($0)" }
        for host in hosts {
            await registry.join(HostRegistryTests.agent(host), at: .now)
            await registry.record(Self.inventory(host), from: host)
        }
        var leader: [String: [String: [ResourceVector]]] = [:]
        var sent: [String: GroupManagerReportCursor] = [:]
        var sawNew = false
        var generator = SystemRandomNumberGenerator()
        for round in 0..<40 {
            for (index, host) in hosts.enumerated() {
                // Hosts report at different rates; some rounds a host rejoins or sends a new inventory.
                for _ in 0..<Int.random(in: 0...(index % 3 + 1), using: &generator) {
                    await registry.heartbeat(
                        from: host,
                        recording: Self.monitoringReport(cores: Float.random(in: 0...8, using: &generator)),
                        at: .now
                    )
                }
                if round % 13 == index { await registry.join(HostRegistryTests.agent(host), at: .now) }
                if round % 11 == index { await registry.record(Self.inventory(host, vms: 1 + round % 2), from: host) }
            }
            let (report, cursors) = await Self.report(registry, after: sent)
            sent = cursors
            for part in report.parts(maximumPayloadLength: 900) {
                var payload = ByteBuffer()
                WireMessage.groupManagerReport(part).encodePayload(into: &payload)
                guard
                    case .groupManagerReport(let decoded) = try WireMessage.decode(
                        type: .groupManagerReport,
                        payload: &payload
                    )
                else {
                    Issue.record("not a report")
                    return
                }
                for entry in decoded.hosts {
                    sawNew = sawNew || entry.samplesAreNew
                    leader[entry.status.hostID] = RemoteGroupManagers.samples(
                        of: entry,
                        holding: leader[entry.status.hostID] ?? [:],
                        window: Int(decoded.sampleWindow)
                    )
                }
            }
            for host in await registry.all() {
                let expected = Dictionary(
                    uniqueKeysWithValues: host.demands(window: 5).map { ($0.vmID.lowercased(), $0.samples) }
                )
                #expect(leader[host.hostID] == expected, "round \(round), \(host.hostID)")
            }
        }
        #expect(sawNew)
    }
}

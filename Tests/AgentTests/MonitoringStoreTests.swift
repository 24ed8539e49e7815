import Testing
import Wire

@testable import Agent

@Suite struct MonitoringStoreTests {
    static let vmA = WireUUID("11111111-2222-3333-4444-555555555555")!
    static let vmB = WireUUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")!

    static func observation(_ uuid: WireUUID, _ name: String, cpu: Double?, state: VMState = .running) -> VMObservation
    {
        VMObservation(
            uuid: uuid,
            name: name,
            state: state,
            virtualCPUs: 2,
            memoryKiB: 1_048_576,
            metrics: cpu.map {
                VMMetrics(
                    timestampMilliseconds: 1000,
                    cpuCoresInUse: $0,
                    memoryInUseBytes: 512 * 1024 * 1024,
                    networkRxBytesPerSecond: 100,
                    networkTxBytesPerSecond: 200,
                    diskReadBytesPerSecond: 300,
                    diskWriteBytesPerSecond: 400
                )
            },
            nics: []
        )
    }

    static let host = HostCollector.Output(
        cores: 4,
        memoryTotalBytes: 8 << 30,
        memoryInUseBytes: 2 << 30,
        cpuCoresInUse: 1.5,
        networkRxBytesPerSecond: 10,
        networkTxBytesPerSecond: 20
    )
    static let time = SampleTime(monotonic: .now, wallClockMilliseconds: 1000)

    @Test func newVMHasInventoryButNoFakeZeroSample() throws {
        var store = MonitoringStore(ringCapacity: 5)
        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: nil)])
        #expect(store.inventory(hostID: "h").vms.map(\.name) == ["a"])
        let report = try #require(store.report(timestampMilliseconds: 1000))
        #expect(report.vms.isEmpty)
        #expect(store.samples(vm: "a", last: nil)?.samples.isEmpty == true)
    }

    @Test func reportsUseInventorySlotsAndRingsStayBounded() throws {
        var store = MonitoringStore(ringCapacity: 3)
        for round in 0..<10 {
            store.record(
                time: Self.time,
                host: Self.host,
                vms: [Self.observation(Self.vmA, "a", cpu: Double(round)), Self.observation(Self.vmB, "b", cpu: 0.5)]
            )
        }
        let inventory = store.inventory(hostID: "h")
        let slotOfA = try #require(inventory.vms.first { $0.name == "a" }?.slot)
        let report = try #require(store.report(timestampMilliseconds: 1))
        #expect(report.vms.count == 2)
        let sampleOfA = try #require(report.vms.first { $0.slot == slotOfA })
        #expect(sampleOfA.cpuCoresInUse == 9)
        #expect(sampleOfA.memoryInUseKiB == UInt32(512 * 1024))
        #expect(store.samples(vm: "a", last: nil)?.samples.map(\.cpuCoresInUse) == [7, 8, 9])
        #expect(store.samples(vm: Self.vmA.description, last: 1)?.samples.count == 1)
    }

    @Test func vanishedVMIsReleasedAndInventoryGenerationMoves() {
        var store = MonitoringStore(ringCapacity: 3)
        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: 1)])
        let generation = store.inventoryGeneration
        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: 1)])
        #expect(store.inventoryGeneration == generation)
        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: 1, state: .paused)])
        #expect(store.inventoryGeneration > generation)
        store.record(time: Self.time, host: Self.host, vms: [])
        #expect(store.vms.isEmpty)
        #expect(store.samples(vm: "a", last: nil) == nil)
    }

    /// A round with a failed collector makes no report (never the previous readings again) and adds nothing to a
    /// ring; the next complete round reports again.
    @Test func roundWithAFailedCollectorIsAGap() throws {
        var store = MonitoringStore(ringCapacity: 5)
        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: 1)])
        #expect(store.report(timestampMilliseconds: 1) != nil)

        store.record(time: Self.time, host: Self.host, vms: nil)
        #expect(store.report(timestampMilliseconds: 2) == nil)
        #expect(store.samples(vm: "a", last: nil)?.samples.count == 1)
        #expect(store.inventory(hostID: "h").vms.map(\.name) == ["a"])

        store.record(time: Self.time, host: nil, vms: [Self.observation(Self.vmA, "a", cpu: 2)])
        #expect(store.report(timestampMilliseconds: 3) == nil)

        store.record(time: Self.time, host: Self.host, vms: [Self.observation(Self.vmA, "a", cpu: 3)])
        let report = try #require(store.report(timestampMilliseconds: 4))
        #expect(report.vms.map(\.cpuCoresInUse) == [3])
    }

    @Test func slotsAreNotReusedWhileHeld() {
        var store = MonitoringStore(ringCapacity: 2)
        store.record(time: Self.time, host: nil, vms: [Self.observation(Self.vmA, "a", cpu: 1)])
        store.record(
            time: Self.time,
            host: nil,
            vms: [Self.observation(Self.vmA, "a", cpu: 1), Self.observation(Self.vmB, "b", cpu: 1)]
        )
        let slots = store.inventory(hostID: "h").vms.map(\.slot)
        #expect(Set(slots).count == 2)
    }
}

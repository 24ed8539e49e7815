import Foundation
import Testing

@testable import Libvirt

@Suite struct DomainStatsTests {
    @Test func bulkCallReturnsOnlyStateOnTheTestDriver() async throws {
        let connection = try await NodeFixture.open()
        let bulk = try await connection.allDomainStats()
        #expect(Set(bulk.map(\.name)) == NodeFixture.domainNames)
        for stats in bulk {
            #expect(stats.state == .running)
            #expect(stats.sources == DomainStats.Sources(state: .bulk))
            #expect(stats.cpuTimeNanoseconds == nil)
            #expect(stats.balloon == DomainStats.Balloon())
            #expect(stats.interfaces.isEmpty)
            #expect(stats.disks.isEmpty)
        }
    }

    @Test func collectStatsFillsGapsWithPerCallAPIs() async throws {
        let connection = try await NodeFixture.open()
        let collected = try await connection.collectStats()
        #expect(Set(collected.map(\.name)) == NodeFixture.domainNames)
        for stats in collected {
            #expect(stats.fallbackErrors.isEmpty, "\(stats.fallbackErrors)")
            #expect(stats.state == .running)
            #expect(stats.sources.state == .bulk)

            #expect(stats.cpuTimeNanoseconds.map { $0 > 0 } == true)
            #expect(stats.sources.cpu == .perCall)
            #expect(stats.virtualCPUCount != nil)
            #expect(stats.sources.virtualCPUs == .perCall)
            #expect(stats.balloon.currentKiB != nil)
            #expect(stats.balloon.maximumKiB != nil)
            #expect(stats.sources.balloon == .perCall)

            #expect(stats.interfaces.map(\.name) == NodeFixture.interfaces[stats.name])
            #expect(stats.sources.interfaces == .perCall)
            for nic in stats.interfaces {
                #expect(nic.rxBytes != nil && nic.txBytes != nil && nic.rxPackets != nil && nic.txPackets != nil)
            }
            #expect(stats.disks.map(\.name) == NodeFixture.disks[stats.name])
            #expect(stats.sources.disks == .perCall)
            for disk in stats.disks {
                #expect(disk.readBytes != nil && disk.writeBytes != nil)
            }
        }
        let web = try #require(collected.first { $0.name == "web-1" })
        #expect(web.uuid.uuidString.lowercased() == NodeFixture.web1UUID)
        #expect(web.balloon.currentKiB == NodeFixture.web1CurrentMemoryKiB)
        #expect(web.balloon.maximumKiB == NodeFixture.web1MaxMemoryKiB)
        #expect(web.virtualCPUCount == 2)
    }

    @Test func stoppedDomainGetsInfoButNoDeviceCounters() async throws {
        let connection = try await NodeFixture.open()
        try await connection.domain(named: "batch-1").destroy()
        let collected = try await connection.collectStats()
        let batch = try #require(collected.first { $0.name == "batch-1" })
        #expect(batch.state == .shutoff)
        #expect(batch.sources.cpu == .perCall)
        #expect(batch.balloon.currentKiB == 524_288)
        // No per-call device queries for a stopped domain, hence no errors either.
        #expect(batch.interfaces.isEmpty && batch.sources.interfaces == nil)
        #expect(batch.disks.isEmpty && batch.sources.disks == nil)
        #expect(batch.fallbackErrors.isEmpty)
        // The others still run and still get device counters.
        #expect(collected.first { $0.name == "web-1" }?.interfaces.count == 1)
    }

    @Test func perCallAPIsAnswerDirectly() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(named: "db-1")
        let nic = try await domain.interfaceStats(device: "tap-db1b")
        #expect(nic.name == "tap-db1b")
        #expect(nic.rxBytes != nil)
        let disk = try await domain.blockStats(device: "sda")
        #expect(disk.name == "sda")
        #expect(disk.writeBytes != nil)
        _ = try await domain.memoryStats()

        let missing = await libvirtError { () async throws(LibvirtError) in
            try await domain.blockStats(device: "vdz")
        }
        #expect(missing?.function == "virDomainBlockStats")
        #expect(missing?.subject == "db-1 vdz")
    }

    @Test func bulkRecordConversionReadsEveryGroup() throws {
        let uuid = UUID()
        let parameters = TypedParameters([
            "state.state": .int32(1),
            "state.reason": .int32(1),
            "cpu.time": .uint64(5_000_000_000),
            "vcpu.current": .uint32(2),
            "balloon.current": .uint64(1_048_576),
            "balloon.maximum": .uint64(2_097_152),
            "balloon.rss": .uint64(900_000),
            "balloon.available": .uint64(1_000_000),
            "net.count": .uint32(2),
            "net.0.name": .string("vnet0"),
            "net.0.rx.bytes": .uint64(100),
            "net.0.tx.bytes": .uint64(200),
            "net.0.rx.pkts": .uint64(3),
            "net.0.tx.pkts": .uint64(4),
            "net.1.name": .string("vnet1"),
            "block.count": .uint32(1),
            "block.0.name": .string("vda"),
            "block.0.rd.bytes": .uint64(4096),
            "block.0.wr.bytes": .uint64(8192),
        ])
        let stats = DomainStats(uuid: uuid, name: "guest", bulk: parameters)
        #expect(stats.state == .running)
        #expect(stats.cpuTimeNanoseconds == 5_000_000_000)
        #expect(stats.virtualCPUCount == 2)
        #expect(
            stats.balloon
                == DomainStats.Balloon(
                    currentKiB: 1_048_576,
                    maximumKiB: 2_097_152,
                    rssKiB: 900_000,
                    availableKiB: 1_000_000
                )
        )
        #expect(
            stats.interfaces == [
                InterfaceStats(name: "vnet0", rxBytes: 100, txBytes: 200, rxPackets: 3, txPackets: 4),
                InterfaceStats(name: "vnet1", rxBytes: nil, txBytes: nil, rxPackets: nil, txPackets: nil),
            ]
        )
        #expect(stats.disks == [DiskStats(name: "vda", readBytes: 4096, writeBytes: 8192)])
        let allBulk = DomainStats.Sources(
            state: .bulk,
            cpu: .bulk,
            virtualCPUs: .bulk,
            balloon: .bulk,
            interfaces: .bulk,
            disks: .bulk
        )
        #expect(stats.sources == allBulk)
    }

    @Test func fallbackLeavesGroupsTheBulkCallReported() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(named: "web-1")
        // As a real KVM host would report it: NIC and disk groups present (here with no devices), no CPU time.
        let bulk = DomainStats(
            uuid: domain.uuid,
            name: domain.name,
            bulk: TypedParameters(["state.state": .int32(1), "net.count": .uint32(0), "block.count": .uint32(0)])
        )
        // The fallback runs on the executor thread, as collectStats runs it.
        let stats = try await connection.executor.run {
            var filled = bulk
            DomainStatsFallback.fill(&filled, from: domain.blocking, devices: DomainDeviceCache())
            return filled
        }
        #expect(stats.sources.interfaces == .bulk && stats.interfaces.isEmpty)
        #expect(stats.sources.disks == .bulk && stats.disks.isEmpty)
        #expect(stats.sources.cpu == .perCall)
        #expect(stats.cpuTimeNanoseconds != nil)
    }
}

import Etcd
import Foundation
import Logging
import MetricsExport
import Synchronization
import Testing

@testable import Manager

/// A coordinated leader's state in etcd (`EtcdStateReplica`), against a real etcd on ports 12250/12251: every
/// write of the store reaches etcd before it commits, a second manager's store rebuilt from etcd holds the same
/// rows, and a write after the leader's election key is gone is refused by etcd and fails at its caller.
@Suite(
    "state replicated to a real etcd",
    .serialized,
    .enabled(if: EtcdPrerequisite.runs, "SKIPPED end-to-end: needs /usr/bin/etcd (scripts/install-deps: etcd-server)")
)
struct StateReplicationTests {
    static let clientPort = 12250
    static let statePrefix = "/torpor-test/state"
    static let fenceKey = "/torpor-test/leader/m1"

    struct Fixture {
        var server: EtcdServer
        var client: EtcdClient
        var directory: URL
        /// The election key's create_revision, as the elected manager has it.
        var fenceRevision: Int64

        func store(_ name: String) throws -> ManagerStore {
            try ManagerStore(path: directory.appendingPathComponent("\(name).sqlite").path)
        }

        func replica(fenceRevision: Int64? = nil, metrics: MetricsRegistry? = nil) -> EtcdStateReplica {
            EtcdStateReplica(
                client: client,
                prefix: StateReplicationTests.statePrefix,
                fenceKey: StateReplicationTests.fenceKey,
                fenceRevision: fenceRevision ?? self.fenceRevision,
                logger: Logger(label: "replica"),
                metrics: metrics.map { ManagerMetrics(factory: $0.factory) } ?? .none
            )
        }
    }

    func withEtcd(_ body: (Fixture) async throws -> Void) async throws {
        try await EtcdServer.with(clientPort: Self.clientPort) { server, client in
            let directory = server.directory.appendingPathComponent("stores")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let revision = try await client.put(Self.fenceKey, "127.0.0.1:1 m1")
            try await body(Fixture(server: server, client: client, directory: directory, fenceRevision: revision))
        }
    }

    /// A few of every kind of row: a cluster, VMs with leases, a task, a flavor and an image (AUTOINCREMENT), a VM
    /// disk, numbers, a host.
    static func populate(_ store: ManagerStore) async throws {
        try await store.defineVirtualCluster("web")
        try await store.addVMs(
            [
                StoredVM(
                    id: "11111111-0000-0000-0000-000000000001",
                    name: "web-1",
                    vcName: "web",
                    templateXML: "<domain/>"
                ),
                StoredVM(
                    id: "11111111-0000-0000-0000-000000000002",
                    name: "web-2",
                    vcName: "web",
                    templateXML: "<domain/>"
                ),
            ],
            leases: [
                Lease(
                    vmID: "11111111-0000-0000-0000-000000000001",
                    ip: IPv4Address(10, 0, 0, 2),
                    mac: "52:54:0a:00:00:02"
                ),
                Lease(
                    vmID: "11111111-0000-0000-0000-000000000002",
                    ip: IPv4Address(10, 0, 0, 3),
                    mac: "52:54:0a:00:00:03"
                ),
            ]
        )
        try await store.createTask(
            StoredTask(
                id: "task-1",
                kind: "start",
                vcName: "web",
                state: .running,
                createdAt: Date(timeIntervalSince1970: 1_000.5)
            )
        )
        _ = try await store.createFlavor(
            StoredFlavor(name: "small", virtualCPUs: 1, memoryBytes: 512 << 20, diskBytes: 1 << 30)
        )
        let doomed = try await store.createFlavor(
            StoredFlavor(name: "doomed", virtualCPUs: 2, memoryBytes: 1 << 30, diskBytes: 1 << 30)
        )
        try await store.deleteFlavor(named: doomed.name)
        _ = try await store.numbers(of: .host, for: ["host-a", "host-b"])
        try await store.upsertHost(
            StoredHost(
                id: "host-a",
                hostname: "a",
                state: .active,
                cores: 8,
                memoryBytes: 1 << 34,
                lastSeen: Date(timeIntervalSince1970: 2_000.25)
            )
        )
    }

    static func rows(_ store: ManagerStore) async throws -> [ReplicatedRow] {
        try await store.snapshot().rows
    }

    @Test func everyWriteReachesEtcdAndAnotherStoreRebuiltFromItHoldsTheSameRows() async throws {
        try await withEtcd { fixture in
            let leader = try fixture.store("m1")
            try await fixture.replica().synchronize(leader)
            // Nothing in etcd yet: the (empty) store was copied there, schema key included.
            #expect(
                try await fixture.client.get("\(Self.statePrefix)/schema")?.string.contains("v10: GENI slices") == true
            )

            try await Self.populate(leader)
            let expected = try await Self.rows(leader)
            #expect(expected.contains { $0.table == "lease" })
            #expect(!expected.contains { $0.table == "flavor" && $0.columns.contains { $0.value == .text("doomed") } })
            let inEtcd = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/").keyValues
            #expect(inEtcd.count == expected.count)
            #expect(try await fixture.client.get("\(Self.statePrefix)/sequence/flavor")?.string == "2")

            // A cascade: removing the VM removes its lease, in etcd too.
            _ = try await leader.deleteVM(id: "11111111-0000-0000-0000-000000000002")
            let afterDelete = try await Self.rows(leader)
            #expect(afterDelete.filter { $0.table == "lease" }.count == 1)
            #expect(
                try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/").keyValues.count == afterDelete.count
            )

            // Another manager, elected next with its own stale file: rebuilt from etcd, row for row.
            let next = try fixture.store("m2")
            try await next.defineVirtualCluster("stale")
            try await fixture.replica().synchronize(next)
            #expect(try await Self.rows(next) == afterDelete)
            #expect(try await next.virtualClusters().map(\.name) == ["web"])
            #expect(try await next.lease(vmID: "11111111-0000-0000-0000-000000000001")?.ip == IPv4Address(10, 0, 0, 2))
            #expect(try await next.task(id: "task-1")?.state == .running)
            // The AUTOINCREMENT mark came too: the deleted flavor's number is not handed out again.
            let third = try await next.createFlavor(
                StoredFlavor(name: "large", virtualCPUs: 4, memoryBytes: 4 << 30, diskBytes: 1 << 30)
            )
            #expect(third.id == 3)
            #expect(try await next.numbers(of: .host, for: ["host-c"]) == ["host-c": 3])
        }
    }

    @Test func aWriteAfterTheElectionKeyIsGoneNeverReachesEtcd() async throws {
        try await withEtcd { fixture in
            let store = try fixture.store("m1")
            let metrics = MetricsRegistry()
            try await fixture.replica(metrics: metrics).synchronize(store)
            try await store.defineVirtualCluster("kept")
            try await fixture.client.delete(Self.fenceKey)
            await #expect {
                try await store.defineVirtualCluster("lost")
            } throws: { error in
                guard case ManagerStoreError.deposed(let key) = error else { return false }
                return key == Self.fenceKey && "\(error)".contains("no longer leads")
            }
            // Not in etcd, which the next leader restores from (the deposed manager's own file, which it exits
            // without reading again, is overwritten when it leads again).
            let clusters = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/virtualCluster/").keyValues
            #expect(clusters.map(\.string).map { $0.contains("\"kept\"") } == [true])
            // Every later write fails too, at once.
            await #expect(throws: ManagerStoreError.deposed(electionKey: Self.fenceKey)) {
                try await store.defineVirtualCluster("later")
            }
            let exposition = String(decoding: await metrics.exposition(), as: UTF8.self)
            #expect(
                exposition.contains("torpor_state_replication_failures_total{reason=\"deposed\"} 1\n"),
                "\(exposition)"
            )

            // A leader elected later (a new key, a new revision) fences with its own key: an old one's is refused.
            let newRevision = try await fixture.client.put(Self.fenceKey, "127.0.0.1:2 m2")
            let stale = try fixture.store("m1-stale")
            try await fixture.replica(fenceRevision: newRevision).synchronize(stale)
            try await stale.defineVirtualCluster("by-the-new-leader")
            // A replica still holding the old revision (nothing refused it yet) is refused by etcd itself.
            let old = try fixture.store("m1-old")
            old.startReplicating(to: fixture.replica())
            await #expect(throws: ManagerStoreError.deposed(electionKey: Self.fenceKey)) {
                try await old.defineVirtualCluster("by-the-old-one")
            }
            #expect(try await stale.virtualClusters().map(\.name) == ["by-the-new-leader", "kept"])
            let names = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/virtualCluster/").keyValues
                .map(\.string)
            #expect(!names.contains { $0.contains("by-the-old-one") })
        }
    }

    /// Writes made while one is on its way to etcd go together: 200 concurrent writes take fewer etcd
    /// transactions (etcd's revision grows by one per transaction) and all of them arrive.
    @Test func concurrentWritesShareEtcdTransactions() async throws {
        try await withEtcd { fixture in
            let store = try fixture.store("m1")
            let metrics = MetricsRegistry()
            try await fixture.replica(metrics: metrics).synchronize(store)
            let before = try await fixture.client.range(prefix: "\(Self.statePrefix)/schema").revision
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 { group.addTask { try await store.defineVirtualCluster("vc-\(index)") } }
                try await group.waitForAll()
            }
            let after = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/virtualCluster/")
            #expect(after.keyValues.count == 200)
            print("200 concurrent writes took \(after.revision - before) etcd transactions")
            #expect(after.revision - before < 200)
            // What an operator sees: every change counted once, in batches.
            let exposition = String(decoding: await metrics.exposition(), as: UTF8.self)
            #expect(exposition.contains("torpor_state_replicated_changes_total 200\n"), "\(exposition)")
            #expect(exposition.contains("torpor_state_replication_batches_total "))
            #expect(exposition.contains("torpor_state_replication_duration_seconds_count "))
            let next = try fixture.store("m2")
            try await fixture.replica().synchronize(next)
            #expect(try await next.virtualClusters().count == 200)
        }
    }

    /// etcd frozen while a write waits: the batch is sent again until etcd answers; the write then completes,
    /// once, and the failures are counted.
    @Test func aWriteWaitsForAnUnreachableEtcdAndCompletesWhenItAnswers() async throws {
        try await withEtcd { fixture in
            var configuration = EtcdConfiguration(endpoints: [fixture.server.endpoint])
            configuration.requestTimeout = .milliseconds(500)
            let impatient = try EtcdClient(configuration, logger: Logger(label: "impatient"))
            defer { Task { await impatient.shutdown() } }
            let metrics = MetricsRegistry()
            let replica = EtcdStateReplica(
                client: impatient,
                prefix: Self.statePrefix,
                fenceKey: Self.fenceKey,
                fenceRevision: fixture.fenceRevision,
                logger: Logger(label: "replica"),
                metrics: ManagerMetrics(factory: metrics.factory)
            )
            let store = try fixture.store("m1")
            // Copied to etcd through the patient client (a loaded machine may take over 500 ms), then written
            // through the impatient one, whose calls fail fast while etcd is frozen.
            try await fixture.replica().synchronize(store)
            store.startReplicating(to: replica)
            fixture.server.pause()
            let done = Mutex(false)
            let write = Task {
                try await store.defineVirtualCluster("patient")
                done.withLock { $0 = true }
            }
            // Frozen, etcd cannot have taken it: the write cannot have returned.
            try await Task.sleep(for: .seconds(2))
            #expect(done.withLock { $0 } == false)
            fixture.server.resume()
            try await write.value
            let rows = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/virtualCluster/").keyValues
            #expect(rows.count == 1 && rows.first?.string.contains("\"patient\"") == true)
            let exposition = String(decoding: await metrics.exposition(), as: UTF8.self)
            #expect(
                exposition.contains("torpor_state_replication_failures_total{reason=\"unreachable\"} "),
                "\(exposition)"
            )
        }
    }

    /// A row etcd could never take (above its request limit) is refused before the commit, naming it: the write
    /// is rolled back, and the writes after it go on.
    @Test func aRowTooLargeForEtcdIsRefusedAndRolledBack() async throws {
        try await withEtcd { fixture in
            let store = try fixture.store("m1")
            try await fixture.replica().synchronize(store)
            try await store.defineVirtualCluster("big")
            let huge = StoredVM(
                id: "33333333-0000-0000-0000-000000000001",
                name: "huge",
                vcName: "big",
                templateXML: "<domain>" + String(repeating: "x", count: 1_200_000) + "</domain>"
            )
            await #expect {
                try await store.addVM(huge)
            } throws: { error in
                "\(error)".contains("/rows/vm/") && "\(error)".contains("etcd takes at most 1000000 a row")
            }
            #expect(try await store.vm(named: "huge") == nil)
            try await store.defineVirtualCluster("after")
            #expect(try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/vm/").keyValues.isEmpty)
            #expect(
                try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/virtualCluster/").keyValues.count == 2
            )
        }
    }

    @Test func aLargeWriteIsSplitUnderEtcdsLimitsAndReadBackPageByPage() async throws {
        try await withEtcd { fixture in
            let store = try fixture.store("m1")
            try await fixture.replica().synchronize(store)
            try await store.defineVirtualCluster("big")
            // 700 VMs and 700 leases in one transaction: 1,400 rows, past 128 operations and 500 keys a page.
            let vms = (0..<700).map { index in
                StoredVM(
                    id: String(format: "22222222-0000-0000-0000-%012d", index),
                    name: "big-\(index)",
                    vcName: "big",
                    templateXML: String(repeating: "<domain/>", count: 100)
                )
            }
            let leases = vms.enumerated().map { index, vm in
                Lease(
                    vmID: vm.id,
                    ip: IPv4Address(10, 1, UInt8(index / 250), UInt8(index % 250 + 2)),
                    mac: String(format: "52:54:00:00:%02x:%02x", index / 256, index % 256)
                )
            }
            try await store.addVMs(vms, leases: leases)
            // What one replicated write costs (printed, not asserted: this machine may be loaded).
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                for index in 0..<100 { try await store.setDesiredState(vmIDs: [vms[index].id], .stopped) }
            }
            print("one replicated write (a VM's desired state) took \(elapsed / 100) on average over 100")
            let next = try fixture.store("m2")
            try await fixture.replica().synchronize(next)
            #expect(try await next.vms().count == 700)
            #expect(try await next.vm(id: vms[99].id)?.desiredState == .stopped)
            #expect(try await next.leases().count == 700)
            #expect(try await Self.rows(next) == Self.rows(store))
        }
    }

    /// What a first leader that died while copying its file leaves (rows, no schema key) is cleared and the copy
    /// made again by the next; a manager deposed before it copies clears nothing.
    @Test func aCopyCutShortIsMadeAgainButNotByADeposedManager() async throws {
        try await withEtcd { fixture in
            let halfCopied = "\(Self.statePrefix)/rows/virtualCluster/7"
            try await fixture.client.put(halfCopied, "[[\"name\",\"t\",\"half\"],[\"createdAt\",\"r\",\"1.0\"]]")
            let deposed = try fixture.store("m0")
            try await fixture.client.delete(Self.fenceKey)
            await #expect(throws: ManagerStoreError.deposed(electionKey: Self.fenceKey)) {
                try await fixture.replica().synchronize(deposed)
            }
            #expect(try await fixture.client.get(halfCopied) != nil)

            let revision = try await fixture.client.put(Self.fenceKey, "127.0.0.1:2 m2")
            let store = try fixture.store("m2")
            try await store.defineVirtualCluster("mine")
            try await fixture.replica(fenceRevision: revision).synchronize(store)
            #expect(try await store.virtualClusters().map(\.name) == ["mine"])
            let rows = try await fixture.client.range(prefix: "\(Self.statePrefix)/rows/").keyValues
            #expect(rows.count == 1 && rows.first?.string.contains("\"mine\"") == true, "\(rows.map(\.key))")
            #expect(try await fixture.client.get("\(Self.statePrefix)/schema") != nil)
        }
    }

    @Test func stateFromANewerSchemaOrInAnUnknownLayoutIsRefusedNamingIt() async throws {
        try await withEtcd { fixture in
            let store = try fixture.store("m1")
            try await store.defineVirtualCluster("mine")
            try await fixture.client.put(
                "\(Self.statePrefix)/schema",
                (ManagerStore.knownMigrations + ["v99: from the future"]).joined(separator: "\n")
            )
            await #expect {
                try await fixture.replica().synchronize(store)
            } throws: { error in
                "\(error)".contains("newer torpor-manager") && "\(error)".contains("v99: from the future")
            }
            try await fixture.client.put(
                "\(Self.statePrefix)/schema",
                ManagerStore.knownMigrations.joined(separator: "\n")
            )
            try await fixture.client.put("\(Self.statePrefix)/rows/virtualCluster/x", "[]")
            await #expect {
                try await fixture.replica().synchronize(store)
            } throws: { error in
                "\(error)".contains("/rows/virtualCluster/x") && "\(error)".contains("not a row id")
            }
            try await fixture.client.delete("\(Self.statePrefix)/rows/virtualCluster/x")
            try await fixture.client.put(
                "\(Self.statePrefix)/rows/virtualCluster/1",
                "[[\"name\",\"t\",\"v\"],[\"flavour\",\"t\",\"x\"]]"
            )
            await #expect {
                try await fixture.replica().synchronize(store)
            } throws: { error in
                "\(error)".contains("column 'flavour'")
            }
            // Nothing was changed by the refusals.
            #expect(try await store.virtualClusters().map(\.name) == ["mine"])
        }
    }

    @Test(arguments: [
        "[1, 2]", "[[\"a\",\"i\",\"x\"]]", "[[\"a\",\"z\",\"\"]]", "{}", "[[\"a\",\"b\",\"***\"]]",
    ])
    func malformedRowsAreRefusedNamingTheProblem(text: String) {
        #expect(throws: ReplicatedRowCodec.DecodingError.self) { try ReplicatedRowCodec.decode(Array(text.utf8)) }
    }

    @Test func rowsRoundTripThroughTheCodec() throws {
        let columns: [(name: String, value: ReplicatedRow.Value)] = [
            ("n", .null), ("i", .integer(.min)), ("j", .integer(.max)), ("r", .real(0.1 + 0.2)), ("t", .text("é\n\"")),
            ("b", .blob([0, 255, 7])),
        ]
        let decoded = try ReplicatedRowCodec.decode(ReplicatedRowCodec.encode(columns))
        #expect(decoded.map(\.name) == columns.map(\.name))
        #expect(decoded.map(\.value) == columns.map(\.value))
    }
}

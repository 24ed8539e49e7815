import Foundation
import GRDB
import Synchronization
import Testing

@testable import Manager

@Suite struct ManagerStoreTests {
    /// Stands in for the process dying inside a transaction.
    struct Interrupted: Error {}

    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func vm(_ name: String, id: String? = nil, in vcName: String = "lab") -> StoredVM {
        StoredVM(
            id: id ?? UUID().uuidString.lowercased(),
            name: name,
            vcName: vcName,
            templateXML: "<domain type='kvm'><name>\(name)</name></domain>",
            networkRx: 100,
            networkTx: 200
        )
    }

    @Test func migrationsCreateSchemaInWALModeAndReopen() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        let (tables, journalMode) = try await store.read { db in
            let names = try ["host", "virtualCluster", "vm", "task", "lease"].filter { try db.tableExists($0) }
            return (names, try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(tables == ["host", "virtualCluster", "vm", "task", "lease"])
        #expect(journalMode == "wal")
        // Reopening an up-to-date file runs no migration again.
        let reopened = try file.open()
        #expect(try await reopened.hosts().isEmpty)
    }

    /// A leader meeting 10,000 hosts of 20 VMs read every VM row for each inventory: the host's VMs are found by an
    /// index now, and an inventory's VMs are read in one go.
    @Test func aHostsVMsAreFoundByAnIndexAndManyVMsAreReadInOneGo() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        let plan = try await store.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM vm WHERE hostID = 'h1'")
                .map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
        }
        #expect(plan.contains("USING INDEX vm_on_hostID"), "\(plan)")

        var vms = (0..<1_200).map { Self.vm("vm-\($0)") }
        for index in vms.indices { vms[index].hostID = "h\(index % 3)" }
        _ = try await store.adoptVMs(vms)
        let ids = vms.map(\.id) + ["not-a-vm"]
        let found = try await store.vms(ids: ids)
        #expect(found.count == 1_200)
        #expect(found[vms[1_100].id]?.name == "vm-1100")
        #expect(try await store.vms(ids: []).isEmpty)
        #expect(try await store.vms(onHost: "h1").count == 400)
    }

    @Test func unopenablePathIsNamedInError() {
        let path = "/nonexistent-torpor-dir/state.sqlite"
        do {
            _ = try ManagerStore(path: path)
            Issue.record("expected an error")
        } catch {
            guard case .database(let errorPath, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(errorPath == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func hostUpsertRoundTrips() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        var host = StoredHost(
            id: "h1",
            hostname: "node1",
            state: .active,
            cores: 16,
            memoryBytes: 64 << 30,
            lastSeen: Self.epoch
        )
        try await store.upsertHost(host)
        host.state = .sleeping
        host.lastSeen = Self.epoch.addingTimeInterval(60)
        try await store.upsertHost(host)
        #expect(try await store.hosts() == [host])
    }

    /// A host's announced migration URI outlives its state changes (upserts) and is replaced by the next
    /// announcement.
    @Test func aHostsMigrationURIIsKeptAcrossUpsertsAndReplacedByTheNextAnnouncement() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        var host = StoredHost(
            id: "h1",
            hostname: "node1",
            state: .active,
            cores: 16,
            memoryBytes: 64 << 30,
            lastSeen: Self.epoch
        )
        try await store.upsertHost(host)
        try await store.upsertHost(
            StoredHost(
                id: "h2",
                hostname: "node2",
                state: .active,
                cores: 16,
                memoryBytes: 64 << 30,
                lastSeen: Self.epoch
            )
        )
        #expect(try await store.migrationURIs().isEmpty)
        try await store.setMigrationURI("qemu+tcp://10.0.0.1/system", ofHost: "h1")
        host.state = .sleeping
        try await store.upsertHost(host)
        #expect(try await store.migrationURIs() == ["h1": "qemu+tcp://10.0.0.1/system"])
        try await store.setMigrationURI("qemu+tls://node1/system", ofHost: "h1")
        #expect(try await store.migrationURIs() == ["h1": "qemu+tls://node1/system"])
        #expect(try await store.hosts().first == host)
        // A join records the host and its announced URI in one write.
        host.state = .active
        try await store.upsertHost(host, migrationURI: "qemu+tcp://10.0.0.9/system")
        #expect(try await store.migrationURIs() == ["h1": "qemu+tcp://10.0.0.9/system"])
        #expect(try await store.hosts().first == host)
    }

    @Test func virtualClusterAndVMRoundTrip() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab", createdAt: Self.epoch)
        let first = Self.vm("web-1")
        let second = Self.vm("db-1")
        try await store.addVM(first)
        try await store.addVM(second)
        #expect(try await store.virtualClusters() == [StoredVirtualCluster(name: "lab", createdAt: Self.epoch)])
        #expect(try await store.vms(inCluster: "lab") == [second, first])
        #expect(try await store.vm(named: "web-1") == first)
        #expect(try await store.vm(named: "nope") == nil)

        try await store.setVMPlacement(id: first.id, hostID: "h1", state: .running)
        try await store.setVMPlacement(id: second.id, hostID: nil, state: .failed, reason: "no host fits")
        #expect(try await store.vm(id: first.id)?.hostID == "h1")
        #expect(try await store.vm(id: first.id)?.state == .running)
        #expect(try await store.vm(id: second.id)?.reason == "no host fits")
        await #expect(throws: ManagerStoreError.unknownVM("missing")) {
            try await store.setVMPlacement(id: "missing", hostID: nil, state: .stopped)
        }
    }

    @Test func duplicateVirtualClusterIsRejectedAndStateUnchanged() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab", createdAt: Self.epoch)
        await #expect(throws: ManagerStoreError.duplicateVirtualCluster("lab")) {
            try await store.defineVirtualCluster("lab", createdAt: Self.epoch.addingTimeInterval(5))
        }
        #expect(try await store.virtualClusters() == [StoredVirtualCluster(name: "lab", createdAt: Self.epoch)])
        #expect(ManagerStoreError.duplicateVirtualCluster("lab").description.contains("'lab'"))
    }

    @Test func duplicateVMNameAndUUIDAreRejectedAndStateUnchanged() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        let original = Self.vm("web-1")
        try await store.addVM(original)

        await #expect(throws: ManagerStoreError.duplicateVM(name: "web-1")) {
            try await store.addVM(Self.vm("web-1"))
        }
        await #expect(throws: ManagerStoreError.duplicateUUID(original.id)) {
            try await store.addVM(Self.vm("web-2", id: original.id))
        }
        #expect(try await store.vms(inCluster: "lab") == [original])
        #expect(ManagerStoreError.duplicateUUID(original.id).description.contains(original.id))
    }

    @Test func unknownVirtualClusterIsRejected() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        await #expect(throws: ManagerStoreError.unknownVirtualCluster("ghost")) {
            try await store.addVM(Self.vm("web-1", in: "ghost"))
        }
        await #expect(throws: ManagerStoreError.unknownVirtualCluster("ghost")) {
            try await store.undefineVirtualCluster("ghost")
        }
        #expect(try await store.vm(named: "web-1") == nil)
    }

    @Test func undefineCascadesToVMsAndLeases() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        try await store.defineVirtualCluster("other")
        let doomed = Self.vm("web-1")
        let kept = Self.vm("keep-1", in: "other")
        try await store.addVM(doomed)
        try await store.addVM(kept)
        try await store.saveLease(Lease(vmID: doomed.id, ip: IPv4Address(10, 0, 0, 2), mac: "52:54:0a:00:00:02"))
        try await store.saveLease(Lease(vmID: kept.id, ip: IPv4Address(10, 0, 0, 3), mac: "52:54:0a:00:00:03"))

        try await store.undefineVirtualCluster("lab")
        #expect(try await store.vms(inCluster: "lab").isEmpty)
        #expect(try await store.vms(inCluster: "other") == [kept])
        #expect(try await store.leases().map(\.vmID) == [kept.id])
        #expect(try await store.virtualClusters().map(\.name) == ["other"])
    }

    @Test func startTransitionSucceedsOnlyOnce() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        let vm = Self.vm("web-1")
        try await store.addVM(vm)
        #expect(try await store.markStarting(vmID: vm.id))
        #expect(try await !store.markStarting(vmID: vm.id))
        #expect(try await store.vm(id: vm.id)?.state == .starting)
        #expect(try await !store.markStarting(vmID: "missing"))
    }

    @Test func claimNextPendingStartClaimsEachVMOnce() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        try await store.addVM(Self.vm("b"))
        try await store.addVM(Self.vm("a"))
        var stopped = Self.vm("c")
        stopped.desiredState = .stopped
        try await store.addVM(stopped)

        let first = try await store.claimNextPendingStart()
        let second = try await store.claimNextPendingStart()
        #expect(first?.name == "a")
        #expect(first?.state == .starting)
        #expect(second?.name == "b")
        #expect(try await store.claimNextPendingStart() == nil)
        #expect(try await store.vm(named: "c")?.state == .pending)
    }

    @Test func tasksRoundTripAndFilterByState() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        let start = StoredTask(id: "t1", kind: "startVC", vcName: "lab", createdAt: Self.epoch)
        let stop = StoredTask(id: "t2", kind: "stopVC", vcName: "lab", createdAt: Self.epoch.addingTimeInterval(1))
        try await store.createTask(start)
        try await store.createTask(stop)
        #expect(try await store.task(id: "t1") == start)

        try await store.updateTask(
            id: "t1",
            state: .succeeded,
            detail: "2 VMs running",
            at: Self.epoch.addingTimeInterval(9)
        )
        let updated = try #require(try await store.task(id: "t1"))
        #expect(updated.state == .succeeded)
        #expect(updated.detail == "2 VMs running")
        #expect(updated.updatedAt == Self.epoch.addingTimeInterval(9))
        #expect(updated.createdAt == Self.epoch)
        #expect(try await store.tasks(state: .pending) == [stop])
        #expect(try await store.tasks().map(\.id) == ["t1", "t2"])
        await #expect(throws: ManagerStoreError.unknownTask("t9")) {
            try await store.updateTask(id: "t9", state: .failed, detail: "")
        }
    }

    @Test func leasesRoundTripIntoAddressPool() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        var pool = try AddressPool(subnets: [.defaultVMSubnet], reserved: [IPv4Address(192, 168, 122, 1)])
        var ids: [String] = []
        for index in 0..<11 {
            let vm = Self.vm("vm-\(index)")
            try await store.addVM(vm)
            try await store.saveLease(try pool.allocate(for: vm.id))
            ids.append(vm.id)
        }
        #expect(pool.release(vmID: ids[3]) != nil)
        try await store.removeLease(vmID: ids[3])

        let stored = try await store.leases()
        #expect(stored == pool.leases)
        var restored = try AddressPool(subnets: [.defaultVMSubnet], reserved: [IPv4Address(192, 168, 122, 1)])
        try restored.restore(leases: stored)
        #expect(restored.leases == pool.leases)
        // The freed address is handed out again, as in the original pool.
        #expect(try restored.allocate(for: "new") == (try pool.allocate(for: "new")))
    }

    /// A restart without a clean shutdown: the first store stays open (as a killed process leaves its files),
    /// a second one opens the same file. Committed work is there once; aborted work is absent; pending VMs are
    /// started by exactly one of the two.
    @Test func restartKeepsCommittedWorkOnceAndStartsNothingTwice() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let crashed = try file.open()
        try await crashed.defineVirtualCluster("lab")
        var committed: [StoredVM] = []
        for index in 0..<20 {
            let vm = Self.vm(String(format: "vm-%02d", index))
            let createdAt = Self.epoch.addingTimeInterval(Double(index))
            let task = StoredTask(id: "task-\(index)", kind: "addVM", vcName: "lab", createdAt: createdAt)
            if index == 13 {
                // Dies mid-transaction: the VM row was written but never committed.
                await #expect(throws: ManagerStoreError.self) {
                    try await crashed.write { db in
                        try vm.insert(db)
                        try task.insert(db)
                        throw Interrupted()
                    }
                }
                continue
            }
            try await crashed.write { db in
                try vm.insert(db)
                try task.insert(db)
            }
            committed.append(vm)
        }
        // Some starts were already claimed before the "crash".
        for vm in committed.prefix(5) {
            #expect(try await crashed.markStarting(vmID: vm.id))
        }

        let restarted = try file.open()
        let names = try await restarted.vms(inCluster: "lab").map(\.name)
        #expect(names == committed.map(\.name))
        #expect(Set(names).count == names.count)
        #expect(try await restarted.vm(named: "vm-13") == nil)
        #expect(try await restarted.task(id: "task-13") == nil)
        #expect(try await restarted.tasks().count == 19)

        // Replaying pending work after the restart: each remaining VM is claimed once, none of the earlier ones.
        var claimed: [String] = []
        while let vm = try await restarted.claimNextPendingStart() {
            claimed.append(vm.name)
        }
        #expect(claimed == committed.dropFirst(5).map(\.name))
        // The old process, if still alive, cannot start them a second time either.
        for vm in committed {
            #expect(try await !crashed.markStarting(vmID: vm.id))
        }
    }

    /// SQLite runs on GRDB's queues, not on Swift's cooperative pool: with more callers waiting for the writer than
    /// the pool has threads, other tasks still run. Before, each waiting caller held a pool thread, so nothing else
    /// could run until the first (long) transaction had ended. Checked by order, not by a stopwatch: a pool task runs
    /// while that transaction is still open.
    @Test func slowTransactionsLeaveTheCooperativePoolFree() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        let callers = ProcessInfo.processInfo.activeProcessorCount + 2
        let longTransactionOpen = TransactionFlag()
        let writes = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await store.write { _ in
                        Thread.sleep(forTimeInterval: 30)
                        longTransactionOpen.open.withLock { $0 = false }
                    }
                }
                // These queue behind the long one on GRDB's single writer.
                for _ in 1..<callers {
                    group.addTask { _ = try? await store.write { _ in () } }
                }
            }
        }
        // Let every caller reach the store, then run more pool work.
        try await Task.sleep(for: .milliseconds(300))
        let ranWhileOpen = await Task.detached { longTransactionOpen.open.withLock { $0 } }.value
        #expect(ranWhileOpen, "a pool task could run only once the 30 s transaction had ended")
        await writes.value
    }
}

/// Whether the long transaction of `slowTransactionsLeaveTheCooperativePoolFree` is still open.
private final class TransactionFlag: Sendable {
    let open = Mutex(true)
}

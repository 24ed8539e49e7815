import Foundation
import GRDB
import Synchronization

/// The manager's durable state in one SQLite file (WAL mode): hosts, virtual clusters, VMs, tasks and leases.
///
/// Every method is one write or read transaction, so a crash leaves each call either fully applied or absent.
/// Each runs on GRDB's own dispatch queues and is awaited, so SQLite never blocks a thread of Swift's cooperative
/// pool (on a 2-core machine that would stall heartbeats and every other task).
/// State transitions that must happen once (starting a VM) are compare-and-set updates inside the transaction.
public final class ManagerStore: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Set by `startReplicating(to:)` on a coordinated leader: each write queues its changes there and returns once
    /// the replica holds them.
    let replica = Mutex<(any StateReplica)?>(nil)
    let changes = RowChangeCollector()

    /// Opens or creates the database at `path` and brings its schema up to date.
    public init(path: String) throws(ManagerStoreError) {
        self.path = path
        do {
            // DatabasePool always runs in WAL mode, so readers never block the writer.
            pool = try DatabasePool(path: path)
            try Self.migrator.migrate(pool)
            pool.writeWithoutTransaction { [changes] db in db.add(transactionObserver: changes) }
        } catch {
            throw .database(path: path, message: String(describing: error))
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "host") { table in
                table.primaryKey("id", .text)
                table.column("hostname", .text).notNull()
                table.column("state", .text).notNull()
                table.column("cores", .integer).notNull()
                table.column("memoryBytes", .integer).notNull()
                table.column("lastSeen", .double).notNull()
            }
            try db.create(table: "virtualCluster") { table in
                table.primaryKey("name", .text)
                table.column("createdAt", .double).notNull()
            }
            try db.create(table: "vm") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull().unique()
                table.column("vcName", .text).notNull().indexed()
                    .references("virtualCluster", column: "name", onDelete: .cascade)
                table.column("templateXML", .text).notNull()
                table.column("networkRx", .integer).notNull()
                table.column("networkTx", .integer).notNull()
                table.column("desiredState", .text).notNull()
                table.column("hostID", .text)
                table.column("state", .text).notNull()
                table.column("reason", .text)
            }
            try db.create(table: "task") { table in
                table.primaryKey("id", .text)
                table.column("kind", .text).notNull()
                table.column("vcName", .text).notNull()
                table.column("state", .text).notNull()
                    .check(sql: "state IN ('pending', 'running', 'succeeded', 'failed')")
                table.column("createdAt", .double).notNull()
                table.column("updatedAt", .double).notNull()
                table.column("detail", .text).notNull()
            }
            try db.create(table: "lease") { table in
                table.primaryKey("vmID", .text).references("vm", column: "id", onDelete: .cascade)
                table.column("ip", .text).notNull().unique()
                table.column("mac", .text).notNull().unique()
            }
        }
        migrator.registerMigration("v2: VM sizes, task outcomes") { db in
            try db.alter(table: "vm") { table in
                table.add(column: "virtualCPUs", .integer).notNull().defaults(to: 1)
                table.add(column: "memoryBytes", .integer).notNull().defaults(to: 0)
            }
            try db.alter(table: "task") { table in
                table.add(column: "vmName", .text).notNull().defaults(to: "")
                table.add(column: "outcomes", .text).notNull().defaults(to: "[]")
            }
        }
        migrator.registerMigration("v3: highly available VMs") { db in
            try db.alter(table: "vm") { table in
                table.add(column: "highlyAvailable", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v4: migration tasks") { db in
            try db.alter(table: "task") { table in
                table.add(column: "migration", .text)
            }
        }
        // Not in StoredHost: its upserts (every state change) leave the column alone.
        migrator.registerMigration("v5: hosts' migration URIs") { db in
            try db.alter(table: "host") { table in
                table.add(column: "migrationURI", .text).notNull().defaults(to: "")
            }
        }
        // AUTOINCREMENT: a deleted flavor's or image's number is never given to another.
        migrator.registerMigration("v6: flavors, images, VM disks") { db in
            try db.create(table: "flavor") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("name", .text).notNull().unique()
                table.column("virtualCPUs", .integer).notNull()
                table.column("memoryBytes", .integer).notNull()
                table.column("diskBytes", .integer).notNull()
                table.column("createdAt", .double).notNull()
            }
            try db.create(table: "image") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("name", .text).notNull().unique()
                table.column("path", .text).notNull().unique()
                table.column("format", .text).notNull()
                table.column("sizeBytes", .integer).notNull()
                table.column("virtualSizeBytes", .integer).notNull()
                table.column("sha256", .text).notNull()
                table.column("addedAt", .double).notNull()
            }
            // RESTRICT: an image or flavor a VM uses cannot be deleted, even by a bug.
            try db.create(table: "vmDisk") { table in
                table.primaryKey("vmID", .text).references("vm", column: "id", onDelete: .cascade)
                table.column("imageID", .integer).notNull().indexed()
                    .references("image", column: "id", onDelete: .restrict)
                table.column("flavorID", .integer).notNull().indexed()
                    .references("flavor", column: "id", onDelete: .restrict)
                table.column("overlayPath", .text).notNull().unique()
                table.column("seedPath", .text).notNull()
                table.column("sshKeys", .text).notNull()
            }
        }
        // Hypervisor-Coordinator's numeric pmid and vmid (docs/hypervisor-coordinator.md): AUTOINCREMENT, so a
        // number outlives restarts and is never given to another host or VM.
        migrator.registerMigration("v7: Hypervisor-Coordinator numbers") { db in
            try db.create(table: "hostNumber") { table in
                table.autoIncrementedPrimaryKey("number")
                table.column("hostID", .text).notNull().unique()
            }
            try db.create(table: "vmNumber") { table in
                table.autoIncrementedPrimaryKey("number")
                table.column("vmID", .text).notNull().unique().references("vm", column: "id", onDelete: .cascade)
            }
        }
        // pragma_boot clusters (docs/pragma.md): which VM is the frontend, how long computes wait after it, where
        // the cluster's overlays and ISOs are (removed with the cluster).
        migrator.registerMigration("v8: pragma clusters") { db in
            try db.create(table: "pragmaCluster") { table in
                table.primaryKey("name", .text).references("virtualCluster", column: "name", onDelete: .cascade)
                table.column("frontend", .text).notNull()
                table.column("computeDelaySeconds", .integer).notNull()
                table.column("directory", .text).notNull()
            }
        }
        // Reservations with an end (docs/reservations.md).
        migrator.registerMigration("v9: reservations") { db in
            try db.create(table: "reservation") { table in
                table.primaryKey("vcName", .text).references("virtualCluster", column: "name", onDelete: .cascade)
                table.column("until", .double).notNull()
                table.column("createdAt", .double).notNull()
                table.column("stopTaskID", .text)
                table.column("stoppedAt", .double)
            }
        }
        // GENI slices (docs/geni.md): the slice URN a cluster holds and its request's nodes.
        migrator.registerMigration("v10: GENI slices") { db in
            try db.create(table: "geniSlice") { table in
                table.primaryKey("vcName", .text).references("virtualCluster", column: "name", onDelete: .cascade)
                table.column("sliceURN", .text).notNull().unique()
                table.column("nodes", .text).notNull()
                table.column("provisioned", .boolean).notNull()
            }
        }
        // With group managers (docs/ha.md): the group manager each host was dealt to last, so that a new leader
        // gives a host that asks its group manager back. No foreign key: a host is dealt before it joins.
        migrator.registerMigration("v11: host assignments") { db in
            try db.create(table: "hostAssignment") { table in
                table.primaryKey("hostID", .text)
                table.column("groupManagerID", .text).notNull()
                table.column("assignedAt", .double).notNull()
            }
        }
        // Every inventory reads its host's VMs: without an index each read scanned the whole table, so a leader
        // meeting 10,000 hosts of 20 VMs read two billion rows (`bench/run ingest --group-manager`).
        migrator.registerMigration("v12: VMs by host") { db in
            try db.create(index: "vm_on_hostID", on: "vm", columns: ["hostID"])
        }
        // A host asleep when the manager stops is restored asleep at its next start, with what its agent said.
        migrator.registerMigration("v13: host NICs and capabilities") { db in
            try db.alter(table: "host") { table in
                table.add(column: "nicRxBytesPerSecond", .integer).notNull().defaults(to: 0)
                table.add(column: "nicTxBytesPerSecond", .integer).notNull().defaults(to: 0)
                table.add(column: "capabilities", .integer).notNull().defaults(to: 0)
            }
        }
        // What each host draws awake, as its BMC measured it: `torpor energy` counts a host asleep across a restart
        // as saving against it. No foreign key: a host's BMC is read before its agent joins.
        migrator.registerMigration("v14: hosts' idle power") { db in
            try db.create(table: "hostIdlePower") { table in
                table.primaryKey("hostID", .text)
                table.column("watts", .double).notNull()
            }
        }
        // Hosts taken out of service for maintenance (`torpor host cordon`), so a restarted or newly elected leader
        // keeps them out. No foreign key: a sleeping host may be cordoned before its row is written again.
        migrator.registerMigration("v15: cordoned hosts") { db in
            try db.create(table: "hostCordon") { table in
                table.primaryKey("hostID", .text)
                table.column("reason", .text).notNull()
                table.column("since", .double).notNull()
            }
        }
        return migrator
    }

    // MARK: Hosts

    /// Records a host; with `migrationURI`, also the libvirt URI its agent announced (`setMigrationURI`), in the
    /// same transaction: a join is one write (one etcd round trip for a coordinated leader).
    public func upsertHost(_ host: StoredHost, migrationURI: String? = nil) async throws(ManagerStoreError) {
        try await write { db in
            try host.upsert(db)
            if let migrationURI {
                try db.execute(
                    sql: "UPDATE host SET migrationURI = ? WHERE id = ?",
                    arguments: [migrationURI, host.id]
                )
            }
        }
    }

    /// Records a host's power state (SLEEPING, ACTIVE, FAILED) without touching the rest of its row, but for
    /// SLEEPING, which also makes `at` its last seen (a manager started later counts its sleep from then); nothing
    /// for a host never recorded.
    public func setHostState(
        _ state: HostRecord.State,
        ofHost id: String,
        at now: Date = Date()
    ) async throws(ManagerStoreError) {
        try await write { db in
            if state == .sleeping {
                try db.execute(
                    sql: "UPDATE host SET state = ?, lastSeen = ? WHERE id = ?",
                    arguments: [state.rawValue, now.timeIntervalSince1970, id]
                )
            } else {
                try db.execute(sql: "UPDATE host SET state = ? WHERE id = ?", arguments: [state.rawValue, id])
            }
        }
    }

    public func hosts() async throws(ManagerStoreError) -> [StoredHost] {
        try await read { db in try StoredHost.order(Column("id")).fetchAll(db) }
    }

    /// Records the libvirt URI a host's agent announced for incoming migrations (after `upsertHost`): a restarted
    /// manager knows it before the agent announces it again, and each announcement replaces it.
    public func setMigrationURI(_ uri: String, ofHost id: String) async throws(ManagerStoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE host SET migrationURI = ? WHERE id = ?", arguments: [uri, id])
        }
    }

    /// The migration URI each host last announced, for hosts that announced one.
    public func migrationURIs() async throws(ManagerStoreError) -> [String: String] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, migrationURI FROM host WHERE migrationURI != ''")
            return Dictionary(rows.map { (row: Row) -> (String, String) in (row["id"], row["migrationURI"]) }) { $1 }
        }
    }

    // MARK: Virtual clusters

    public func defineVirtualCluster(_ name: String, createdAt: Date = Date()) async throws(ManagerStoreError) {
        try await write { db in
            guard try !StoredVirtualCluster.exists(db, key: name) else {
                throw ManagerStoreError.duplicateVirtualCluster(name)
            }
            try StoredVirtualCluster(name: name, createdAt: createdAt).insert(db)
        }
    }

    /// Deletes the cluster, its VMs and their leases. Tasks stay as history.
    public func undefineVirtualCluster(_ name: String) async throws(ManagerStoreError) {
        try await write { db in
            guard try StoredVirtualCluster.deleteOne(db, key: name) else {
                throw ManagerStoreError.unknownVirtualCluster(name)
            }
        }
    }

    public func virtualClusters() async throws(ManagerStoreError) -> [StoredVirtualCluster] {
        try await read { db in try StoredVirtualCluster.order(Column("name")).fetchAll(db) }
    }

    // MARK: VMs

    /// Checked in the same transaction as the insert, so the error names the clash instead of a SQLite code.
    public func addVM(_ vm: StoredVM) async throws(ManagerStoreError) {
        try await addVMs([vm], leases: [])
    }

    public func vms(inCluster vcName: String) async throws(ManagerStoreError) -> [StoredVM] {
        try await read { db in try StoredVM.filter(Column("vcName") == vcName).order(Column("name")).fetchAll(db) }
    }

    public func vm(named name: String) async throws(ManagerStoreError) -> StoredVM? {
        try await read { db in try StoredVM.filter(Column("name") == name).fetchOne(db) }
    }

    public func vm(id: String) async throws(ManagerStoreError) -> StoredVM? {
        try await read { db in try StoredVM.fetchOne(db, key: id) }
    }

    public func vms() async throws(ManagerStoreError) -> [StoredVM] {
        try await read { db in try StoredVM.order(Column("name")).fetchAll(db) }
    }

    public func vms(onHost hostID: String) async throws(ManagerStoreError) -> [StoredVM] {
        try await read { db in try StoredVM.filter(Column("hostID") == hostID).order(Column("name")).fetchAll(db) }
    }

    /// The stored VMs among `ids` (lower-case UUIDs), by id, in one read: an inventory's VMs.
    public func vms(ids: [String]) async throws(ManagerStoreError) -> [String: StoredVM] {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            var found: [String: StoredVM] = [:]
            // In chunks, well under SQLite's limit on bound parameters.
            for start in stride(from: 0, to: ids.count, by: 500) {
                for vm in try StoredVM.filter(keys: ids[start..<min(start + 500, ids.count)]).fetchAll(db) {
                    found[vm.id] = vm
                }
            }
            return found
        }
    }

    public func vm(uuid: String) async throws(ManagerStoreError) -> StoredVM? {
        try await read { db in try StoredVM.fetchOne(db, key: uuid.lowercased()) }
    }

    /// Adds VMs and their leases in one transaction: all of them or, on any clash, none.
    public func addVMs(_ vms: [StoredVM], leases: [Lease]) async throws(ManagerStoreError) {
        try await write { db in try Self.insert(db, vms, leases: leases) }
    }

    static func insert(_ db: Database, _ vms: [StoredVM], leases: [Lease]) throws {
        for vm in vms {
            guard try StoredVirtualCluster.exists(db, key: vm.vcName) else {
                throw ManagerStoreError.unknownVirtualCluster(vm.vcName)
            }
            guard try !StoredVM.exists(db, key: vm.id) else {
                throw ManagerStoreError.duplicateUUID(vm.id)
            }
            guard try StoredVM.filter(Column("name") == vm.name).fetchCount(db) == 0 else {
                throw ManagerStoreError.duplicateVM(name: vm.name)
            }
            try vm.insert(db)
        }
        for lease in leases { try lease.upsert(db) }
    }

    /// Deletes the VM and its lease; returns its disk files' record when it was made from an image, for the caller
    /// to remove the files.
    @discardableResult
    public func deleteVM(id: String) async throws(ManagerStoreError) -> StoredVMDisk? {
        try await write { db in
            let disk = try StoredVMDisk.fetchOne(db, key: id)
            _ = try StoredVM.deleteOne(db, key: id)
            return disk
        }
    }

    /// Records a VM found on a host that the database did not know, creating its cluster when needed.
    /// Records VMs found on a host that the store did not know, all in one transaction (a host's inventory at
    /// once: one transaction each made a new leader adopt 460 VMs a second); returns them as stored.
    @discardableResult
    public func adoptVMs(_ vms: [StoredVM]) async throws(ManagerStoreError) -> [StoredVM] {
        guard !vms.isEmpty else { return [] }
        return try await write { db in
            var stored: [StoredVM] = []
            for vm in vms {
                if try !StoredVirtualCluster.exists(db, key: vm.vcName) {
                    try StoredVirtualCluster(name: vm.vcName, createdAt: Date()).insert(db)
                }
                // A VM of the same name but another UUID keeps its name; the adopted one gets the UUID as a suffix.
                var adopted = vm
                if try StoredVM.filter(Column("name") == vm.name).fetchCount(db) > 0 {
                    adopted.name = "\(vm.name)-\(vm.id.prefix(8))"
                }
                try adopted.insert(db)
                stored.append(adopted)
            }
            return stored
        }
    }

    public func setDesiredState(vmIDs: [String], _ desired: StoredVM.DesiredState) async throws(ManagerStoreError) {
        try await write { db in
            _ = try StoredVM.filter(keys: vmIDs).updateAll(db, Column("desiredState").set(to: desired.rawValue))
        }
    }

    /// Moves the VM to `starting` on `hostID` if it is still in one of `from`; reports whether this call did it.
    /// The host is recorded before the agent is asked, so a restarted manager asks the same host again.
    public func claimStart(
        vmID: String,
        hostID: String,
        from states: [StoredVM.State]
    ) async throws(ManagerStoreError)
        -> Bool
    {
        try await write { db in
            try StoredVM
                .filter(key: vmID)
                .filter(states.map(\.rawValue).contains(Column("state")))
                .updateAll(
                    db,
                    Column("state").set(to: StoredVM.State.starting.rawValue),
                    Column("hostID").set(to: hostID),
                    Column("reason").set(to: nil as String?)
                ) == 1
        }
    }

    public func setVMPlacement(
        id: String,
        hostID: String?,
        state: StoredVM.State,
        reason: String? = nil
    ) async throws(ManagerStoreError) {
        try await write { db in
            let changed = try StoredVM.filter(key: id).updateAll(
                db,
                Column("hostID").set(to: hostID),
                Column("state").set(to: state.rawValue),
                Column("reason").set(to: reason)
            )
            guard changed == 1 else {
                throw ManagerStoreError.unknownVM(id)
            }
        }
    }

    /// Moves the VM from `pending` to `starting` and reports whether this call did it. A second caller, e.g. a
    /// restarted manager replaying pending work, gets `false` and must not start the VM.
    public func markStarting(vmID: String) async throws(ManagerStoreError) -> Bool {
        try await write { db in try Self.compareAndSetStarting(db, vmID: vmID) }
    }

    /// Claims the first pending VM by name that should run, in one transaction; `nil` when there is none.
    public func claimNextPendingStart() async throws(ManagerStoreError) -> StoredVM? {
        try await write { db in
            let candidate =
                try StoredVM
                .filter(Column("state") == StoredVM.State.pending.rawValue)
                .filter(Column("desiredState") == StoredVM.DesiredState.running.rawValue)
                .order(Column("name"))
                .fetchOne(db)
            guard var vm = candidate, try Self.compareAndSetStarting(db, vmID: vm.id) else {
                return nil
            }
            vm.state = .starting
            return vm
        }
    }

    private static func compareAndSetStarting(_ db: Database, vmID: String) throws -> Bool {
        try StoredVM
            .filter(key: vmID)
            .filter(Column("state") == StoredVM.State.pending.rawValue)
            .updateAll(db, Column("state").set(to: StoredVM.State.starting.rawValue)) == 1
    }

    // MARK: Tasks

    public func createTask(_ task: StoredTask) async throws(ManagerStoreError) {
        try await write { db in try task.insert(db) }
    }

    public func updateTask(
        id: String,
        state: StoredTask.State,
        detail: String,
        outcomes: [StoredTask.Outcome]? = nil,
        at date: Date = Date()
    ) async throws(ManagerStoreError) {
        try await write { db in
            guard var task = try StoredTask.fetchOne(db, key: id) else {
                throw ManagerStoreError.unknownTask(id)
            }
            task.state = state
            task.detail = detail
            if let outcomes { task.outcomes = outcomes }
            task.updatedAt = date
            try task.update(db)
        }
    }

    /// Records a migration task's progress or outcome with its state, detail and outcomes, in one write.
    public func updateMigrationTask(
        id: String,
        state: StoredTask.State,
        detail: String,
        outcomes: [StoredTask.Outcome],
        migration: StoredMigration,
        at date: Date = Date()
    ) async throws(ManagerStoreError) {
        try await write { db in
            guard var task = try StoredTask.fetchOne(db, key: id) else {
                throw ManagerStoreError.unknownTask(id)
            }
            task.state = state
            task.detail = detail
            task.outcomes = outcomes
            task.migration = migration
            task.updatedAt = date
            try task.update(db)
        }
    }

    public func task(id: String) async throws(ManagerStoreError) -> StoredTask? {
        try await read { db in try StoredTask.fetchOne(db, key: id) }
    }

    /// Tasks in creation order; all of them when `state` is nil.
    public func tasks(state: StoredTask.State? = nil) async throws(ManagerStoreError) -> [StoredTask] {
        try await read { db in
            var request = StoredTask.order(Column("createdAt"), Column("id"))
            if let state {
                request = request.filter(Column("state") == state.rawValue)
            }
            return try request.fetchAll(db)
        }
    }

    // MARK: Leases

    public func saveLease(_ lease: Lease) async throws(ManagerStoreError) {
        try await write { db in try lease.upsert(db) }
    }

    public func lease(vmID: String) async throws(ManagerStoreError) -> Lease? {
        try await read { db in try Lease.fetchOne(db, key: vmID) }
    }

    public func removeLease(vmID: String) async throws(ManagerStoreError) {
        try await write { db in _ = try Lease.deleteOne(db, key: vmID) }
    }

    /// In address order, like `AddressPool.leases` (the text column would sort 10.0.0.10 before 10.0.0.9).
    public func leases() async throws(ManagerStoreError) -> [Lease] {
        try await read { db in try Lease.fetchAll(db) }.sorted { $0.ip < $1.ip }
    }

    // MARK: Flavors and images

    public func flavors() async throws(ManagerStoreError) -> [StoredFlavor] {
        try await read { db in try StoredFlavor.order(Column("id")).fetchAll(db) }
    }

    public func flavor(named name: String) async throws(ManagerStoreError) -> StoredFlavor? {
        try await read { db in try StoredFlavor.filter(Column("name") == name).fetchOne(db) }
    }

    /// Returns the flavor with its new id.
    public func createFlavor(_ flavor: StoredFlavor) async throws(ManagerStoreError) -> StoredFlavor {
        try await write { db in
            guard try StoredFlavor.filter(Column("name") == flavor.name).fetchCount(db) == 0 else {
                throw ManagerStoreError.duplicateFlavor(flavor.name)
            }
            var created = flavor
            try created.insert(db)
            return created
        }
    }

    /// Refused while a VM made from it exists, naming the first few.
    public func deleteFlavor(named name: String) async throws(ManagerStoreError) {
        try await write { db in
            guard let flavor = try StoredFlavor.filter(Column("name") == name).fetchOne(db), let id = flavor.id else {
                throw ManagerStoreError.unknownFlavor(name)
            }
            let users = try Self.vmNames(db, usingColumn: "flavorID", id)
            guard users.isEmpty else { throw ManagerStoreError.flavorInUse(name, vms: users) }
            _ = try StoredFlavor.deleteOne(db, key: id)
        }
    }

    public func images() async throws(ManagerStoreError) -> [StoredImage] {
        try await read { db in try StoredImage.order(Column("id")).fetchAll(db) }
    }

    public func image(named name: String) async throws(ManagerStoreError) -> StoredImage? {
        try await read { db in try StoredImage.filter(Column("name") == name).fetchOne(db) }
    }

    /// Returns the image with its new id; a name or path already recorded is refused, naming the other image.
    public func addImage(_ image: StoredImage) async throws(ManagerStoreError) -> StoredImage {
        try await write { db in
            guard try StoredImage.filter(Column("name") == image.name).fetchCount(db) == 0 else {
                throw ManagerStoreError.duplicateImage(image.name)
            }
            if let other = try StoredImage.filter(Column("path") == image.path).fetchOne(db) {
                throw ManagerStoreError.duplicateImagePath(image.path, image: other.name)
            }
            var added = image
            try added.insert(db)
            return added
        }
    }

    /// Refused while an overlay it backs exists, naming the first few VMs.
    public func removeImage(named name: String) async throws(ManagerStoreError) {
        try await write { db in
            guard let image = try StoredImage.filter(Column("name") == name).fetchOne(db), let id = image.id else {
                throw ManagerStoreError.unknownImage(name)
            }
            let users = try Self.vmNames(db, usingColumn: "imageID", id)
            guard users.isEmpty else { throw ManagerStoreError.imageInUse(name, vms: users) }
            _ = try StoredImage.deleteOne(db, key: id)
        }
    }

    /// How many VMs each image backs, by image id.
    public func imageUse() async throws(ManagerStoreError) -> [Int64: Int] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT imageID, COUNT(*) AS n FROM vmDisk GROUP BY imageID")
            return Dictionary(
                uniqueKeysWithValues: rows.map { (row: Row) -> (Int64, Int) in (row["imageID"], row["n"]) }
            )
        }
    }

    public func vmDisk(vmID: String) async throws(ManagerStoreError) -> StoredVMDisk? {
        try await read { db in try StoredVMDisk.fetchOne(db, key: vmID) }
    }

    public func vmDisks() async throws(ManagerStoreError) -> [StoredVMDisk] {
        try await read { db in try StoredVMDisk.order(Column("vmID")).fetchAll(db) }
    }

    /// Adds VMs made from an image, their leases and their disks' records in one transaction, like `addVMs`.
    public func addVMs(
        _ vms: [StoredVM],
        leases: [Lease],
        disks: [StoredVMDisk]
    ) async throws(ManagerStoreError) {
        try await write { db in
            try Self.insert(db, vms, leases: leases)
            for disk in disks { try disk.insert(db) }
        }
    }

    private static func vmNames(_ db: Database, usingColumn column: String, _ id: Int64) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT vm.name FROM vmDisk JOIN vm ON vm.id = vmDisk.vmID WHERE vmDisk.\(column) = ? "
                + "ORDER BY vm.name LIMIT 5",
            arguments: [id]
        )
    }

    // MARK: Transactions

    /// Runs `body` in one write transaction on GRDB's writer queue, never on Swift's cooperative pool; a throw
    /// rolls it back. Exposed so callers can group several changes (a VM and its lease) atomically. With a
    /// replica, the call returns only once the replica holds what the transaction changed.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(ManagerStoreError) -> T {
        do {
            let (result, pending) = try await pool.write { db in try self.replicated(db, body) }
            if let pending { try await pending.replica.flushed(through: pending.ticket) }
            return result
        } catch let error as ManagerStoreError {
            throw error
        } catch {
            throw .database(path: path, message: String(describing: error))
        }
    }

    /// Runs `body` in one read transaction on one of GRDB's reader queues.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(ManagerStoreError) -> T {
        do {
            return try await pool.read(body)
        } catch let error as ManagerStoreError {
            throw error
        } catch {
            throw .database(path: path, message: String(describing: error))
        }
    }
}

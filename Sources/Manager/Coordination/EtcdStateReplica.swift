import Dispatch
import Etcd
import Logging
import Synchronization

/// A coordinated leader's state in etcd (docs/ha.md, "State in etcd"): every row of the state database under
/// `PREFIX/rows/TABLE/ROWID`, AUTOINCREMENT marks under `PREFIX/sequence/TABLE`, and the schema's migrations under
/// `PREFIX/schema`. Each write of the store is one etcd transaction (more above 100 changes) guarded by the
/// leader's own election key: once another manager could lead, etcd refuses the write and the store rolls it back,
/// so a deposed leader never changes the state. A newly elected leader first rebuilds its local file from etcd
/// (`synchronize`), or, when etcd holds no state yet, copies its file there.
final class EtcdStateReplica: StateReplica {
    /// etcd's default `--max-txn-ops` is 128.
    static let operationsPerTransaction = 100
    /// etcd's default `--max-request-bytes` is 1.5 MiB.
    static let bytesPerTransaction = 1_000_000
    static let keysPerPage = 500

    let client: EtcdClient
    /// Without a trailing slash.
    let prefix: String
    /// The leader's election key and its create_revision: writes are applied only while it stands.
    let fenceKey: String
    let fenceRevision: Int64
    let logger: Logger

    init(client: EtcdClient, prefix: String, fenceKey: String, fenceRevision: Int64, logger: Logger) {
        self.client = client
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.fenceKey = fenceKey
        self.fenceRevision = fenceRevision
        self.logger = logger
    }

    var schemaKey: String { "\(prefix)/schema" }
    func rowKey(_ table: String, _ rowID: Int64) -> String { "\(prefix)/rows/\(table)/\(rowID)" }
    func sequenceKey(_ table: String) -> String { "\(prefix)/sequence/\(table)" }

    func operation(_ change: ReplicatedChange) -> EtcdOperation {
        switch change {
        case .put(let row):
            .put(key: rowKey(row.table, row.rowID), value: ReplicatedRowCodec.encode(row.columns), lease: 0)
        case .delete(let table, let rowID):
            .delete(key: rowKey(table, rowID))
        case .sequence(let table, let value):
            .put(key: sequenceKey(table), value: Array(String(value).utf8), lease: 0)
        }
    }

    // MARK: Writing

    /// Blocks the calling thread (GRDB's writer queue, never the cooperative pool) until etcd has applied every
    /// change, or throws.
    func replicate(_ changes: [ReplicatedChange]) throws(ManagerStoreError) {
        let operations = changes.map(operation)
        let outcome = Mutex<Result<Void, ManagerStoreError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<Void, ManagerStoreError>
            do throws(ManagerStoreError) {
                try await apply(operations)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }!.get()
    }

    /// Applies `operations` in fenced transactions of at most `operationsPerTransaction` and about
    /// `bytesPerTransaction` each.
    func apply(_ operations: [EtcdOperation]) async throws(ManagerStoreError) {
        var batch: [EtcdOperation] = []
        var bytes = 0
        for operation in operations {
            let size: Int
            if case .put(let key, let value, _) = operation { size = key.utf8.count + value.count } else { size = 64 }
            if !batch.isEmpty, batch.count >= Self.operationsPerTransaction || bytes + size > Self.bytesPerTransaction {
                try await commit(batch)
                batch.removeAll()
                bytes = 0
            }
            batch.append(operation)
            bytes += size
        }
        if !batch.isEmpty { try await commit(batch) }
    }

    private func commit(_ batch: [EtcdOperation]) async throws(ManagerStoreError) {
        let result: EtcdTransactionResult
        do {
            result = try await client.transaction(
                if: [EtcdCompare(key: fenceKey, .equal, .createRevision(fenceRevision))],
                then: batch
            )
        } catch {
            throw .replication("etcd did not take the write (\(error)); it was not done")
        }
        guard result.succeeded else {
            logger.critical(
                "etcd refused a state write: this manager's election key is gone",
                metadata: ["torpor.key": "\(fenceKey)"]
            )
            throw .replication("this manager no longer leads (its election key \(fenceKey) is gone); the write was not done")
        }
    }

    // MARK: Taking over

    /// What a newly elected leader does before it starts: rebuild `store` from etcd, or, when etcd holds no state
    /// yet (the first coordinated leader), copy the store there; then replicate every write from now on.
    func synchronize(_ store: ManagerStore) async throws(ManagerStoreError) {
        if let snapshot = try await read() {
            try await store.restore(snapshot)
            logger.notice(
                "state restored from etcd",
                metadata: ["torpor.rows": "\(snapshot.rows.count)", "torpor.prefix": "\(prefix)"]
            )
        } else {
            let snapshot = try await store.snapshot()
            try await seed(snapshot)
            logger.notice(
                "state copied to etcd (none there yet)",
                metadata: ["torpor.rows": "\(snapshot.rows.count)", "torpor.prefix": "\(prefix)"]
            )
        }
        store.startReplicating(to: self)
    }

    /// The state in etcd, read page by page at one revision; nil when there is none (no schema key).
    func read() async throws(ManagerStoreError) -> StateSnapshot? {
        var rows: [ReplicatedRow] = []
        var sequences: [String: Int64] = [:]
        var migrations: [String]?
        var start = "\(prefix)/"
        var revision: Int64 = 0
        while true {
            let page: EtcdRange
            do {
                page = try await client.page(prefix: "\(prefix)/", from: start, limit: Self.keysPerPage, atRevision: revision)
            } catch {
                throw .replication("cannot read the state from etcd: \(error)")
            }
            revision = page.revision
            for entry in page.keyValues {
                try decode(entry, rows: &rows, sequences: &sequences, migrations: &migrations)
            }
            guard page.keyValues.count >= Self.keysPerPage, let last = page.keyValues.last else { break }
            start = last.key + "\u{0}"
        }
        guard let migrations else {
            guard rows.isEmpty else {
                throw .replication("etcd holds rows under \(prefix)/rows but no \(schemaKey); refusing to guess the schema")
            }
            return nil
        }
        return StateSnapshot(migrations: migrations, rows: rows, sequences: sequences)
    }

    private func decode(
        _ entry: EtcdKeyValue,
        rows: inout [ReplicatedRow],
        sequences: inout [String: Int64],
        migrations: inout [String]?
    ) throws(ManagerStoreError) {
        if entry.key == schemaKey {
            migrations = entry.string.split(separator: "\n").map(String.init)
            return
        }
        let parts = entry.key.dropFirst(prefix.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("rows", 3):
            guard let rowID = Int64(parts[2]) else {
                throw .replication("etcd key \(entry.key): not a row id")
            }
            do {
                rows.append(
                    ReplicatedRow(table: String(parts[1]), rowID: rowID, columns: try ReplicatedRowCodec.decode(entry.value))
                )
            } catch {
                throw .replication("etcd key \(entry.key): \(error)")
            }
        case ("sequence", 2):
            guard let value = Int64(entry.string) else {
                throw .replication("etcd key \(entry.key): not a number")
            }
            sequences[String(parts[1])] = value
        default:
            throw .replication("etcd key \(entry.key) is not part of the state's layout")
        }
    }

    /// Copies a whole snapshot, the schema key last, so a leader that dies halfway leaves no schema key and the
    /// next one seeds again.
    func seed(_ snapshot: StateSnapshot) async throws(ManagerStoreError) {
        var operations: [EtcdOperation] = []
        operations += snapshot.rows.map { operation(.put($0)) }
        operations += snapshot.sequences.sorted { $0.key < $1.key }.map { operation(.sequence(table: $0.key, value: $0.value)) }
        do {
            _ = try await client.delete(prefix: "\(prefix)/")
        } catch {
            throw .replication("cannot clear \(prefix)/ in etcd: \(error)")
        }
        try await apply(operations)
        try await apply([.put(key: schemaKey, value: Array(snapshot.migrations.joined(separator: "\n").utf8), lease: 0)])
    }
}

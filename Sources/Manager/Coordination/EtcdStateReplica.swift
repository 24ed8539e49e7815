import Etcd
import Logging
import Synchronization

/// A coordinated leader's state in etcd (docs/ha.md, "State in etcd"): every row of the state database under
/// `PREFIX/rows/TABLE/ROWID`, AUTOINCREMENT marks under `PREFIX/sequence/TABLE`, and the schema's migrations under
/// `PREFIX/schema`. Writes queued while one is on its way go together in the next etcd transaction (more above 100
/// changes), each guarded by the leader's own election key: once another manager could lead, etcd refuses, every
/// write waiting fails, and a deposed leader never changes the state another leads from. A newly elected leader
/// first rebuilds its local file from etcd (`synchronize`), or, when etcd holds no state yet, copies its file there.
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
    let metrics: ManagerMetrics

    init(
        client: EtcdClient,
        prefix: String,
        fenceKey: String,
        fenceRevision: Int64,
        logger: Logger,
        metrics: ManagerMetrics = .none
    ) {
        self.client = client
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.fenceKey = fenceKey
        self.fenceRevision = fenceRevision
        self.logger = logger
        self.metrics = metrics
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

    private struct Queue {
        var pending: [(ticket: UInt64, changes: [ReplicatedChange])] = []
        var lastTicket: UInt64 = 0
        var flushedThrough: UInt64 = 0
        var flushing = false
        /// Set for good once etcd refused a write: this manager no longer leads.
        var failure: ManagerStoreError?
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }
    private let queue = Mutex(Queue())
    /// Between attempts while etcd cannot be reached; the election decides whether this manager still leads.
    static let retryDelay: Duration = .milliseconds(250)
    /// Between attempts while etcd answers with an error, until an operator mends it.
    static let refusedRetryDelay: Duration = .seconds(2)
    /// The largest change one row may make: below etcd's default `--max-request-bytes` (1.5 MiB) with room for
    /// the key and the transaction around it.
    static let maximumChangeBytes = 1_000_000

    /// Queues a transaction's changes (on GRDB's writer queue: never blocks) and starts a flush unless one runs.
    /// A row etcd could never take is refused here, naming it, so the transaction rolls back.
    func enqueue(_ changes: [ReplicatedChange]) throws(ManagerStoreError) -> UInt64 {
        for change in changes {
            if case .put(let key, let value, _) = operation(change), value.count > Self.maximumChangeBytes {
                throw .replication(
                    "\(key) would be \(value.count) bytes; etcd takes at most \(Self.maximumChangeBytes) a row"
                )
            }
        }
        let (ticket, startFlushing) = queue.withLock { queue in
            queue.lastTicket += 1
            // Deposed: nothing will be sent again; `flushed` fails at once.
            if queue.failure == nil { queue.pending.append((queue.lastTicket, changes)) }
            let start = !queue.flushing && queue.failure == nil
            if start { queue.flushing = true }
            return (queue.lastTicket, start)
        }
        if startFlushing { Task { await flush() } }
        return ticket
    }

    func flushed(through ticket: UInt64) async throws(ManagerStoreError) {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, ManagerStoreError>? = queue.withLock { queue in
                    if queue.flushedThrough >= ticket { return .success(()) }
                    if let failure = queue.failure { return .failure(failure) }
                    queue.waiters.append((ticket, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome.mapError { $0 as any Error }) }
            }
        } catch let error as ManagerStoreError {
            throw error
        } catch {
            throw .replication("\(error)")
        }
    }

    /// Sends everything queued, as one batch (later changes to a row replacing earlier ones), until the queue is
    /// empty. etcd unreachable: the same batch again after `retryDelay` (puts and deletes are idempotent); etcd
    /// refusing (the election key is gone): every waiter, now and later, fails.
    private func flush() async {
        while true {
            let batch: (through: UInt64, changes: [ReplicatedChange])? = queue.withLock { queue in
                guard !queue.pending.isEmpty, queue.failure == nil else {
                    queue.flushing = false
                    return nil
                }
                defer { queue.pending.removeAll() }
                return (queue.pending.last!.ticket, queue.pending.flatMap(\.changes))
            }
            guard let batch else { return }
            let operations = Self.coalesced(batch.changes.map(operation))
            while true {
                let started = ContinuousClock.now
                do throws(CommitFailure) {
                    try await apply(operations)
                    metrics.stateReplicated(changes: operations.count, took: ContinuousClock.now - started)
                    finish(through: batch.through, failure: nil)
                    break
                } catch {
                    guard case .etcd(let error) = error else {
                        metrics.stateReplicationFailed(reason: "deposed")
                        finish(through: batch.through, failure: .deposed(electionKey: fenceKey))
                        return
                    }
                    // Unreachable, or etcd said no (out of space, permission): what the operator mends; the
                    // writes wait rather than part of the state going missing. Oversized rows never get here.
                    let unreachable = error.isConnectionFailure
                    metrics.stateReplicationFailed(reason: unreachable ? "unreachable" : "refused")
                    logger.error("state write to etcd failed; retrying", metadata: ["torpor.error": "\(error)"])
                    try? await Task.sleep(for: unreachable ? Self.retryDelay : Self.refusedRetryDelay)
                }
            }
        }
    }

    private func finish(through ticket: UInt64, failure: ManagerStoreError?) {
        let (ready, failed) = queue.withLock { queue in
            if let failure {
                queue.failure = failure
                queue.flushing = false
                queue.pending.removeAll()
                defer { queue.waiters.removeAll() }
                return ([CheckedContinuation<Void, any Error>](), queue.waiters.map(\.continuation))
            }
            queue.flushedThrough = ticket
            let ready = queue.waiters.filter { $0.ticket <= ticket }.map(\.continuation)
            queue.waiters.removeAll { $0.ticket <= ticket }
            return (ready, [])
        }
        for continuation in ready { continuation.resume() }
        if let failure { for continuation in failed { continuation.resume(throwing: failure) } }
    }

    /// One operation per key, the last one queued (etcd refuses a transaction that names a key twice).
    static func coalesced(_ operations: [EtcdOperation]) -> [EtcdOperation] {
        var index: [String: Int] = [:]
        var result: [EtcdOperation] = []
        for operation in operations {
            let key: String
            switch operation {
            case .put(let name, _, _), .delete(let name), .get(let name), .deletePrefix(let name): key = name
            }
            if let existing = index[key] {
                result[existing] = operation
            } else {
                index[key] = result.count
                result.append(operation)
            }
        }
        return result
    }

    /// Why a fenced etcd transaction did not apply.
    enum CommitFailure: Error {
        /// The election key is gone: another manager may lead.
        case deposed
        case etcd(EtcdError)

        func storeError(fenceKey: String) -> ManagerStoreError {
            switch self {
            case .deposed: .deposed(electionKey: fenceKey)
            case .etcd(let error): .replication("etcd did not take the write: \(error)")
            }
        }
    }

    /// Applies `operations` in fenced transactions of at most `operationsPerTransaction` and about
    /// `bytesPerTransaction` each.
    func apply(_ operations: [EtcdOperation]) async throws(CommitFailure) {
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

    private func commit(_ batch: [EtcdOperation]) async throws(CommitFailure) {
        let result: EtcdTransactionResult
        do {
            result = try await client.transaction(
                if: [EtcdCompare(key: fenceKey, .equal, .createRevision(fenceRevision))],
                then: batch
            )
        } catch {
            throw .etcd(error)
        }
        guard result.succeeded else {
            logger.critical(
                "etcd refused a state write: this manager's election key is gone",
                metadata: ["torpor.key": "\(fenceKey)"]
            )
            throw .deposed
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
                page = try await client.page(
                    prefix: "\(prefix)/",
                    from: start,
                    limit: Self.keysPerPage,
                    atRevision: revision
                )
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
        // No schema key: no state, or a first leader's copy cut short (the schema key goes last); `seed` clears
        // what is there.
        guard let migrations else { return nil }
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
                    ReplicatedRow(
                        table: String(parts[1]),
                        rowID: rowID,
                        columns: try ReplicatedRowCodec.decode(entry.value)
                    )
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

    /// Copies a whole snapshot after clearing the prefix (what a copy cut short left), the schema key last, so a
    /// leader that dies halfway leaves no schema key and the next one copies again. Every step is fenced: a
    /// manager deposed meanwhile clears nothing another leads from.
    func seed(_ snapshot: StateSnapshot) async throws(ManagerStoreError) {
        var operations: [EtcdOperation] = []
        operations += snapshot.rows.map { operation(.put($0)) }
        operations += snapshot.sequences.sorted { $0.key < $1.key }.map {
            operation(.sequence(table: $0.key, value: $0.value))
        }
        do throws(CommitFailure) {
            try await apply([.deletePrefix(prefix: "\(prefix)/")])
            try await apply(operations)
            try await apply([
                .put(key: schemaKey, value: Array(snapshot.migrations.joined(separator: "\n").utf8), lease: 0)
            ])
        } catch {
            throw error.storeError(fenceKey: fenceKey)
        }
    }
}

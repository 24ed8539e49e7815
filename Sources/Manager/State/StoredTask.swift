import Foundation
import GRDB

/// A unit of user-visible work (e.g. "start VC lab"), persisted so its outcome survives a restart.
public struct StoredTask: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "task"
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public enum State: String, Codable, Sendable, CaseIterable {
        case pending
        case running
        case succeeded
        case failed
    }

    /// One VM's part in the task.
    public struct Outcome: Codable, Equatable, Sendable {
        public enum State: String, Codable, Sendable {
            case pending, inProgress, done, failed, unplaced
        }

        public var vm: String
        public var state: State
        public var hostID: String
        public var message: String

        public init(vm: String, state: State = .pending, hostID: String = "", message: String = "") {
            self.vm = vm
            self.state = state
            self.hostID = hostID
            self.message = message
        }
    }

    public var id: String
    public var kind: String
    public var vcName: String
    /// The one VM the task is about; empty when it is about the whole cluster.
    public var vmName: String
    /// Stored as JSON text; read back only by the manager.
    public var outcomes: [Outcome]
    public var state: State
    public var createdAt: Date
    public var updatedAt: Date
    public var detail: String
    /// A migration task's record (JSON in the `migration` column); nil for other tasks.
    public var migration: StoredMigration?

    public init(
        id: String,
        kind: String,
        vcName: String,
        vmName: String = "",
        outcomes: [Outcome] = [],
        state: State = .pending,
        createdAt: Date,
        updatedAt: Date? = nil,
        detail: String = "",
        migration: StoredMigration? = nil
    ) {
        self.id = id
        self.kind = kind
        self.vcName = vcName
        self.vmName = vmName
        self.outcomes = outcomes
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.detail = detail
        self.migration = migration
    }
}

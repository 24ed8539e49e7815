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

    public var id: String
    public var kind: String
    public var vcName: String
    public var state: State
    public var createdAt: Date
    public var updatedAt: Date
    public var detail: String

    public init(
        id: String,
        kind: String,
        vcName: String,
        state: State = .pending,
        createdAt: Date,
        updatedAt: Date? = nil,
        detail: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.vcName = vcName
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.detail = detail
    }
}

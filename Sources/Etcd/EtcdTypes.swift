/// A key and its value as etcd stores them, with the revisions the election compares.
public struct EtcdKeyValue: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    /// The lease the key is attached to, or 0.
    public var lease: Int64

    public init(
        key: String,
        value: [UInt8],
        createRevision: Int64 = 0,
        modRevision: Int64 = 0,
        version: Int64 = 0,
        lease: Int64 = 0
    ) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The value as UTF-8 text (invalid bytes replaced).
    public var string: String { String(decoding: value, as: UTF8.self) }
}

/// The keys a range read and the store's revision at the read.
public struct EtcdRange: Sendable, Hashable {
    public var keyValues: [EtcdKeyValue]
    public var revision: Int64
}

/// A granted lease: its id and the TTL etcd granted, in seconds.
public struct EtcdLease: Sendable, Hashable {
    public var id: Int64
    public var ttl: Int64
}

/// How a range orders its keys (etcd's SortTarget; ascending).
public enum EtcdSortTarget: String, Sendable {
    case key = "KEY"
    case createRevision = "CREATE"
    case modRevision = "MOD"
}

/// One comparison of a transaction's `if` part.
public struct EtcdCompare: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case createRevision(Int64)
        case modRevision(Int64)
        case version(Int64)
        case value([UInt8])
    }
    public enum Result: String, Sendable {
        case equal = "EQUAL"
        case notEqual = "NOT_EQUAL"
        case greater = "GREATER"
        case less = "LESS"
    }
    public var key: String
    public var result: Result
    public var target: Target

    public init(key: String, _ result: Result, _ target: Target) {
        self.key = key
        self.result = result
        self.target = target
    }
}

/// One operation of a transaction's `then` or `else` part.
public enum EtcdOperation: Sendable, Hashable {
    case put(key: String, value: [UInt8], lease: Int64)
    case get(key: String)
    case delete(key: String)
    /// Every key starting with `prefix`.
    case deletePrefix(prefix: String)
}

/// What one operation of the branch that ran returned: the keys of a get, nothing for a put or delete.
public enum EtcdOperationResult: Sendable, Hashable {
    case range([EtcdKeyValue])
    case put
    case delete(deleted: Int64)
}

/// A transaction's outcome: which branch ran, and its results.
public struct EtcdTransactionResult: Sendable, Hashable {
    public var succeeded: Bool
    public var revision: Int64
    public var results: [EtcdOperationResult]
}

/// One change a watch reports.
public struct EtcdWatchEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case put
        case delete
    }
    public var kind: Kind
    public var keyValue: EtcdKeyValue
}

/// The end of the key range holding every key that starts with `prefix` (etcd's clientv3.GetPrefixRangeEnd).
func prefixRangeEnd(_ prefix: [UInt8]) -> [UInt8] {
    var end = prefix
    while let last = end.last {
        if last < 0xff {
            end[end.count - 1] = last + 1
            return end
        }
        end.removeLast()
    }
    // Every byte was 0xff (or the prefix was empty): "\0" means every key after the start.
    return [0]
}

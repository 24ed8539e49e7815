import Logging

/// The Manager module's log metadata keys in one place (after postgres-nio's Logging+PSQL.swift). The journal shows
/// each as an upper-case field (`torpor.host` as TORPOR_HOST), so a key is part of what operators filter on.
enum ManagerMetadataKey: String, Sendable, CaseIterable {
    case action = "torpor.action"
    case address = "torpor.address"
    case broker = "torpor.broker"
    case bytes = "torpor.bytes"
    case confirmation = "torpor.confirmation"
    case cores = "torpor.cores"
    case count = "torpor.count"
    case database = "torpor.database"
    case detail = "torpor.detail"
    case driver = "torpor.driver"
    case duration = "torpor.duration"
    case error = "torpor.error"
    case expected = "torpor.expected"
    case failedFor = "torpor.failed_for"
    case failures = "torpor.failures"
    case field = "torpor.field"
    /// The group manager a host moves from (rebalancing).
    case from = "torpor.from"
    case groupManager = "torpor.group_manager"
    case flavor = "torpor.flavor"
    case holder = "torpor.holder"
    case host = "torpor.host"
    case hostname = "torpor.hostname"
    case hosts = "torpor.hosts"
    case limit = "torpor.limit"
    case image = "torpor.image"
    case kind = "torpor.kind"
    case listen = "torpor.listen"
    case memoryBytes = "torpor.memory_bytes"
    case message = "torpor.message"
    case method = "torpor.method"
    case path = "torpor.path"
    case peer = "torpor.peer"
    case phase = "torpor.phase"
    case policy = "torpor.policy"
    case port = "torpor.port"
    case previousState = "torpor.previous_state"
    case reason = "torpor.reason"
    case remainingBytes = "torpor.remaining_bytes"
    case retention = "torpor.retention"
    case retryIn = "torpor.retry_in"
    case sequence = "torpor.sequence"
    case silentFor = "torpor.silent_for"
    case state = "torpor.state"
    case status = "torpor.status"
    case task = "torpor.task"
    /// This process's TLS certificate (`role/name (serial S)`), or "plaintext".
    case tls = "torpor.tls"
    /// The group manager a host moves to (rebalancing).
    case to = "torpor.to"
    case took = "torpor.took"
    case total = "torpor.total"
    case uuid = "torpor.uuid"
    case value = "torpor.value"
    case vc = "torpor.vc"
    case vm = "torpor.vm"
    case vms = "torpor.vms"
    case was = "torpor.was"
}

extension Logger {
    /// The logger's metadata value for `key`.
    subscript(manager key: ManagerMetadataKey) -> Logger.Metadata.Value? {
        get { self[metadataKey: key.rawValue] }
        set { self[metadataKey: key.rawValue] = newValue }
    }

    func trace(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .trace, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    func debug(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .debug, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    func info(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .info, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    func notice(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .notice, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    func warning(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .warning, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    func error(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> [ManagerMetadataKey: Logger.MetadataValue],
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        log(level: .error, message(), metadata: Self.metadata(metadata()), file: file, function: function, line: line)
    }

    private static func metadata(_ values: [ManagerMetadataKey: Logger.MetadataValue]) -> Logger.Metadata {
        Logger.Metadata(uniqueKeysWithValues: values.map { ($0.key.rawValue, $0.value) })
    }
}

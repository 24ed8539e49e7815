import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import Trust

/// A small etcd v3 client over etcd's JSON gateway (`/v3/kv/…`, `/v3/lease/…`, `/v3/watch`): keys and values are
/// base64 in the JSON, 64-bit numbers are strings. Calls go to the first endpoint that answers; an endpoint that
/// cannot be reached passes the call to the next. With credentials it authenticates (`/v3/auth/authenticate`) and
/// sends the token, authenticating again when etcd says the token is no longer valid.
public final class EtcdClient: Sendable {
    public let endpoints: [String]
    let http: HTTPClient
    let credentials: EtcdCredentials?
    let requestTimeout: Duration
    let logger: Logger
    /// The endpoint that answered last (calls start there) and the auth token, if any.
    private let state = Mutex<(preferred: Int, token: String?)>((0, nil))

    public init(_ configuration: EtcdConfiguration, logger: Logger) throws(EtcdError) {
        endpoints = try configuration.validated()
        credentials = try configuration.credentialsFile.map { (path) throws(EtcdError) in
            try EtcdCredentials.read(path)
        }
        requestTimeout = configuration.requestTimeout
        self.logger = logger
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: try configuration.tls.map { (tls) throws(EtcdError) in try Self.tlsConfiguration(tls) },
            timeout: .init(connect: .init(configuration.connectTimeout))
        )
        // etcd's port also speaks gRPC over HTTP/2; the gateway is plain HTTP/1.1 JSON.
        httpConfiguration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// Closes the connections; the client cannot be used afterwards.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A client dropped without `shutdown()` (its owner failed or was cancelled part way) still closes its
    /// connections, without blocking: the shutdown in flight keeps the HTTP client alive until it is done. (A debug
    /// build's HTTPClient otherwise traps in its deinit, taking the whole process with it.)
    deinit {
        http.shutdown().whenComplete { _ in }
    }

    static func tlsConfiguration(_ tls: EtcdConfiguration.TLS) throws(EtcdError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tls.caFile))
        } catch {
            throw .configuration("etcd TLS CA file \(tls.caFile) is not usable: \(error)")
        }
        switch (tls.certificateFile, tls.keyFile) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch {
                throw .configuration("etcd TLS certificate file \(certificate) is not usable: \(error)")
            }
            do {
                try SecretFileCheck.check(key)
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch let error as EtcdError {
                throw error
            } catch {
                throw .configuration("etcd TLS key file \(key) is not usable: \(error)")
            }
        default:
            throw .configuration("etcd TLS needs both a certificate file and a key file, or neither")
        }
        return configuration
    }

    // MARK: Keys

    /// The key's value, or nil when it does not exist.
    public func get(_ key: String) async throws(EtcdError) -> EtcdKeyValue? {
        try await range(["key": Self.base64(key)]).keyValues.first
    }

    /// The keys starting with `prefix`, ordered by `sort`, at most `limit` (0: all), only those created at or
    /// before `maxCreateRevision` when it is not 0; with the store's revision.
    public func range(
        prefix: String,
        sort: EtcdSortTarget = .key,
        descending: Bool = false,
        limit: Int = 0,
        maxCreateRevision: Int64 = 0
    ) async throws(EtcdError) -> EtcdRange {
        var request: [String: Any] = [
            "key": Self.base64(prefix), "range_end": Self.base64(prefixRangeEnd(Array(prefix.utf8))),
            "sort_target": sort.rawValue, "sort_order": descending ? "DESCEND" : "ASCEND",
        ]
        if limit > 0 { request["limit"] = String(limit) }
        if maxCreateRevision > 0 { request["max_create_revision"] = String(maxCreateRevision) }
        return try await range(request)
    }

    /// One page of the keys under `prefix` from `start` on (inclusive) in key order, at most `limit`, read at
    /// `revision` when it is not 0, so that successive pages are one consistent snapshot; with that revision.
    public func page(
        prefix: String,
        from start: String,
        limit: Int,
        atRevision revision: Int64 = 0
    ) async throws(EtcdError) -> EtcdRange {
        var request: [String: Any] = [
            "key": Self.base64(start), "range_end": Self.base64(prefixRangeEnd(Array(prefix.utf8))),
            "sort_target": EtcdSortTarget.key.rawValue, "sort_order": "ASCEND", "limit": String(max(1, limit)),
        ]
        if revision > 0 { request["revision"] = String(revision) }
        return try await range(request)
    }

    private func range(_ request: [String: Any]) async throws(EtcdError) -> EtcdRange {
        let (endpoint, reply) = try await call("/v3/kv/range", request)
        let reader = Reader(endpoint: endpoint, path: "/v3/kv/range")
        return EtcdRange(
            keyValues: try reader.keyValues(reply["kvs"]),
            revision: try reader.revision(reply)
        )
    }

    /// Stores `value` under `key`, attached to `lease` when not 0; returns the store's new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        var request: [String: Any] = ["key": Self.base64(key), "value": Self.base64(value)]
        if lease != 0 { request["lease"] = String(lease) }
        let (endpoint, reply) = try await call("/v3/kv/put", request)
        return try Reader(endpoint: endpoint, path: "/v3/kv/put").revision(reply)
    }

    /// Stores text under `key`.
    @discardableResult
    public func put(_ key: String, _ value: String, lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        try await put(key, Array(value.utf8), lease: lease)
    }

    /// Deletes `key`; returns how many keys went (0 or 1).
    @discardableResult
    public func delete(_ key: String) async throws(EtcdError) -> Int64 {
        try await deleteRange(["key": Self.base64(key)])
    }

    /// Deletes every key starting with `prefix`; returns how many went.
    @discardableResult
    public func delete(prefix: String) async throws(EtcdError) -> Int64 {
        try await deleteRange([
            "key": Self.base64(prefix), "range_end": Self.base64(prefixRangeEnd(Array(prefix.utf8))),
        ])
    }

    private func deleteRange(_ request: [String: Any]) async throws(EtcdError) -> Int64 {
        let (endpoint, reply) = try await call("/v3/kv/deleterange", request)
        return try Reader(endpoint: endpoint, path: "/v3/kv/deleterange").int(reply["deleted"], "deleted")
    }

    /// An atomic `if compares then success else failure`.
    public func transaction(
        if compares: [EtcdCompare],
        then success: [EtcdOperation],
        else failure: [EtcdOperation] = []
    ) async throws(EtcdError) -> EtcdTransactionResult {
        let request: [String: Any] = [
            "compare": compares.map(Self.json), "success": success.map(Self.json), "failure": failure.map(Self.json),
        ]
        let (endpoint, reply) = try await call("/v3/kv/txn", request)
        let reader = Reader(endpoint: endpoint, path: "/v3/kv/txn")
        let succeeded = reply["succeeded"] as? Bool ?? false
        let responses = reply["responses"] as? [[String: Any]] ?? []
        let results = try responses.map { (response) throws(EtcdError) -> EtcdOperationResult in
            if let range = response["response_range"] as? [String: Any] {
                return .range(try reader.keyValues(range["kvs"]))
            }
            if let delete = response["response_delete_range"] as? [String: Any] {
                return .delete(deleted: try reader.int(delete["deleted"], "deleted"))
            }
            return .put
        }
        return EtcdTransactionResult(succeeded: succeeded, revision: try reader.revision(reply), results: results)
    }

    // MARK: Leases

    /// A new lease living `ttl` seconds past its last keepalive.
    public func grantLease(ttl: Int) async throws(EtcdError) -> EtcdLease {
        let (endpoint, reply) = try await call("/v3/lease/grant", ["TTL": String(ttl)])
        let reader = Reader(endpoint: endpoint, path: "/v3/lease/grant")
        if let error = reply["error"] as? String, !error.isEmpty {
            throw .refused(endpoint: endpoint, path: "/v3/lease/grant", status: 200, code: nil, message: error)
        }
        return EtcdLease(id: try reader.int(reply["ID"], "ID"), ttl: try reader.int(reply["TTL"], "TTL"))
    }

    /// Renews the lease once; returns its TTL, or throws `.leaseExpired` when etcd no longer has it.
    @discardableResult
    public func keepAlive(_ lease: Int64) async throws(EtcdError) -> Int64 {
        let (endpoint, reply) = try await call("/v3/lease/keepalive", ["ID": String(lease)])
        let reader = Reader(endpoint: endpoint, path: "/v3/lease/keepalive")
        // A stream of one: {"result": {...}}.
        guard let result = reply["result"] as? [String: Any] else {
            throw .malformedReply(endpoint: endpoint, path: "/v3/lease/keepalive", reason: "no result")
        }
        let ttl = try reader.int(result["TTL"], "TTL")
        guard ttl > 0 else { throw .leaseExpired(endpoint: endpoint, lease: lease) }
        return ttl
    }

    /// Ends the lease now, deleting every key attached to it. An already gone lease is not an error.
    public func revokeLease(_ lease: Int64) async throws(EtcdError) {
        do {
            _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
        } catch .refused(_, _, _, let code, let message) where code == 5 || message.contains("lease not found") {
            return
        }
    }

    // MARK: Watch

    /// The changes to `key` (or to every key under it when `prefix`) from `revision` on (0: from now), in
    /// batches as etcd sends them. The stream ends with an error when the connection drops or etcd cancels it;
    /// ending the iteration closes the connection.
    public func watch(
        _ key: String,
        prefix: Bool = false,
        fromRevision revision: Int64 = 0
    )
        -> AsyncThrowingStream<[EtcdWatchEvent], any Error>
    {
        var create: [String: Any] = ["key": Self.base64(key)]
        if prefix { create["range_end"] = Self.base64(prefixRangeEnd(Array(key.utf8))) }
        if revision > 0 { create["start_revision"] = String(revision) }
        let payload = Result { () throws(EtcdError) in try Self.encode(["create_request": create]) }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do throws(EtcdError) {
                    try await self.stream("/v3/watch", try payload.get()) { (endpoint, message) throws(EtcdError) in
                        let reader = Reader(endpoint: endpoint, path: "/v3/watch")
                        guard let result = message["result"] as? [String: Any] else {
                            if let error = message["error"] as? [String: Any] {
                                throw .watchCanceled(endpoint: endpoint, reason: "\(error["message"] ?? error)")
                            }
                            throw .malformedReply(endpoint: endpoint, path: "/v3/watch", reason: "no result")
                        }
                        if result["canceled"] as? Bool == true {
                            throw .watchCanceled(
                                endpoint: endpoint,
                                reason: result["cancel_reason"] as? String ?? "no reason given"
                            )
                        }
                        let events = try (result["events"] as? [[String: Any]] ?? []).map {
                            (event) throws(EtcdError) -> EtcdWatchEvent in
                            let keyValue = try reader.keyValue(event["kv"])
                            return EtcdWatchEvent(
                                kind: event["type"] as? String == "DELETE" ? .delete : .put,
                                keyValue: keyValue
                            )
                        }
                        if !events.isEmpty { continuation.yield(events) }
                    }
                    continuation.finish(throwing: EtcdError.unreachable(endpoint: "watch", reason: "the watch ended"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A gateway call not covered above (`/v3/auth/…`, `/v3/cluster/…`), for setup and tests: `body` as JSON
    /// strings; etcd's error is thrown as `.refused`.
    public func administer(_ path: String, _ body: [String: String]) async throws(EtcdError) {
        _ = try await call(path, body)
    }

    // MARK: Calls

    /// POSTs `body` to `path` on the preferred endpoint, then the others; returns the endpoint and its JSON reply.
    func call(_ path: String, _ body: [String: Any]) async throws(EtcdError) -> (String, [String: Any]) {
        let payload = try Self.encode(body)
        var lastError: EtcdError?
        for endpoint in orderedEndpoints() {
            do {
                let reply = try await authenticatedCall(endpoint, path, payload)
                prefer(endpoint)
                return (endpoint, reply)
            } catch let error where error.isConnectionFailure {
                logger.debug("etcd endpoint failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                lastError = error
            }
        }
        throw lastError ?? .configuration("no etcd endpoints given")
    }

    private func authenticatedCall(
        _ endpoint: String,
        _ path: String,
        _ payload: ByteBuffer
    ) async throws(EtcdError)
        -> [String: Any]
    {
        let token = try await token(endpoint)
        do {
            return try await post(endpoint, path, payload, token: token)
        } catch .refused(_, _, _, let code, let message)
            where credentials != nil && (code == 16 || message.contains("invalid auth token"))
        {
            // The token expired (etcd's simple tokens live 5 minutes): authenticate again, once.
            state.withLock { $0.token = nil }
            return try await post(endpoint, path, payload, token: try await self.token(endpoint))
        }
    }

    private func token(_ endpoint: String) async throws(EtcdError) -> String? {
        guard let credentials else { return nil }
        if let token = state.withLock({ $0.token }) { return token }
        let payload = try Self.encode(["name": credentials.name, "password": credentials.password])
        let reply = try await post(endpoint, "/v3/auth/authenticate", payload, token: nil)
        guard let token = reply["token"] as? String, !token.isEmpty else {
            throw .malformedReply(endpoint: endpoint, path: "/v3/auth/authenticate", reason: "no token")
        }
        state.withLock { $0.token = token }
        return token
    }

    private func post(
        _ endpoint: String,
        _ path: String,
        _ payload: ByteBuffer,
        token: String?
    ) async throws(EtcdError)
        -> [String: Any]
    {
        let bytes: ByteBuffer
        let status: Int
        do {
            let response = try await http.execute(
                request(endpoint, path, payload, token: token),
                timeout: .init(requestTimeout),
                logger: logger
            )
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw .unreachable(endpoint: endpoint, reason: "\(path): \(error)")
        }
        return try Self.decode(endpoint: endpoint, path: path, status: status, bytes)
    }

    /// POSTs a streaming request and hands each newline-separated JSON message to `handle` until the stream ends.
    private func stream(
        _ path: String,
        _ payload: ByteBuffer,
        handle: (String, [String: Any]) throws(EtcdError) -> Void
    ) async throws(EtcdError) {
        let endpoint = orderedEndpoints()[0]
        let token = try await token(endpoint)
        let response: HTTPClientResponse
        do {
            // A watch lasts as long as its reader wants it.
            response = try await http.execute(
                request(endpoint, path, payload, token: token),
                deadline: .distantFuture,
                logger: logger
            )
        } catch {
            prefer(endpoint, failed: true)
            throw .unreachable(endpoint: endpoint, reason: "\(path): \(error)")
        }
        guard response.status == .ok else {
            let bytes = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            _ = try Self.decode(endpoint: endpoint, path: path, status: Int(response.status.code), bytes)
            throw .malformedReply(endpoint: endpoint, path: path, reason: "HTTP \(response.status.code)")
        }
        var pending: [UInt8] = []
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    try handle(
                        endpoint,
                        try Self.decode(endpoint: endpoint, path: path, status: 200, ByteBuffer(bytes: line))
                    )
                }
            }
        } catch let error as EtcdError {
            throw error
        } catch {
            throw .unreachable(endpoint: endpoint, reason: "\(path): \(error)")
        }
    }

    private func request(
        _ endpoint: String,
        _ path: String,
        _ payload: ByteBuffer,
        token: String?
    )
        -> HTTPClientRequest
    {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: token) }
        request.body = .bytes(payload)
        return request
    }

    private func orderedEndpoints() -> [String] {
        let preferred = state.withLock { $0.preferred } % endpoints.count
        return Array(endpoints[preferred...] + endpoints[..<preferred])
    }

    private func prefer(_ endpoint: String, failed: Bool = false) {
        guard let index = endpoints.firstIndex(of: endpoint) else { return }
        state.withLock { $0.preferred = failed ? (index + 1) % endpoints.count : index }
    }

    // MARK: JSON

    static func encode(_ body: [String: Any]) throws(EtcdError) -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
        } catch {
            throw .configuration("cannot encode an etcd request: \(error)")
        }
    }

    static func decode(
        endpoint: String,
        path: String,
        status: Int,
        _ bytes: ByteBuffer
    ) throws(EtcdError)
        -> [String: Any]
    {
        let data = Data(bytes.readableBytesView)
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard status == 200 else {
            let text = String(decoding: data.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .refused(
                endpoint: endpoint,
                path: path,
                status: status,
                code: (object?["code"] as? NSNumber)?.intValue,
                message: object?["message"] as? String ?? object?["error"] as? String ?? text
            )
        }
        guard let object else {
            throw .malformedReply(endpoint: endpoint, path: path, reason: "not a JSON object")
        }
        return object
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func json(_ compare: EtcdCompare) -> [String: Any] {
        var object: [String: Any] = ["key": base64(compare.key), "result": compare.result.rawValue]
        switch compare.target {
        case .createRevision(let revision):
            object["target"] = "CREATE"
            object["create_revision"] = String(revision)
        case .modRevision(let revision):
            object["target"] = "MOD"
            object["mod_revision"] = String(revision)
        case .version(let version):
            object["target"] = "VERSION"
            object["version"] = String(version)
        case .value(let value):
            object["target"] = "VALUE"
            object["value"] = base64(value)
        }
        return object
    }

    static func json(_ operation: EtcdOperation) -> [String: Any] {
        switch operation {
        case .put(let key, let value, let lease):
            var put: [String: Any] = ["key": base64(key), "value": base64(value)]
            if lease != 0 { put["lease"] = String(lease) }
            return ["request_put": put]
        case .get(let key): return ["request_range": ["key": base64(key)]]
        case .delete(let key): return ["request_delete_range": ["key": base64(key)]]
        case .deletePrefix(let prefix):
            return [
                "request_delete_range": [
                    "key": base64(prefix), "range_end": base64(prefixRangeEnd(Array(prefix.utf8))),
                ]
            ]
        }
    }
}

/// Reads the gateway's JSON: 64-bit numbers as strings, omitted fields as zero, keys and values as base64.
struct Reader {
    var endpoint: String
    var path: String

    func fail(_ reason: String) -> EtcdError { .malformedReply(endpoint: endpoint, path: path, reason: reason) }

    func int(_ value: Any?, _ name: String) throws(EtcdError) -> Int64 {
        switch value {
        case nil: return 0
        case let text as String:
            guard let number = Int64(text) else { throw fail("\(name) is '\(text)', not a number") }
            return number
        case let number as NSNumber: return number.int64Value
        default: throw fail("\(name) is not a number")
        }
    }

    func bytes(_ value: Any?, _ name: String) throws(EtcdError) -> [UInt8] {
        guard let value else { return [] }
        guard let text = value as? String, let data = Data(base64Encoded: text) else {
            throw fail("\(name) is not base64")
        }
        return Array(data)
    }

    func revision(_ reply: [String: Any]) throws(EtcdError) -> Int64 {
        try int((reply["header"] as? [String: Any])?["revision"], "header.revision")
    }

    func keyValue(_ value: Any?) throws(EtcdError) -> EtcdKeyValue {
        guard let object = value as? [String: Any] else { throw fail("kv is not an object") }
        return EtcdKeyValue(
            key: String(decoding: try bytes(object["key"], "key"), as: UTF8.self),
            value: try bytes(object["value"], "value"),
            createRevision: try int(object["create_revision"], "create_revision"),
            modRevision: try int(object["mod_revision"], "mod_revision"),
            version: try int(object["version"], "version"),
            lease: try int(object["lease"], "lease")
        )
    }

    func keyValues(_ value: Any?) throws(EtcdError) -> [EtcdKeyValue] {
        guard let value else { return [] }
        guard let list = value as? [Any] else { throw fail("kvs is not a list") }
        return try list.map { (item) throws(EtcdError) in try keyValue(item) }
    }
}

/// The private key file check (Trust's SecretFile), as an EtcdError naming the file.
enum SecretFileCheck {
    static func check(_ path: String) throws(EtcdError) {
        do {
            try SecretFile.checkPermissions(path)
        } catch {
            throw .configuration("etcd TLS key: \(error)")
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

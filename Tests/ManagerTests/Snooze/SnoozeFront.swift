import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import Testing
import Wire

@testable import Manager

#if canImport(Glibc)
import Glibc
#endif

/// A group leader on `FakeGroupManager` with the HTTP front and Snooze's API on a free port, run in a real
/// `ServiceGroup`; the tests call it with curl and raw sockets.
struct SnoozeFront {
    let port: Int
    let leader: GroupLeader
    let store: ManagerStore
    let fake: FakeGroupManager
    let logs: CapturedLogs

    static let managerID = "manager-1"

    static func with(
        hosts: [String] = ["h1", "h2"],
        configure: (inout ManagerConfiguration) -> Void = { _ in },
        _ body: (SnoozeFront) async throws -> Void
    ) async throws {
        let fake = FakeGroupManager(hosts: hosts)
        var configuration = ManagerConfiguration()
        configuration.checkTemplateDisks = false
        configuration.http.listen = "127.0.0.1:0"
        configuration.http.snooze.enabled = true
        configuration.http.snooze.actionWait = .seconds(60)
        configure(&configuration)
        let logs = CapturedLogs()
        let logger = Logger(label: "snooze-test") { _ in CapturedLogHandler(logs: logs) }
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let leader = try GroupLeader(store: store, groupManager: fake, configuration: configuration, logger: logger)
        let runner = Task { await leader.run() }
        defer { runner.cancel() }
        await GroupLeaderMigrationTests.join(leader, hosts)
        let api = SnoozeAPI(
            leader: leader,
            managerID: managerID,
            configuration: configuration.http,
            wirePort: 7700,
            logger: logger
        )
        let ports = ManagerServicesTests.Calls<Int>()
        let bus = await leader.events
        let service = try HTTPFrontService(
            configuration: configuration.http,
            routes: [api, EventStreamRoutes(bus: bus, configuration: configuration.http.events)],
            logger: logger,
            onListening: { ports.append($0) }
        )
        let ended = try await ManagerServicesTests.run([service], logger: logger) {
            #expect(await ManagerServicesTests.eventually(timeout: .seconds(60)) { !ports.all.isEmpty })
            let port = try #require(ports.all.first)
            try await body(SnoozeFront(port: port, leader: leader, store: store, fake: fake, logs: logs))
        }
        #expect((try? ended.get()) != nil, "\(ended)")
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Every virtual cluster's name: what a refused request must leave as it was.
    func clusters() async throws -> [String] {
        try await store.virtualClusters().map(\.name)
    }

    /// The VM's Snooze metadata through the API.
    func metaData(_ vm: String) async throws -> [String: Any] {
        let reply = try await Curl.run([
            "-X", "POST", "-d", #"{"virtualMachineId":"\#(vm)"}"#, "\(base)/groupmanager?getVirtualMachineMetaData",
        ])
        try #require(reply.status == 200, "\(reply)")
        return try reply.object()
    }

    /// Polls getVirtualClusterResponse with the raw task id until it is not empty.
    func clusterResponse(_ taskID: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let reply = try await Curl.run([
                "-H", "Content-Type: application/json", "-X", "POST", "-d", taskID,
                "\(base)/groupmanager?getVirtualClusterResponse",
            ])
            try #require(reply.status == 200, "\(reply)")
            #expect(reply.contentType.hasPrefix("application/json"), "\(reply)")
            if !reply.body.isEmpty { return try reply.object() }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Curl.Failure(description: "task \(taskID) never answered")
    }

    /// The VM's host's inventory reaches the leader (what an agent sends every few seconds).
    func deliverInventory(of host: String) async {
        await leader.inventoryReceived(await fake.snapshot(host), from: host)
    }
}

/// curl as a child process: status, content type and body of one call.
enum Curl {
    struct Reply: CustomStringConvertible {
        var status: Int
        var contentType: String
        var body: String
        var headers: String

        func object() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw Failure(description: "not a JSON object: \(body)")
            }
            return object
        }

        var description: String { "\(status) \(contentType): \(body.prefix(2000))" }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static let path = "/usr/bin/curl"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    static func run(_ arguments: [String]) async throws -> Reply {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bodyFile = directory.appendingPathComponent("body").path
        let headerFile = directory.appendingPathComponent("headers").path
        let outFile = directory.appendingPathComponent("out")
        let process = try BackgroundProcess(
            [path, "-sS", "--max-time", "90", "-o", bodyFile, "-D", headerFile, "-w", "%{http_code} %{content_type}"]
                + arguments,
            stdout: outFile,
            stderr: outFile,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C"]
        )
        // curl gives up after its --max-time; this only bounds a curl that hangs regardless.
        guard let status = await process.exitStatus(killingAfter: .seconds(120)) else {
            throw Failure(description: "curl \(arguments) did not exit within 120 s: \(process.stdout)")
        }
        let out = process.stdout
        guard status == 0 else {
            throw Failure(description: "curl \(arguments) exited \(status): \(out)")
        }
        let parts = out.split(separator: " ", maxSplits: 1)
        return Reply(
            status: Int(parts.first ?? "") ?? 0,
            contentType: parts.count > 1 ? String(parts[1]) : "",
            body: (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "",
            headers: (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        )
    }
}

/// Raw bytes over a plain TCP socket, for requests curl will not send (a target without `/`, pipelined requests).
enum RawHTTP {
    struct Response: CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: String
        var description: String { "\(status) \(headers): \(body.prefix(500))" }
    }

    /// Sends `request` and reads until `count` responses have arrived or the server closes (30 s at most). On a
    /// thread of its own: on Linux DispatchQueue.global() shares the cooperative pool's threads, and a blocked read
    /// there holds one of the two.
    static func exchange(port: Int, _ request: String, responses count: Int = 1) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingExchange(port: port, request, count: count) }) }
                .start()
        }
    }

    private static func blockingExchange(port: Int, _ request: String, count: Int) throws -> [Response] {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Curl.Failure(description: "socket: \(errno)") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Curl.Failure(description: "connect: \(errno)") }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw Curl.Failure(description: "send: \(errno)") }
            sent += written
        }
        var received: [UInt8] = []
        var responses: [Response] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while responses.count < count {
            if let (response, used) = parse(received) {
                responses.append(response)
                received.removeFirst(used)
                continue
            }
            let read = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard read > 0 else { break }
            received.append(contentsOf: buffer[0..<read])
        }
        return responses
    }

    /// One complete response at the start of `bytes` (Content-Length or chunked body), and the bytes it took.
    static func parse(_ bytes: [UInt8]) -> (Response, Int)? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headerEnd = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator })
        else { return nil }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head.first ?? ""
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        let bodyStart = headerEnd + 4
        if let length = headers["content-length"].flatMap(Int.init) {
            guard bytes.count >= bodyStart + length else { return nil }
            let body = String(decoding: bytes[bodyStart..<bodyStart + length], as: UTF8.self)
            return (Response(status: status, headers: headers, body: body), bodyStart + length)
        }
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var index = bodyStart
            var body: [UInt8] = []
            while true {
                guard
                    let lineEnd = (index..<max(index, bytes.count - 1)).first(where: {
                        bytes[$0] == 13 && bytes[$0 + 1] == 10
                    })
                else { return nil }
                let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                let chunkStart = lineEnd + 2
                guard bytes.count >= chunkStart + size + 2 else { return nil }
                if size == 0 {
                    return (
                        Response(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)),
                        chunkStart + 2
                    )
                }
                body.append(contentsOf: bytes[chunkStart..<chunkStart + size])
                index = chunkStart + size + 2
            }
        }
        return (Response(status: status, headers: headers, body: ""), bodyStart)
    }
}

/// Log records kept for assertions.
final class CapturedLogs: @unchecked Sendable {
    // @unchecked: `records` is only touched while holding `lock`.
    private let lock = NSLock()
    private var records: [(message: String, metadata: Logger.Metadata)] = []

    func append(_ message: String, _ metadata: Logger.Metadata) {
        lock.withLock { records.append((message, metadata)) }
    }
    var all: [(message: String, metadata: Logger.Metadata)] { lock.withLock { records } }
}

struct CapturedLogHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        logs.append("\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })
    }
}

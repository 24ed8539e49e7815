import Foundation
import Testing

@testable import Manager

#if canImport(Glibc)
import Glibc
#endif

/// `GET /events` on the HTTP front, read over a socket as `curl -N` would: LC_JOIN when an agent joins, START
/// PENDING then PROCESSED when a VM starts, Snooze's routing keys and bodies in each frame.
@Suite(.enabled(if: Curl.available || requiresEndToEnd, "needs /usr/bin/curl (scripts/install-deps)"))
struct EventStreamTests {
    /// A client reading the stream as it grows, over a plain socket on a thread of its own. Not a `curl -N` child:
    /// a long-lived child started with Foundation's Process stalls every other Process the test run starts (the
    /// other suites' curl calls timed out) until it exits.
    final class Follower: @unchecked Sendable {
        // @unchecked: `received` and `stopped` are only touched while holding `lock`.
        private let lock = NSLock()
        private var received: [UInt8] = []
        private var stopped = false
        private let descriptor: Int32

        init(port: Int, path: String) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw Curl.Failure(description: "socket: \(errno)") }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
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
            guard connected == 0 else {
                close(descriptor)
                throw Curl.Failure(description: "connect: \(errno)")
            }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            let thread = Thread { [self] in self.read() }
            thread.start()
        }

        private func read() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !lock.withLock({ stopped }) {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count == 0 { break }
                if count < 0 { continue }
                lock.withLock { received.append(contentsOf: buffer[0..<count]) }
            }
        }

        /// What arrived so far: the response head, then the SSE frames inside HTTP's chunk framing.
        var text: String { lock.withLock { String(decoding: received, as: UTF8.self) } }

        /// The data of each `event: NAME` frame so far, parsed.
        func frames(_ name: String) -> [[String: Any]] {
            text.components(separatedBy: "\n\n").compactMap { frame in
                let lines = frame.split(separator: "\n")
                guard lines.contains("event: \(name)"),
                    let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6)
                else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            }
        }

        func waitFor(_ condition: () -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return condition()
        }

        func stop() {
            lock.withLock { stopped = true }
            shutdown(descriptor, Int32(SHUT_RDWR))
            // The reader sees the end within its 1 s receive timeout; the descriptor is closed after it, from a
            // thread of its own: a test's pool thread is not held for that second.
            let descriptor = descriptor
            Thread {
                Thread.sleep(forTimeInterval: 1.1)
                close(descriptor)
            }.start()
        }
    }

    @Test func curlSeesLocalControllerJoinAndStartPendingThenProcessed() async throws {
        try #require(Curl.available, "TORPOR_REQUIRE_E2E=1 but /usr/bin/curl is missing")
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            let follower = try Follower(port: front.port, path: "/events")
            defer { follower.stop() }
            #expect(await follower.waitFor { follower.text.contains(": torpor events") }, "\(follower.text)")
            let managerID = await front.leader.configuration.managerID

            await GroupLeaderMigrationTests.join(front.leader, ["h2"])
            #expect(await follower.waitFor { follower.frames("system").contains { $0["eventType"] as? String == "LC_JOIN" } })
            let join = try #require(follower.frames("system").first { $0["eventType"] as? String == "LC_JOIN" })
            #expect(join["routingKey"] as? String == "groupmanager.\(managerID)", "\(join)")
            #expect(join["exchange"] as? String == "system")
            let controller = try #require(join["message"] as? [String: Any], "\(join)")
            #expect(controller["id"] as? String == "h2" && controller["status"] as? String == "ACTIVE", "\(controller)")
            #expect(controller["totalCapacity"] as? [Double] == SnoozeAPITests.hostCapacity, "\(controller)")

            let started = try await Curl.run([
                "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster, "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(started.status == 200, "\(started)")
            func starts() -> [[String: Any]] {
                follower.frames("management").filter { $0["eventType"] as? String == "START" }
            }
            #expect(await follower.waitFor { starts().contains { $0["status"] as? String == "PROCESSED" } }, "\(follower.text)")
            let statuses = starts().compactMap { $0["status"] as? String }
            #expect(statuses == ["PENDING", "PROCESSED"], "\(follower.text)")
            let processed = try #require(starts().last)
            #expect(processed["routingKey"] as? String == "\(managerID).h1.debian1.START", "\(processed)")
            #expect(starts().first?["routingKey"] as? String == "\(managerID).UNKNOWN.debian1.START")
            let meta = try #require(processed["message"] as? [String: Any])
            #expect(meta["status"] as? String == "RUNNING", "\(meta)")
            #expect((meta["virtualMachineLocation"] as? [String: Any])?["localControllerId"] as? String == "h1")
            #expect((meta["ipAddress"] as? String)?.hasPrefix("192.168.122.") == true, "\(meta)")
            let sequences = (follower.frames("system") + follower.frames("management")).compactMap { $0["sequence"] as? Int }
            #expect(Set(sequences).count == sequences.count, "each event once: \(sequences)")
        }
    }

    @Test func anExchangeFilterKeepsOnlyThatExchangeAndAnUnknownOneIs400() async throws {
        try #require(Curl.available, "TORPOR_REQUIRE_E2E=1 but /usr/bin/curl is missing")
        try await SnoozeFront.with(hosts: ["h1"]) { front in
            let bad = try await Curl.run(["\(front.base)/events?exchange=billing"])
            #expect(bad.status == 400, "\(bad)")
            #expect(bad.body.contains("'billing'") && bad.body.contains("management"), "\(bad)")

            let follower = try Follower(port: front.port, path: "/events?exchange=management")
            defer { follower.stop() }
            #expect(await follower.waitFor { follower.text.contains(": torpor events") }, "\(follower.text)")
            await GroupLeaderMigrationTests.join(front.leader, ["h1"])
            let started = try await Curl.run([
                "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster, "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(started.status == 200, "\(started)")
            #expect(await follower.waitFor { follower.frames("management").count >= 2 }, "\(follower.text)")
            #expect(follower.frames("system").isEmpty, "\(follower.text)")
        }
    }

    @Test(arguments: [
        ([String](), Set(ManagerEvent.Exchange.allCases)), (["management"], [.management]),
        (["system,management"], [.system, .management]), (["system", "monitoring"], [.system, .monitoring]),
    ] as [([String], Set<ManagerEvent.Exchange>)])
    func exchangeQueries(_ values: [String], _ expected: Set<ManagerEvent.Exchange>) throws {
        #expect(try EventStreamRoutes.exchanges(values) == expected)
    }

    @Test func framesAreIdEventAndOneDataLine() {
        var event = ManagerEvent(exchange: .system, routingKey: "groupleader", eventType: "GL_JOIN", message: Data("{}".utf8))
        event.sequence = 3
        let frame = EventStreamRoutes.frame(.event(event), exchanges: [.system])
        #expect(frame?.hasPrefix("id: 3\nevent: system\ndata: {\"eventType\":\"GL_JOIN\"") == true, "\(frame ?? "")")
        #expect(frame?.hasSuffix("}\n\n") == true && frame?.filter { $0 == "\n" }.count == 4)
        #expect(EventStreamRoutes.frame(.event(event), exchanges: [.management]) == nil)
        #expect(EventStreamRoutes.frame(.dropped(5), exchanges: []) == "event: dropped\ndata: {\"dropped\":5}\n\n")
    }
}

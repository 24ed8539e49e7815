import Foundation
import TestSupport
import Testing

/// The agent under `systemd-socket-activate`: the first agentctl connection starts it on the inherited socket,
/// and with NOTIFY_SOCKET set it reports READY=1 (and STOPPING=1 on SIGTERM).
@Suite(.enabled(if: EndToEnd.runs(EndToEnd.socketActivateProblem), EndToEnd.reason(EndToEnd.socketActivateProblem)))
struct SocketActivationTests {
    /// A datagram socket standing in for systemd's notification socket.
    final class NotifyReceiver: Sendable {
        let path: String
        let fd: Int32

        init() throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))")
                .path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { throw POSIXError(.EADDRINUSE) }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Every datagram received until `timeout`, or until one contains `expected`; waited for on a thread of its
        /// own, not on the cooperative pool.
        func receive(until expected: String, timeout: Duration) async -> [String] {
            await OwnThread.run { [self] in receiveBlocking(until: expected, timeout: timeout) }
        }

        private func receiveBlocking(until expected: String, timeout: Duration) -> [String] {
            var messages: [String] = []
            let deadline = ContinuousClock.now + timeout
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    messages.append(message)
                    if message.contains(expected) { break }
                }
            }
            return messages
        }
    }

    @Test func firstConnectionStartsTheAgentWhichReportsReady() async throws {
        try EndToEnd.require(EndToEnd.socketActivateProblem)
        let port = try AgentUnderTest.freePort()
        let notify = try NotifyReceiver()
        let logs = try ProcessRunner.scratchDirectory(prefix: "torpor-socket-activation")
        defer { try? FileManager.default.removeItem(at: logs) }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        let activator = try BackgroundProcess(
            [
                "/usr/bin/systemd-socket-activate", "-l", "127.0.0.1:\(port)", "--fdname=torpor-agent",
                "-E", "NOTIFY_SOCKET",
                try KVMLab.product("torpor-agent"), "--libvirt-uri", "test:///default", "--log", "stderr",
                // Not the port it is given: proves the inherited socket wins over --listen.
                "--listen", "127.0.0.1:1",
            ],
            stdout: logs.appendingPathComponent("stdout"),
            stderr: logs.appendingPathComponent("stderr"),
            environment: environment
        )
        // Nothing runs before the first connection: the activator only listens (once it says so; slow when loaded).
        let listeningBy = ContinuousClock.now + .seconds(30)
        while !activator.stderr.contains("Listening on"), ContinuousClock.now < listeningBy {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(activator.stderr.contains("Listening on"), "the activator never listened: \(activator.stderr)")
        #expect(await notify.receive(until: "READY=1", timeout: .milliseconds(300)).isEmpty)

        let status = try await ProcessRunner.run(
            [try KVMLab.product("agentctl"), "--agent", "127.0.0.1:\(port)", "status", "--json", "--timeout", "20"],
            timeout: .seconds(30)
        )
        #expect(status.succeeded, "agentctl failed: \(status)\nagent output:\n\(activator.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let vms = json?["vms"] as? [[String: Any]]
        #expect(vms?.first?["name"] as? String == "test")

        let messages = await notify.receive(until: "READY=1", timeout: .seconds(5))
        #expect(messages.contains { $0.split(separator: "\n").contains("READY=1") }, "got \(messages)")

        let exit = await activator.terminate(grace: .seconds(10))
        #expect(exit == 0)
        let stopping = await notify.receive(until: "STOPPING=1", timeout: .seconds(5))
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "got \(stopping)")
        #expect(activator.stderr.contains("Execing"))
    }
}

import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `torpor-lab` commands end to end: up with three agents on libvirt's test driver, hosts, status, down.
@Suite("torpor-lab", .serialized)
struct TorporLabTests {
    /// True while `pid` exists and is not a zombie (the daemons are not our children, so no waitpid here).
    static func isAlive(_ pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    /// A base port with `count` free loopback ports after it, picked from the pid so parallel runs differ, and
    /// never handed out twice in one test process, so labs started at the same moment do not pick the same ports.
    static func freePortRange(count: Int) -> Int {
        nextPort.withLock { next in
            // Below the kernel's ephemeral range (32768 and up here): a port taken there for an outgoing connection
            // (an agent's, a migration's) would make a lab's daemon fail to bind, though it looked free.
            let range = 20000..<32000
            var base = next ?? range.lowerBound + Int(getpid() % 1000) * 10
            while base + count > range.upperBound || !(base..<base + count).allSatisfy(isFree) {
                base = base + count > range.upperBound ? range.lowerBound : base + count
            }
            next = base + count
            return base
        }
    }

    private static let nextPort = Mutex<Int?>(nil)

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func jsonObject(_ output: ProcessOutput) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(value as? [String: Any], "not a JSON object:\n\(output)")
    }

    @Test("lab up --hosts 3, hosts, status, down")
    func upHostsStatusDown() async throws {
        let torpor = try KVMLab.product("torpor")
        let torporLab = try KVMLab.product("torpor-lab")
        // The daemons must sit next to torpor-lab, where it looks for them.
        _ = try KVMLab.product("torpor-manager")
        _ = try KVMLab.product("torpor-agent")
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-lab-test")
        let lab = directory.appendingPathComponent("lab").path
        let base = Self.freePortRange(count: 4)
        var pids: [Int] = []
        defer {
            // Whatever happened, leave no daemon behind.
            for pid in pids where Self.isAlive(pid) { kill(pid_t(pid), SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        let up = try await ProcessRunner.run(
            [torporLab, "up", "--hosts", "3", "--dir", lab, "--base-port", String(base)],
            timeout: .seconds(90)
        )
        if let data = FileManager.default.contents(atPath: "\(lab)/lab.json"),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            var processes = (state["agents"] as? [Any]) ?? []
            if let manager = state["manager"] { processes.append(manager) }
            pids = processes.compactMap { ($0 as? [String: Any])?["pid"] as? Int }
        }
        try #require(up.status == 0, "lab up failed:\n\(up)")
        #expect(pids.count == 4)
        for name in ["manager.yaml", "agent-1.yaml", "agent-3.yaml", "manager.log", "agent-2.log"] {
            #expect(FileManager.default.fileExists(atPath: "\(lab)/\(name)"), "\(name) missing")
        }

        let hosts = try await ProcessRunner.run([torpor, "hosts", "--manager", "127.0.0.1:\(base)", "--json"])
        #expect(hosts.status == 0, "\(hosts)")
        let table = try #require(try Self.jsonObject(hosts)["hosts"] as? [[String: Any]])
        #expect(table.compactMap { $0["hostId"] as? String }.sorted() == ["host-1", "host-2", "host-3"])
        for host in table {
            #expect(host["state"] as? String == "ACTIVE", "\(host)")
            #expect(host["connected"] as? Bool == true, "\(host)")
        }
        // A lab host's CPU is its own VMs' (none here), never the CPU of the machine the lab runs on.
        var reported: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let again = try await ProcessRunner.run([torpor, "hosts", "--manager", "127.0.0.1:\(base)", "--json"])
            reported = (try? Self.jsonObject(again)["hosts"] as? [[String: Any]]) ?? []
            if reported.count == 3, reported.allSatisfy({ $0["cpuUsedCores"] != nil }) { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(reported.count == 3 && reported.allSatisfy { $0["cpuUsedCores"] as? Double == 0 }, "\(reported)")

        let status = try await ProcessRunner.run([torporLab, "status", "--dir", lab, "--json"])
        #expect(status.status == 0, "\(status)")
        let processes = try #require(try Self.jsonObject(status)["processes"] as? [[String: Any]])
        #expect(processes.count == 4)
        #expect(processes.allSatisfy { $0["alive"] as? Bool == true }, "\(processes)")

        let down = try await ProcessRunner.run([torporLab, "down", "--dir", lab], timeout: .seconds(40))
        #expect(down.status == 0, "\(down)")
        #expect(!pids.isEmpty && pids.allSatisfy { !Self.isAlive($0) }, "still alive: \(pids.filter(Self.isAlive))")
        #expect(!FileManager.default.fileExists(atPath: "\(lab)/lab.json"))
        #expect(FileManager.default.fileExists(atPath: "\(lab)/manager.log"))
    }
}

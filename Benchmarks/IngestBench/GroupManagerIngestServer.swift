import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-bench ingest-group-manager --manager PATH [--tls DIR] [--no-coalescing]`: the ingest benchmark's server
/// side as the daemon runs it, not the bench's own WireServer around AgentSession: a real `torpor-manager --role
/// group-manager` linked to a real group leader (`torpor-manager` with `group_managers:`, its own SQLite file), both
/// children of this process and so pinned to its core. The simulated agents join the group manager directly, as the
/// leader would send them. Says `ready PORT PID` (the group manager's agent port and pid: the driver measures that process),
/// answers `stats` with `RECEIVED -1 -1 FRAMES`: the MonitoringReport frames the group manager has received, from its
/// own `/metrics` (`torpor_wire_frames_received_total`; how late each was processed is not visible from outside), and
/// the GroupManagerReport frames the leader has received, from the leader's (-1 when it cannot be read).
public enum GroupManagerIngestServer {
    public static func main(arguments: [String]) throws {
        guard let manager = ControlChannel.option("--manager", in: arguments) else {
            FileHandle.standardError.write(Data("ingest-group-manager: needs --manager PATH (torpor-manager)\n".utf8))
            exit(64)
        }
        let certificates = ControlChannel.option("--tls", in: arguments).map(IngestCertificates.init(directory:))
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("torpor-ingest-gm-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let leaderPort = try FreeLoopbackPort.pick()
        let groupManagerPort = try FreeLoopbackPort.pick()
        let metricsPort = try FreeLoopbackPort.pick()
        let leaderMetricsPort = try FreeLoopbackPort.pick()
        let tls =
            certificates.map {
                """
                tls:
                  certificate: \($0.managerFiles.certificate)
                  key: \($0.managerFiles.key)
                  ca: \($0.caBundlePath)
                """
            } ?? "tls: { allow_plaintext: true }"
        // Both daemons pause their event loops between turns under load unless told not to.
        let connections = arguments.contains("--no-coalescing") ? "connections: { wakeup_pause: 0 }" : ""
        try """
        manager_id: bench-leader
        listen: 127.0.0.1:\(leaderPort)
        database: \(directory)/leader.sqlite
        group_managers: { assignment: round-robin }
        # The simulated VMs' samples put their hosts over the thresholds, and the leader would try to relocate
        # them through agents that cannot migrate: not what this measures.
        relocation: { enabled: false }
        metrics: { listen: "127.0.0.1:\(leaderMetricsPort)" }
        \(connections)
        \(tls)
        """.write(toFile: directory + "/leader.yaml", atomically: true, encoding: .utf8)
        try """
        role: group-manager
        manager_id: bench-gm
        listen: 127.0.0.1:\(groupManagerPort)
        metrics: { listen: "127.0.0.1:\(metricsPort)" }
        group_manager:
          leaders: ["127.0.0.1:\(leaderPort)"]
        \(connections)
        \(tls)
        """.write(toFile: directory + "/group-manager.yaml", atomically: true, encoding: .utf8)

        let leader = try daemon(manager, config: directory + "/leader.yaml", log: directory + "/leader.log")
        let groupManager = try daemon(
            manager,
            config: directory + "/group-manager.yaml",
            log: directory + "/group-manager.log"
        )
        let stopAll: @Sendable () -> Void = {
            for process in [groupManager, leader] where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        // Linked: the group manager registered with the leader, which would send it agents.
        let deadline = ContinuousClock.now + .seconds(60)
        while !log(directory + "/group-manager.log").contains("linked to the group leader") {
            guard ContinuousClock.now < deadline, leader.isRunning, groupManager.isRunning else {
                let leaderLog = String(log(directory + "/leader.log").suffix(2000))
                let groupManagerLog = String(log(directory + "/group-manager.log").suffix(2000))
                let message =
                    "ingest-group-manager: the group manager did not link to its leader\n"
                    + "--- leader.log\n\(leaderLog)\n--- group-manager.log\n\(groupManagerLog)\n"
                FileHandle.standardError.write(Data(message.utf8))
                stopAll()
                exit(1)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        ControlChannel.serve(
            stats: {
                // The leader's /metrics (about a second to read at 10,000 hosts) first: the group manager's count
                // is read last, right before the driver reads the agents'.
                let leaderFrames = received("GroupManagerReport", metricsPort: leaderMetricsPort) ?? -1
                let reports = received("MonitoringReport", metricsPort: metricsPort) ?? 0
                return "\(reports) -1 -1 \(leaderFrames)"
            },
            settle: { agents in settle(agents, leaderMetricsPort: leaderMetricsPort) },
            onClose: stopAll
        )
        ControlChannel.say("ready \(groupManagerPort) \(groupManager.processIdentifier)")
        while true { Thread.sleep(forTimeInterval: 3600) }
    }

    static func daemon(_ executable: String, config: String, log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", config, "--log", "stderr"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        return process
    }

    static func log(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Waits until the leader has received each of `agents` hosts' Joined and Inventory from the group manager, then
    /// one report interval more (the reports queued behind them drain), at most max(120 s, agents / 40 s); says how
    /// long it took.
    static func settle(_ agents: Int, leaderMetricsPort: Int) -> String {
        let started = ContinuousClock.now
        let limit = Duration.seconds(max(120, agents / 40))
        while ContinuousClock.now - started < limit {
            let events = received("GroupManagerEvent", metricsPort: leaderMetricsPort) ?? 0
            if events >= 2 * agents {
                let took = ContinuousClock.now - started
                Thread.sleep(forTimeInterval: 3)
                let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) * 1e-18
                return "the leader took in their joins and inventories in " + String(format: "%.1f s", seconds)
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return "the leader had not taken in their joins after \(limit)"
    }

    /// Frames of `type` received, as the `/metrics` on `metricsPort` says; nil when it cannot be read.
    static func received(_ type: String, metricsPort: Int) -> Int? {
        guard let text = HTTPGet.text(port: metricsPort, path: "/metrics") else { return nil }
        return MetricsText.value(of: "torpor_wire_frames_received_total", labels: "type=\"\(type)\"", in: text)
            .map { Int($0) }
    }
}

/// One sample's value in Prometheus' text format.
public enum MetricsText {
    /// The value of `name{labels}` (labels exactly as written); nil when the sample is absent.
    public static func value(of name: String, labels: String, in text: String) -> Double? {
        let prefix = "\(name){\(labels)} "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count).split(separator: " ").first ?? "")
        }
        return nil
    }
}

/// A blocking HTTP/1.0 GET on loopback, for the benchmark's control thread (never the cooperative pool).
enum HTTPGet {
    static func text(port: Int, path: String) -> String? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        defer { close(socket) }
        var address = FreeLoopbackPort.address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard write(socket, request, request.count) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), text.split(separator: " ").dropFirst().first == "200",
            let body = text.range(of: "\r\n\r\n")
        else { return nil }
        return String(text[body.upperBound...])
    }
}

/// A loopback port free when asked (bound to port 0, then closed), for the daemons' configs.
enum FreeLoopbackPort {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func pick() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(socket) }
        var address = address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(socket, pointer, length) == 0 else { return -1 }
                return getsockname(socket, pointer, &length)
            }
        }
        guard bound == 0 else { throw Failure(description: "bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// 127.0.0.1:`port`.
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

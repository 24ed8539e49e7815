import Foundation
import IPMIMonitoring
import Testing

@testable import TorporLab

#if canImport(Glibc)
import Glibc
#endif

/// A real `ipmi_sim` on loopback, set up by the lab's `LabBMC`, with a power sensor fed by its value file.
/// Its "host" is a `sleep`, started by the BMC at power on; `stop()` kills the BMC and everything under it.
final class BMCUnderTest: @unchecked Sendable {
    // @unchecked: every stored property is set in init and never changed; `pid` is only signalled and waited.
    let host: LabBMC.Host
    let directory: String
    private let pid: pid_t

    private init(host: LabBMC.Host, directory: String, pid: pid_t) {
        self.host = host
        self.directory = directory
        self.pid = pid
    }

    /// Runs `body` with a started BMC, stopped and removed afterwards whatever happens.
    static func with<Value>(
        powerValue: Int = 60,
        sdrSource: String? = nil,
        _ body: (BMCUnderTest) async throws -> Value
    ) async throws -> Value {
        let bmc = try await start(powerValue: powerValue, sdrSource: sdrSource)
        defer { bmc.stop() }
        return try await body(bmc)
    }

    private static func start(powerValue: Int, sdrSource: String?) async throws -> BMCUnderTest {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "torpor-ipmi-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ports = try TestPorts.take(2)
        let host = LabBMC.Host(
            index: 1,
            directory: directory,
            lanPort: ports[0],
            serialPort: ports[1],
            password: LabBMC.randomPassword()
        )
        try await LabBMC.prepare(host, agentArgv: ["/bin/sleep", "600"], agentLog: "\(directory)/host.log")
        if let sdrSource {
            try await recompileSDR(sdrSource, for: host)
        }
        try "\(powerValue)\n".write(toFile: host.powerValueFile, atomically: true, encoding: .utf8)

        // As the lab starts it: with an empty signal mask. Started by Foundation's Process from a test's thread, it
        // inherited every signal blocked, never saw its host's SIGCHLD, and reported power on after power off.
        let pid = try LabProcesses.spawn(
            try LabBMC.argv(host),
            stdout: host.log,
            stderr: nil,
            append: false,
            newSession: false
        )
        return BMCUnderTest(host: host, directory: directory, pid: pid)
    }

    /// Replaces the SDR that `LabBMC.prepare` compiled.
    private static func recompileSDR(_ source: String, for host: LabBMC.Host) async throws {
        let sourcePath = "\(host.directory)/custom.sdrs"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        _ = try await LabCommand.output([
            try LabProcesses.binary("sdrcomp"), "-o", "\(host.stateDirectory)/ipmi_sim/\(host.hostID)/sdr.20.main",
            sourcePath,
        ])
    }

    var address: String { "127.0.0.1:\(host.lanPort)" }

    func target(password: String? = nil, sessionTimeout: Duration = .seconds(4)) -> IPMITarget {
        IPMITarget(
            host: address,
            user: "admin",
            password: password ?? host.password,
            sdrCacheDirectory: "\(directory)/sdr-cache",
            sessionTimeout: sessionTimeout
        )
    }

    /// Rewrites the value file the BMC polls every second.
    func setPowerValue(_ value: Int) throws {
        try "\(value)\n".write(toFile: host.powerValueFile, atomically: true, encoding: .utf8)
    }

    /// Reads until the BMC answers (it binds its port a moment after starting) with a non-zero power (its sensor
    /// reads 0 until its first poll of the value file), at most for `timeout`.
    func waitUntilReadable(
        _ reader: IPMIPowerReader,
        timeout: Duration = .seconds(20)
    ) async throws -> [PowerSensorReading] {
        let deadline = ContinuousClock.now + timeout
        var last = "no read yet"
        while ContinuousClock.now < deadline {
            do {
                let readings = try await reader.readPower(target())
                if readings.contains(where: { $0.watts > 0 }) { return readings }
                last = "read \(readings)"
            } catch {
                last = error.description
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BMCTestError("BMC \(address) never read a power: \(last)\n\(diagnostics())")
    }

    /// ipmi_sim's log, for failure messages.
    func diagnostics() -> String {
        let log = (try? String(contentsOfFile: host.log, encoding: .utf8)) ?? "(no log)"
        return "--- ipmi_sim log (\(host.log))\n\(log)"
    }

    /// Kills the BMC's descendants (the sleeping "host"), then the BMC, and removes its files.
    func stop() {
        for child in Self.descendants(of: pid) {
            kill(child, SIGKILL)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every process under `pid`, found through `/proc/PID/stat` parent fields.
    private static func descendants(of pid: pid_t) -> [pid_t] {
        var parents: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let child = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm) state ppid": the command may hold spaces, so split after its last ')'.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = pid_t(fields[1]) else { continue }
            parents[parent, default: []].append(child)
        }
        var found: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast() {
            let children = parents[next] ?? []
            found += children
            queue += children
        }
        return found
    }
}

struct BMCTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Loopback ports in 10000-12000, never handed out twice in this process, checked free for both UDP (the BMC's LAN)
/// and TCP (its serial console) by binding them. Below the kernel's ephemeral range (32768 and up), where an
/// outgoing connection could take a port between this check and the BMC's bind, and apart from the labs' ports
/// (20000-32000, `TorporLabTests.freePortRange`).
enum TestPorts {
    private static let state = PortState()

    static func take(_ count: Int) throws -> [Int] {
        try state.take(count)
    }

    /// A port no BMC listens on.
    static func unused() throws -> Int { try take(1)[0] }

    private final class PortState: @unchecked Sendable {
        // @unchecked: `next` is only touched while holding `lock`.
        private let lock = NSLock()
        private var next = Int.random(in: 10000..<11000)

        func take(_ count: Int) throws -> [Int] {
            lock.lock()
            defer { lock.unlock() }
            var ports: [Int] = []
            while ports.count < count {
                guard next < 12000 else { throw BMCTestError("no free loopback ports left in 10000-12000") }
                let port = next
                next += 1
                if Self.isFree(port, type: SOCK_DGRAM) && Self.isFree(port, type: SOCK_STREAM) {
                    ports.append(port)
                }
            }
            return ports
        }

        private static func isFree(_ port: Int, type: __socket_type) -> Bool {
            let fd = socket(AF_INET, Int32(type.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        }
    }
}

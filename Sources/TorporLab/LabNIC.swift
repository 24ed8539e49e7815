import ArgumentParser
import Energy
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab nic`: a `--wol` lab host's network card on standby power. It runs inside the host's namespace for
/// the lab's lifetime; while the host's agent is down it listens on UDP port 9 and starts the agent when a magic
/// packet for its MAC arrives, as a sleeping machine's NIC would. A host whose agent already runs (started here or
/// by its BMC) ignores the packet.
struct LabNIC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nic",
        abstract: "A lab host's Wake-on-LAN NIC: start the agent when its magic packet arrives (used by lab up --wol).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "The host's id, for the log.")
    var host: String

    @Option(name: .long, help: "The MAC whose magic packet powers the host on.")
    var mac: String

    @Option(name: .long, help: "UDP port to listen on.")
    var port = 9

    @Option(name: .long, help: "The agent's listening address: a host answering there is already on.")
    var agentAddress: String

    @Option(name: .long, help: "The agent's log file (appended).")
    var agentLog: String

    @Flag(name: .long, help: "Power the host on at once (no BMC starts it).")
    var powerOn = false

    @Argument(parsing: .postTerminator, help: "The agent's argv.")
    var agent: [String] = []

    func validate() throws {
        guard MagicPacket(mac: mac) != nil else { throw ValidationError("--mac '\(mac)' is not a MAC address") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        guard !agent.isEmpty else { throw ValidationError("give the agent's argv after --") }
    }

    func run() throws {
        let packet = MagicPacket(mac: mac)!
        signal(SIGTERM) { _ in LabNIC.stopRequested = 1 }
        signal(SIGINT) { _ in LabNIC.stopRequested = 1 }
        let socket = try Self.listen(port: port)
        defer { close(socket) }
        var child: pid_t = 0
        func start(_ why: String) throws {
            child = try LabProcesses.spawn(agent, stdout: agentLog, stderr: nil, append: true, newSession: false)
            Self.log("\(host): \(why): agent started (pid \(child))")
        }
        if powerOn { try start("powered on") }
        Self.log("\(host): NIC \(mac) listening on UDP port \(port)")
        var buffer = [UInt8](repeating: 0, count: 2048)
        while LabNIC.stopRequested == 0 {
            if child > 0 {
                var status: Int32 = 0
                if waitpid(child, &status, WNOHANG) == child {
                    Self.log("\(host): agent exited (wait status \(status)); host asleep, waiting for a magic packet")
                    child = 0
                }
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            var sender = sockaddr_in()
            var senderLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = withUnsafeMutablePointer(to: &sender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(socket, &buffer, buffer.count, 0, $0, &senderLength)
                }
            }
            guard received > 0, packet.isContained(in: Array(buffer[0..<received])) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &sender.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
            let from = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if child > 0 || Self.answers(agentAddress) {
                Self.log("\(host): magic packet from \(from) while on; ignored")
                continue
            }
            try start("magic packet from \(from)")
        }
        if child > 0 {
            kill(child, SIGTERM)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        Self.log("\(host): NIC stopped")
    }

    /// One line to the NIC's log at once (stdout is a file: print would buffer it).
    static func log(_ line: String) {
        FileHandle.standardOutput.write(Data("\(Date().formatted(.iso8601)) \(line)\n".utf8))
    }

    /// Set by SIGTERM/SIGINT; the loop polls it.
    nonisolated(unsafe) static var stopRequested: sig_atomic_t = 0

    /// A UDP socket bound to 0.0.0.0:`port`, which receives the subnet's broadcasts.
    static func listen(port: Int) throws -> Int32 {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw LabError("socket: \(String(cString: strerror(errno)))") }
        var enable: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw LabError("cannot listen on UDP port \(port): \(reason)")
        }
        return descriptor
    }

    /// True when something accepts TCP connections at "host:port".
    static func answers(_ address: String) -> Bool {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
        else { return false }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(port.bigEndian)
        guard inet_pton(AF_INET, String(address[..<colon]), &target.sin_addr) == 1 else { return false }
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A private libvirtd with KVM (scripts/lab-libvirtd) and one tiny running guest, shared by the tests of a suite so
/// that they pay for one daemon start and one guest boot. Started on first use; stopped when every test that
/// declared itself a user has finished, or when the test process exits, whichever comes first. A daemon left
/// behind by a test process that was killed is stopped by the next run.
actor KVMLab {
    struct Guest: Sendable {
        var name: String
        var uuid: String
        var tap: String
        var mac: String
    }

    static let shared = KVMLab()

    /// Why KVM cannot be used here, or nil when /dev/kvm opens read-write. TORPOR_TEST_KVM_DEVICE names another
    /// device path (to see the skip on a machine that has KVM).
    static let kvmProblem: String? = {
        let device = ProcessInfo.processInfo.environment["TORPOR_TEST_KVM_DEVICE"] ?? "/dev/kvm"
        guard FileManager.default.fileExists(atPath: device) else { return "\(device) absent" }
        let fd = open(device, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return "\(device) not usable: \(String(cString: strerror(errno)))" }
        close(fd)
        return nil
    }()

    /// The package's root directory (this file is Tests/AgentTests/Support/KVMLab.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var script: String { packageRoot.appendingPathComponent("scripts/lab-libvirtd").path }

    /// One of the package's executables (torpor-agent, agentctl): next to the running test binary (SwiftPM puts
    /// products and the test bundle in one directory), else .build/debug; TORPOR_BIN_DIR overrides both.
    static func product(_ name: String) throws -> String {
        var candidates: [String] = []
        if let directory = ProcessInfo.processInfo.environment["TORPOR_BIN_DIR"] { candidates.append(directory) }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
            // On Linux the test binary is X.xctest itself; elsewhere it is inside X.xctest/Contents/MacOS.
            while url.path.contains(".xctest") { url = url.deletingLastPathComponent() }
            candidates.append(url.path)
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug").path)
        for directory in candidates {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw ProcessRunnerError(
            description: "\(name) not built (looked in \(candidates.joined(separator: ", "))): run `swift build` first"
        )
    }

    static let basePrefix = "torpor-kvm-e2e-"

    private var base: URL?
    private var guest: Guest?
    private var starting: Task<Guest, any Error>?
    private var startFailure: String?
    private var finishedUsers: Set<String> = []
    private var expectedUsers: Set<String> = []

    var uri: String {
        get throws {
            guard let base else { throw ProcessRunnerError(description: "the lab is not started") }
            return "qemu:///system?socket=\(base.path)/run/libvirt-sock"
        }
    }

    var directory: URL {
        get throws {
            guard let base else { throw ProcessRunnerError(description: "the lab is not started") }
            return base
        }
    }

    /// Runs `body` with the shared daemon and guest (starting them if needed). `users` names every test of the
    /// suite that uses the lab; once all of them have finished, the lab is stopped.
    func withGuest<T: Sendable>(
        user: String,
        users: Set<String>,
        _ body: @Sendable (KVMLab, Guest) async throws -> T
    ) async throws -> T {
        expectedUsers.formUnion(users)
        do {
            let guest = try await ensureGuest()
            let result = try await body(self, guest)
            await finished(user)
            return result
        } catch {
            await finished(user)
            throw error
        }
    }

    private func finished(_ user: String) async {
        finishedUsers.insert(user)
        if finishedUsers.isSuperset(of: expectedUsers) { await stop() }
    }

    private func ensureGuest() async throws -> Guest {
        if let guest { return guest }
        if let startFailure {
            throw ProcessRunnerError(description: "the KVM lab failed to start for an earlier test:\n\(startFailure)")
        }
        if let starting { return try await starting.value }
        let task = Task { try await self.startLabAndGuest() }
        starting = task
        do {
            let guest = try await task.value
            self.guest = guest
            starting = nil
            return guest
        } catch {
            starting = nil
            startFailure = "\(error)"
            await stop()
            throw error
        }
    }

    private func startLabAndGuest() async throws -> Guest {
        await Self.stopStaleLabs()
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(Self.basePrefix)\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        self.base = base
        LabExitGuard.shared.register(base: base.path)

        let clock = ContinuousClock()
        let started = clock.now
        try await ProcessRunner.check([Self.script, "start", base.path, "torpor-kvm-e2e"], timeout: .seconds(90))
        print("KVMLab: private libvirtd up in \(started.duration(to: clock.now)) at \(try uri)")

        // The guest: a 1 MiB raw disk whose boot sector is the tiny virtio-net driver (Fixtures/kvm/nic-boot.S).
        let fixtures = try Self.fixtures()
        let disk = base.appendingPathComponent("tiny.img")
        var image = try Data(contentsOf: fixtures.appendingPathComponent("nic-boot.bin"))
        guard image.count == 512, image[510] == 0x55, image[511] == 0xAA else {
            throw ProcessRunnerError(description: "Fixtures/kvm/nic-boot.bin is not a 512-byte boot sector")
        }
        image.append(Data(count: 1024 * 1024 - image.count))
        try image.write(to: disk)

        let guest = Guest(name: "torpor-e2e-tiny", uuid: "", tap: "tptest0", mac: "52:54:00:7e:2e:01")
        let xml = try String(contentsOf: fixtures.appendingPathComponent("tiny-guest.xml"), encoding: .utf8)
            .replacingOccurrences(of: "@NAME@", with: guest.name)
            .replacingOccurrences(of: "@DISK@", with: disk.path)
            .replacingOccurrences(of: "@TAP@", with: guest.tap)
            .replacingOccurrences(of: "@MAC@", with: guest.mac)
        let xmlFile = base.appendingPathComponent("tiny-guest.xml")
        try xml.write(to: xmlFile, atomically: true, encoding: .utf8)
        try await virsh("define", xmlFile.path)
        let booted = clock.now
        try await virsh("start", guest.name)
        let uuid = try await virsh("domuuid", guest.name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // Wait until the guest's driver is up (its own frames show as tx on its NIC), then send it frames.
        // Generous: other end-to-end suites boot guests (one dirtying memory forever) on the same 2 cores.
        let deadline = clock.now + .seconds(120)
        while try await interfaceStats(guest)["tx_bytes", default: 0] == 0 {
            guard clock.now < deadline else {
                throw ProcessRunnerError(description: "the guest sent nothing on \(guest.tap) within 120 s")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        print("KVMLab: guest \(guest.name) sending on \(guest.tap) \(booted.duration(to: clock.now)) after start")
        try await sendFrames(to: guest, count: 20)
        return Guest(name: guest.name, uuid: uuid, tap: guest.tap, mac: guest.mac)
    }

    static let hostFrameBytes = 64

    /// Sends `count` raw 64-byte Ethernet frames (ethertype 0x88b5, local experimental; no IP) from the host side of
    /// the guest's tap, inside the daemon's private network namespace, and waits until the guest has taken them in
    /// (its rx grew by as much; its driver takes one per timer tick).
    func sendFrames(to guest: Guest, count: Int) async throws {
        let before = try await interfaceStats(guest)["rx_bytes", default: 0]
        let program = """
            import socket, sys
            tap, dst, count = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((tap, 0))
            src = s.getsockname()[4][:6]
            for i in range(count):
                s.send(dst + src + b'\\x88\\xb5' + ('torpor kvm e2e host frame %04d' % i).encode().ljust(50, b'\\0'))
            """
        try await ProcessRunner.check(
            [Self.script, "exec", try directory.path, "python3", "-c", program, guest.tap, guest.mac, String(count)])
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(15)
        while try await interfaceStats(guest)["rx_bytes", default: 0] < before + count * Self.hostFrameBytes {
            guard clock.now < deadline else {
                throw ProcessRunnerError(description: "the guest did not take in the \(count) frames within 15 s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `virsh domifstat` of the guest's tap, as libvirt reports it (the guest's view: rx = what the host sent).
    func interfaceStats(_ guest: Guest) async throws -> [String: Int] {
        let output = try await virsh("domifstat", guest.name, guest.tap)
        var stats: [String: Int] = [:]
        for line in output.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 3, let value = Int(fields[2]) { stats[String(fields[1])] = value }
        }
        return stats
    }

    @discardableResult
    func virsh(_ arguments: String...) async throws -> ProcessOutput {
        try await ProcessRunner.check(["virsh", "-q", "-c", try uri] + arguments, timeout: .seconds(30))
    }

    /// Destroys the guest and stops the daemon (the script destroys every domain first). Idempotent.
    func stop() async {
        guard let base else { return }
        let output = try? await ProcessRunner.run([Self.script, "stop", base.path], timeout: .seconds(60))
        if let output, !output.succeeded { print("KVMLab: stopping the lab failed:\n\(output)") }
        try? FileManager.default.removeItem(at: base)
        LabExitGuard.shared.unregister(base: base.path)
        self.base = nil
        guest = nil
    }

    static func fixtures() throws -> URL {
        if let url = Bundle.module.url(forResource: "Fixtures/kvm", withExtension: nil) { return url }
        let url = packageRoot.appendingPathComponent("Tests/AgentTests/Fixtures/kvm")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ProcessRunnerError(description: "Fixtures/kvm not found")
        }
        return url
    }

    /// Stops labs left behind by test processes that no longer run (killed mid-test).
    static func stopStaleLabs() async {
        let temporary = FileManager.default.temporaryDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary.path) else { return }
        for name in names where name.hasPrefix(basePrefix) {
            let rest = name.dropFirst(basePrefix.count)
            guard let pid = Int32(rest.prefix { $0.isNumber }), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            let path = temporary.appendingPathComponent(name).path
            _ = try? await ProcessRunner.run([script, "stop", path], timeout: .seconds(60))
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// Stops a still-running lab when the test process exits (a filtered run may never finish every user).
final class LabExitGuard: @unchecked Sendable {
    static let shared = LabExitGuard()
    private let lock = NSLock()
    private var bases: Set<String> = []
    private var installed = false

    func register(base: String) {
        let install: Bool = lock.withLock {
            bases.insert(base)
            defer { installed = true }
            return !installed
        }
        if install { atexit { LabExitGuard.shared.stopAll() } }
    }

    func unregister(base: String) { _ = lock.withLock { bases.remove(base) } }

    private func stopAll() {
        let remaining = lock.withLock { bases }
        for base in remaining {
            let null = URL(fileURLWithPath: "/dev/null")
            if let stop = try? BackgroundProcess([KVMLab.script, "stop", base], stdout: null, stderr: null),
                !stop.waitForExitBlocking(timeout: .seconds(60))
            {
                stop.kill()
            }
            try? FileManager.default.removeItem(atPath: base)
        }
    }
}

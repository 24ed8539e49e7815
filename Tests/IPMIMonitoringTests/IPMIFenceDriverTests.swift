import Commands
import Foundation
import Logging
import Testing

@testable import Manager

/// Fencing a real OpenIPMI `ipmi_sim` BMC on loopback (`BMCUnderTest`), through a real ipmitool.
@Suite struct IPMIFenceDriverTests {
    let logger = Logger(label: "test")

    /// An ipmitool wrapper that records each command line it is given (one line each), then runs the real one.
    struct RecordingIPMITool {
        let path: String
        var log: String { "\(path).log" }

        init(directory: String) throws {
            path = "\(directory)/ipmitool-recording"
            try """
            #!/bin/sh
            printf '%s\\n' "$*" >>"$0.log"
            exec ipmitool "$@"

            """.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }

        var commandLines: [String] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    /// The lab BMC's password file (`LabBMC.Host.passwordFile`), mode 0600.
    static func passwordFile(_ bmc: BMCUnderTest) -> String { "\(bmc.directory)/password" }

    static func access(_ bmc: BMCUnderTest) -> HostWakeConfiguration.BMCAccess {
        .init(address: bmc.address, user: "admin", passwordFile: passwordFile(bmc))
    }

    /// The chassis power as the BMC reports it, asked by a separate ipmitool.
    static func chassisPower(_ bmc: BMCUnderTest) async throws -> Bool? {
        let argv = IPMIFenceDriver(bmc: access(bmc)).argv(["chassis", "power", "status"])
        let outcome = try await CommandRunner.run(argv, timeout: .seconds(20))
        return IPMIFenceDriver.chassisPower(outcome.standardOutput)
    }

    /// Waits until the BMC answers that its chassis is on (it binds its port a moment after starting).
    static func waitUntilOn(_ bmc: BMCUnderTest, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await chassisPower(bmc) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BMCTestError("BMC \(bmc.address) never reported chassis power on\n\(bmc.diagnostics())")
    }

    /// Every /proc/PID/cmdline holding `secret`, sampled until `body` returns.
    static func commandLines(containing secret: String, during body: () async -> Void) async -> [String] {
        let found = FoundLines()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                    for entry in entries where Int(entry) != nil {
                        guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else {
                            continue
                        }
                        let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
                        if line.contains(secret) { found.append(line) }
                    }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            await body()
            group.cancelAll()
        }
        return found.lines
    }

    final class FoundLines: @unchecked Sendable {
        // @unchecked: `found` is only touched while holding `lock`.
        private let lock = NSLock()
        private var found: [String] = []

        func append(_ line: String) { lock.withLock { found.append(line) } }
        var lines: [String] { lock.withLock { found } }
    }

    @Test func fencingABMCWhoseChassisIsOnPowersItOffAndConfirms() async throws {
        try await BMCUnderTest.with { bmc in
            try await Self.waitUntilOn(bmc)
            let tool = try RecordingIPMITool(directory: bmc.directory)
            let fencer = HostFencer(
                drivers: ["host-1": [IPMIFenceDriver(bmc: Self.access(bmc), program: tool.path)]],
                logger: logger
            )
            var outcome: FenceOutcome?
            let leaked = await Self.commandLines(containing: bmc.target().password) {
                outcome = await fencer.fence("host-1")
            }
            guard case .fenced(let host, let driver, _, let confirmation) = outcome else {
                Issue.record("expected .fenced, got \(String(describing: outcome))\n\(bmc.diagnostics())")
                return
            }
            #expect(host == "host-1")
            #expect(driver == "IPMI")
            #expect(confirmation == "BMC \(bmc.address) reports chassis power off")
            // Off as another client sees it, too.
            #expect(try await Self.chassisPower(bmc) == false, "\(bmc.diagnostics())")

            // Power off first, then status until off; the password only ever in its file.
            let lines = tool.commandLines
            #expect(lines.first?.hasSuffix("chassis power off") == true, "\(lines)")
            #expect(
                lines.count >= 2 && lines.dropFirst().allSatisfy { $0.hasSuffix("chassis power status") },
                "\(lines)"
            )
            #expect(
                lines.allSatisfy { $0.contains("-f \(Self.passwordFile(bmc))") && !$0.contains(bmc.target().password) }
            )
            #expect(leaked == [], "the BMC password appeared on a command line")
        }
    }

    @Test func fencingAnOffChassisConfirmsAtOnce() async throws {
        try await BMCUnderTest.with { bmc in
            try await Self.waitUntilOn(bmc)
            let driver = IPMIFenceDriver(bmc: Self.access(bmc))
            #expect(await driver.fence() == .success(FenceConfirmation("BMC \(bmc.address) reports chassis power off")))
            // Again: a host already off is fenced (a retried fence is harmless).
            #expect(await driver.fence() == .success(FenceConfirmation("BMC \(bmc.address) reports chassis power off")))
        }
    }

    @Test func anUnreachableBMCIsNotFencedInBoundedTimeNamingHostAndDriver() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-fence-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "secret\n".write(toFile: "\(directory)/password", atomically: true, encoding: .utf8)
        let address = "127.0.0.1:\(try TestPorts.unused())"
        let fencer = HostFencer(
            drivers: [
                "host-7": [
                    IPMIFenceDriver(bmc: .init(address: address, user: "admin", passwordFile: "\(directory)/password"))
                ]
            ],
            logger: logger
        )
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await fencer.fence("host-7")
        let elapsed = clock.now - start
        guard case .notFenced(let host, let reason) = outcome else {
            Issue.record("expected .notFenced, got \(outcome)")
            return
        }
        #expect(host == "host-7")
        #expect(
            reason.hasPrefix("IPMI: BMC \(address): chassis power off failed: ipmitool exited with status 1"),
            "\(reason)"
        )
        #expect(outcome.description.hasPrefix("host-7 could not be fenced (IPMI: BMC \(address): "))
        // ipmitool gives up after about 6 s (1 s timeout, 2 retries); the call's own timeout is 20 s.
        #expect(elapsed < .seconds(180))
    }

    @Test func aWrongPasswordIsNotFenced() async throws {
        try await BMCUnderTest.with { bmc in
            try await Self.waitUntilOn(bmc)
            let wrong = "\(bmc.directory)/wrong-password"
            try "not-the-password\n".write(toFile: wrong, atomically: true, encoding: .utf8)
            let driver = IPMIFenceDriver(bmc: .init(address: bmc.address, user: "admin", passwordFile: wrong))
            let result = await driver.fence()
            guard case .failure(let failure) = result else {
                Issue.record("expected a failure, got \(result)")
                return
            }
            #expect(failure.description.hasPrefix("BMC \(bmc.address): chassis power off failed: "))
            // And the chassis is still on.
            #expect(try await Self.chassisPower(bmc) == true, "\(bmc.diagnostics())")
        }
    }
}

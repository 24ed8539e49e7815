import Foundation
import Logging
import Testing

@testable import Manager

/// Fencing with real programs: scripts that record their arguments and exit as told.
@Suite struct HostFencerTests {
    /// A temporary directory with executable scripts in it, removed afterwards.
    final class Scripts: Sendable {
        let directory: String

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-fence-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// A script that appends one line per argument, then a "--" line, to `NAME.args`, then runs `body`.
        func make(_ name: String, body: String) throws -> String {
            let path = "\(directory)/\(name)"
            try """
            #!/bin/sh
            for argument in "$@"; do printf '%s\\n' "$argument" >>"$0.args"; done
            echo -- >>"$0.args"
            \(body)

            """.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }

        /// The calls a script recorded, each its arguments.
        func calls(_ script: String) -> [[String]] {
            guard let text = try? String(contentsOfFile: "\(script).args", encoding: .utf8) else { return [] }
            var calls: [[String]] = []
            var current: [String] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                if line == "--" {
                    calls.append(current)
                    current = []
                } else {
                    current.append(String(line))
                }
            }
            return calls
        }
    }

    let logger = Logger(label: "test")

    @Test func aCommandDriverIsCalledWithItsArgvAndExitZeroFences() async throws {
        let scripts = try Scripts()
        let fence = try scripts.make("fence-pdu", body: "exit 0")
        let fencer = HostFencer(
            drivers: ["host-3": [CommandFenceDriver(argv: [fence, "--plug", "3", "two words", "--action=off"])]],
            logger: logger
        )
        let outcome = await fencer.fence("host-3")
        guard case .fenced(let host, let driver, let took, let confirmation) = outcome else {
            Issue.record("expected .fenced, got \(outcome)")
            return
        }
        #expect(host == "host-3")
        #expect(driver == "command")
        #expect(took > .zero)
        #expect(confirmation == "\(fence) exited 0")
        #expect(scripts.calls(fence) == [["--plug", "3", "two words", "--action=off"]])
        #expect(outcome.isFenced)
        #expect("\(outcome)".hasPrefix("host-3 fenced by command in "))
    }

    @Test func driversAreTriedInOrderUntilOneConfirms() async throws {
        let scripts = try Scripts()
        let broken = try scripts.make("broken", body: "echo 'outlet 3: no such outlet' >&2; exit 3")
        let working = try scripts.make("working", body: "exit 0")
        let never = try scripts.make("never", body: "exit 0")
        let fencer = HostFencer(
            drivers: [
                "host-3": [
                    CommandFenceDriver(argv: [broken, "a"]), CommandFenceDriver(argv: [working, "b"]),
                    CommandFenceDriver(argv: [never, "c"]),
                ]
            ],
            logger: logger
        )
        let outcome = await fencer.fence("host-3")
        #expect(outcome.isFenced, "\(outcome)")
        #expect(scripts.calls(broken) == [["a"]])
        #expect(scripts.calls(working) == [["b"]])
        #expect(scripts.calls(never) == [])
    }

    @Test func everyDriverFailingIsNotFencedNamingEachDriver() async throws {
        let scripts = try Scripts()
        let broken = try scripts.make("broken", body: "echo 'outlet 3: no such outlet' >&2; exit 3")
        let slow = try scripts.make("slow", body: "exec sleep 600")
        let fencer = HostFencer(
            drivers: [
                "host-3": [
                    CommandFenceDriver(argv: [broken]),
                    CommandFenceDriver(argv: [slow], timeout: .milliseconds(300)),
                ]
            ],
            logger: logger
        )
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await fencer.fence("host-3")
        // The slow command is stopped at its timeout (SIGTERM; 600 s would mean it was not). Generous: other tests
        // may hold the test process's cooperative pool, and with it the timer, for a while.
        #expect(clock.now - start < .seconds(120))
        guard case .notFenced(let host, let reason) = outcome else {
            Issue.record("expected .notFenced, got \(outcome)")
            return
        }
        #expect(host == "host-3")
        #expect(
            reason == "command: \(broken) exited with status 3: outlet 3: no such outlet; "
                + "command: \(slow) timed out after 0.3s"
        )
        #expect("\(outcome)".hasSuffix("its VMs are not restarted elsewhere"))
        #expect(!outcome.isFenced)
    }

    @Test func aMissingProgramIsAFailureNamingIt() async {
        let fencer = HostFencer(
            drivers: ["host-3": [CommandFenceDriver(argv: ["/nonexistent/fence-host"])]],
            logger: logger
        )
        let outcome = await fencer.fence("host-3")
        #expect(
            outcome
                == .notFenced(hostID: "host-3", reason: "command: program '/nonexistent/fence-host' not found in PATH")
        )
    }

    @Test func aHostWithoutDriversIsNeverFenced() async {
        let fencer = HostFencer(
            drivers: ["host-1": [], "host-2": [CommandFenceDriver(argv: ["/bin/true"])]],
            logger: logger
        )
        #expect(!fencer.canFence("host-1"))
        #expect(!fencer.canFence("host-3"))
        #expect(fencer.canFence("host-2"))
        let outcome = await fencer.fence("host-3")
        #expect(outcome == .noDriver(hostID: "host-3"))
        #expect(
            outcome.description
                == "no fencing driver configured for host-3 (hosts.host-3.fence): its VMs are not restarted elsewhere"
        )
        #expect(await fencer.fence("host-1") == .noDriver(hostID: "host-1"))
    }

    @Test func chassisPowerStatusIsParsedStrictly() {
        #expect(IPMIFenceDriver.chassisPower("Chassis Power is off\n") == false)
        #expect(IPMIFenceDriver.chassisPower("Chassis Power is on\n") == true)
        #expect(IPMIFenceDriver.chassisPower("\nChassis Power is off") == false)
        #expect(IPMIFenceDriver.chassisPower("Chassis Power is offline") == nil)
        #expect(IPMIFenceDriver.chassisPower("") == nil)
        #expect(IPMIFenceDriver.chassisPower("Error: Unable to establish IPMI v2 / RMCP+ session") == nil)
    }

    @Test func theIPMICommandLineNamesThePasswordFileNotThePassword() {
        let driver = IPMIFenceDriver(
            bmc: .init(address: "10.0.0.103:623", user: "admin", passwordFile: "/etc/torpor/bmc/host-3.password")
        )
        #expect(
            driver.argv(["chassis", "power", "off"]) == [
                "ipmitool", "-I", "lanplus", "-C", "3", "-N", "1", "-R", "2", "-H", "10.0.0.103", "-p", "623", "-U",
                "admin", "-f", "/etc/torpor/bmc/host-3.password", "chassis", "power", "off",
            ]
        )
        #expect(!driver.argv(["chassis", "power", "status"]).contains("-P"))
    }
}

extension HostFencerTests {
    /// The IPMI driver's confirmation logic, with a configured program standing in for a BMC that misbehaves in ways
    /// ipmi_sim does not (the real BMC is in IPMIMonitoringTests/IPMIFenceDriverTests).
    @Suite struct IPMIFenceConfirmationTests {
        static let bmc = HostWakeConfiguration.BMCAccess(address: "192.0.2.7:623", user: "admin", passwordFile: "/p")

        @Test func aChassisThatStaysOnIsNotFencedWithinTheTimeout() async throws {
            let scripts = try HostFencerTests.Scripts()
            let tool = try scripts.make(
                "ipmitool",
                body: """
                    case "$*" in
                      *"power off") exit 0 ;;
                      *"power status") echo "Chassis Power is on"; exit 0 ;;
                    esac
                    exit 1
                    """
            )
            let driver = IPMIFenceDriver(
                bmc: Self.bmc,
                // Long enough for a status read to finish on a loaded machine, so the last answer is the BMC's.
                confirmationTimeout: .seconds(10),
                pollInterval: .milliseconds(100),
                program: tool
            )
            let result = await driver.fence()
            #expect(
                result
                    == .failure(
                        FenceFailure(
                            "BMC 192.0.2.7:623: chassis power off accepted but not confirmed within 10.0s "
                                + "(last: the chassis still reports power on)"
                        )
                    )
            )
            let calls = scripts.calls(tool).map { Array($0.suffix(3)) }
            #expect(calls.first == ["chassis", "power", "off"])
            // At least one status read; how many fit in the second depends on the machine's load.
            #expect(calls.count >= 2, "\(calls)")
            #expect(calls.dropFirst().allSatisfy { $0 == ["chassis", "power", "status"] })
        }

        @Test func aRefusedPowerOffOfAChassisStillOnFails() async throws {
            let scripts = try HostFencerTests.Scripts()
            let tool = try scripts.make(
                "ipmitool",
                body: "echo 'Error: Unable to establish IPMI v2 / RMCP+ session' >&2; exit 1"
            )
            let result = await IPMIFenceDriver(bmc: Self.bmc, program: tool).fence()
            #expect(
                result
                    == .failure(
                        FenceFailure(
                            "BMC 192.0.2.7:623: chassis power off failed: ipmitool exited with status 1: "
                                + "Error: Unable to establish IPMI v2 / RMCP+ session"
                        )
                    )
            )
            // Power off, then one status read in case the chassis was off already.
            #expect(
                scripts.calls(tool).map { Array($0.suffix(3)) } == [
                    ["chassis", "power", "off"], ["chassis", "power", "status"],
                ]
            )
        }

        @Test func aRefusedPowerOffOfAChassisAlreadyOffIsConfirmed() async throws {
            let scripts = try HostFencerTests.Scripts()
            let tool = try scripts.make(
                "ipmitool",
                body: """
                    case "$*" in
                      *"power off") echo 'Set Chassis Power Control to Down/Off failed: Command not supported in present state' >&2; exit 1 ;;
                      *"power status") echo "Chassis Power is off" ;;
                    esac
                    """
            )
            let result = await IPMIFenceDriver(bmc: Self.bmc, program: tool).fence()
            #expect(
                result
                    == .success(FenceConfirmation("BMC 192.0.2.7:623 reports chassis power off (it refused power off)"))
            )
        }

        @Test func anOffChassisAfterAnUnreadableStatusIsConfirmed() async throws {
            let scripts = try HostFencerTests.Scripts()
            // The first status read fails (a BMC busy powering off), the second says off.
            let tool = try scripts.make(
                "ipmitool",
                body: """
                    case "$*" in
                      *"power off") exit 0 ;;
                    esac
                    if [ "$(grep -c status "$0.args")" -lt 2 ]; then echo 'Get Chassis Power Status failed' >&2; exit 1; fi
                    echo "Chassis Power is off"
                    """
            )
            let result = await IPMIFenceDriver(bmc: Self.bmc, pollInterval: .milliseconds(100), program: tool).fence()
            #expect(result == .success(FenceConfirmation("BMC 192.0.2.7:623 reports chassis power off")))
            #expect(scripts.calls(tool).count == 3)
        }
    }
}

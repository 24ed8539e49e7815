import Commands
import Foundation

/// Fences through the host's BMC: `ipmitool … chassis power off`, then `chassis power status` every
/// `pollInterval` until the BMC reports "off", for at most `confirmationTimeout`. A power off the BMC accepted but
/// never confirmed is a failure: the host may still be running. A refused power off is a failure unless the
/// chassis reports it is off already.
///
/// The call is the IPMI wake driver's (`IPMIWakeDriver`): RMCP+ (lanplus), cipher suite 3, and the password read by
/// ipmitool from `bmc.passwordFile` (`-f`), never on a command line, in the environment or in a log.
public struct IPMIFenceDriver: FenceDriver {
    public let bmc: HostWakeConfiguration.BMCAccess
    /// How long the chassis has, after the power off was accepted, to report off.
    public var confirmationTimeout: Duration
    /// How long one ipmitool call may take (an unreachable BMC fails in about 6 s: 1 s timeout, 2 retries).
    public var callTimeout: Duration
    public var pollInterval: Duration
    /// The ipmitool binary: found in PATH by default; tests put a recording wrapper here.
    public var program: String

    public var name: String { "IPMI" }

    public init(
        bmc: HostWakeConfiguration.BMCAccess,
        confirmationTimeout: Duration = .seconds(60),
        callTimeout: Duration = .seconds(20),
        pollInterval: Duration = .seconds(1),
        program: String = "ipmitool"
    ) {
        self.bmc = bmc
        self.confirmationTimeout = confirmationTimeout
        self.callTimeout = callTimeout
        self.pollInterval = pollInterval
        self.program = program
    }

    /// The ipmitool command line for `command` (e.g. ["chassis", "power", "off"]): no password on it.
    func argv(_ command: [String]) -> [String] {
        let (host, port) = IPMIWakeDriver.split(bmc.address)
        return [program, "-I", "lanplus", "-C", "3", "-N", "1", "-R", "2", "-H", host]
            + (port.map { ["-p", $0] } ?? [])
            + ["-U", bmc.user, "-f", bmc.passwordFile] + command
    }

    public func fence() async -> Result<FenceConfirmation, FenceFailure> {
        if case .failure(let problem) = await call(["chassis", "power", "off"], timeout: callTimeout) {
            // Some BMCs refuse power off for a chassis already off ("not supported in present state"): the most
            // common state of a dead host. Its status, read once, tells.
            if case .success(let output) = await call(["chassis", "power", "status"], timeout: callTimeout),
                Self.chassisPower(output) == false
            {
                return .success(
                    FenceConfirmation("BMC \(bmc.address) reports chassis power off (it refused power off)")
                )
            }
            return .failure(FenceFailure("BMC \(bmc.address): chassis power off failed: \(problem)"))
        }
        let clock = ContinuousClock()
        let deadline = clock.now + confirmationTimeout
        var last = "no answer yet"
        while true {
            let remaining = deadline - clock.now
            guard remaining > .zero else { break }
            switch await call(["chassis", "power", "status"], timeout: min(callTimeout, max(remaining, .seconds(1)))) {
            case .success(let output):
                switch Self.chassisPower(output) {
                case false?: return .success(FenceConfirmation("BMC \(bmc.address) reports chassis power off"))
                case true?: last = "the chassis still reports power on"
                case nil: last = "unexpected answer '\(Self.firstLine(output))'"
                }
            case .failure(let problem):
                last = problem.description
            }
            guard clock.now + pollInterval < deadline, (try? await Task.sleep(for: pollInterval)) != nil else { break }
        }
        return .failure(
            FenceFailure(
                "BMC \(bmc.address): chassis power off accepted but not confirmed within "
                    + "\(FenceOutcome.seconds(confirmationTimeout)) (last: \(last))"
            )
        )
    }

    /// `chassis power status`: true on, false off, nil when the BMC does not answer or says something else.
    public func chassisPowerIsOn() async -> Bool? {
        guard case .success(let output) = await call(["chassis", "power", "status"], timeout: callTimeout) else {
            return nil
        }
        return Self.chassisPower(output)
    }

    /// ipmitool's output, or why the call failed.
    private func call(_ command: [String], timeout: Duration) async -> Result<String, CallFailure> {
        do {
            let outcome = try await CommandRunner.run(argv(command), timeout: timeout)
            guard outcome.succeeded else {
                let detail = Self.firstLine(outcome.standardError)
                return .failure(
                    CallFailure("ipmitool \(outcome.termination.text)\(detail.isEmpty ? "" : ": \(detail)")")
                )
            }
            return .success(outcome.standardOutput)
        } catch {
            return .failure(CallFailure("\(error)"))
        }
    }

    private struct CallFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// "Chassis Power is on" → true, "Chassis Power is off" → false, anything else → nil.
    static func chassisPower(_ output: String) -> Bool? {
        let line = firstLine(output).lowercased()
        guard line.hasPrefix("chassis power is ") else { return nil }
        switch line.dropFirst("chassis power is ".count) {
        case "on": return true
        case "off": return false
        default: return nil
        }
    }

    static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

extension CommandOutcome.Termination {
    /// "exited with status 1", "killed by signal 9", "timed out".
    var text: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signalled(let signal): "killed by signal \(signal)"
        case .timedOut: "timed out"
        }
    }
}

import Commands

/// `ipmitool -I lanplus -C 3 -H HOST -p PORT -U USER -f PASSWORD_FILE chassis power on`. ipmitool reads the
/// password from the file itself: it is never on a command line (visible in /proc/*/cmdline), in the
/// environment, or in a log line. Cipher suite 3 avoids ipmitool's 10 s probe of other suites; a 1 s timeout with
/// 2 retries makes an unreachable BMC fail in about 6 s instead of 20, so the next driver gets its turn.
public struct IPMIWakeDriver: WakeDriver {
    public let address: String
    public let user: String
    public let passwordFile: String
    public var timeout: Duration = .seconds(20)
    public var name: String { "IPMI" }

    var argv: [String] {
        let (host, port) = Self.split(address)
        return ["ipmitool", "-I", "lanplus", "-C", "3", "-N", "1", "-R", "2", "-H", host]
            + (port.map { ["-p", $0] } ?? [])
            + ["-U", user, "-f", passwordFile, "chassis", "power", "on"]
    }

    public func wake() async -> Result<String, WakeDriverFailure> {
        do {
            let outcome = try await CommandRunner.run(argv, timeout: timeout)
            guard outcome.succeeded else {
                let detail = outcome.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                return .failure(WakeDriverFailure(description: "BMC \(address): \(outcome.termination) \(detail)"))
            }
            return .success("BMC \(address) accepted power on")
        } catch {
            return .failure(WakeDriverFailure(description: "BMC \(address): \(error)"))
        }
    }

    /// "host:port" or "host".
    static func split(_ address: String) -> (String, String?) {
        guard let colon = address.lastIndex(of: ":") else { return (address, nil) }
        return (String(address[..<colon]), String(address[address.index(after: colon)...]))
    }
}

import Commands

/// A configured program (no shell): exit 0 means the wake request went out.
public struct CommandWakeDriver: WakeDriver {
    public let argv: [String]
    public var timeout: Duration = .seconds(30)
    public var name: String { "command" }

    public func wake() async -> Result<String, WakeDriverFailure> {
        do {
            let outcome = try await CommandRunner.run(argv, timeout: timeout)
            guard outcome.succeeded else {
                return .failure(WakeDriverFailure(description: "\(argv[0]): \(outcome.termination)"))
            }
            return .success("\(argv[0]) exited 0")
        } catch {
            return .failure(WakeDriverFailure(description: "\(argv[0]): \(error)"))
        }
    }
}

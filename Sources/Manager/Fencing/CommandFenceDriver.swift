import Commands

/// A configured program, run without a shell: exit status 0 means the host is confirmed off (the contract of the
/// fence-agents programs, e.g. `fence_ipmilan --action=off`, which wait for the off state before exiting 0).
/// Anything else, including running past `timeout`, is a failure.
public struct CommandFenceDriver: FenceDriver {
    public let argv: [String]
    public var timeout: Duration

    public var name: String { "command" }

    public init(argv: [String], timeout: Duration = .seconds(120)) {
        precondition(!argv.isEmpty, "a fence command needs a program")
        self.argv = argv
        self.timeout = timeout
    }

    public func fence() async -> Result<FenceConfirmation, FenceFailure> {
        do {
            let outcome = try await CommandRunner.run(argv, timeout: timeout)
            guard outcome.succeeded else {
                let detail = IPMIFenceDriver.firstLine(outcome.standardError)
                let took = outcome.termination == .timedOut ? " after \(FenceOutcome.seconds(timeout))" : ""
                return .failure(
                    FenceFailure("\(argv[0]) \(outcome.termination.text)\(took)\(detail.isEmpty ? "" : ": \(detail)")")
                )
            }
            return .success(FenceConfirmation("\(argv[0]) exited 0"))
        } catch {
            return .failure(FenceFailure("\(error)"))
        }
    }
}

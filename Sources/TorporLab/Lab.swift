import AgentControl
import ArgumentParser
import Foundation

/// `torpor-lab`: a manager and agents on loopback, on libvirt's test driver or on a private libvirtd with KVM per
/// agent, for trying Torpor on one machine. A developer's and demonstrator's tool, apart from the user's `torpor`.
public struct Lab: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "torpor-lab",
        abstract: "Run a local lab: one torpor-manager and N torpor-agents on loopback.",
        discussion: """
            The daemons are found next to torpor-lab, else on PATH. Use the lab with `torpor --manager ADDRESS`.

            Exit codes:
              0   success
              1   the command failed (a lab process died, a prerequisite is missing)
              64  usage error (bad flags or arguments)
              75  the lab did not come up in time
            """,
        version: "0.1.0",
        subcommands: [LabUp.self, LabStatus.self, LabDown.self, LabNIC.self, LabPowerModel.self]
    )

    public init() {}
}

/// Exit codes, the same as agentctl's and torpor's (sysexits.h values).
typealias TorporExit = AgentCtlExit

/// Options every lab command shares.
struct LabOptions: ParsableArguments {
    @Option(name: .long, help: "The lab's directory: configuration, logs and lab.json.")
    var dir = "./torpor-lab"

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    var directory: URL { URL(fileURLWithPath: dir).standardizedFileURL }

    /// Prints a failure (JSON with --json) and returns its exit code.
    func failure(_ message: String, code: Int32) -> ExitCode {
        if json {
            Output.printJSON(["error": message, "exitCode": Int(code)])
        } else {
            FileHandle.standardError.write(Data("torpor-lab: \(message)\n".utf8))
        }
        return ExitCode(code)
    }
}

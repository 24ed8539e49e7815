import AgentControl
import ArgumentParser
import Foundation

/// `torpor lab`: a manager and agents on loopback, on libvirt's test driver or on a private libvirtd with KVM per
/// agent, for trying Torpor on one machine.
struct Lab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local lab: one torpor-manager and N torpor-agents on loopback.",
        subcommands: [LabUp.self, LabStatus.self, LabDown.self, LabNIC.self, LabPowerModel.self]
    )
}

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
            FileHandle.standardError.write(Data("torpor: \(message)\n".utf8))
        }
        return ExitCode(code)
    }
}

import Commands
import Foundation
import Libvirt
import Logging
import Testing
import Wire

@testable import Agent

/// Power actions through a real CommandExecutor on libvirt's test driver, with a recording script as the command.
@Suite struct CommandExecutorPowerTests {
    /// A power command that records its arguments, then takes two seconds.
    static func slowRecordingScript() throws -> (script: String, record: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-power-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let record = directory.appendingPathComponent("calls").path
        let script = directory.appendingPathComponent("slow-power").path
        try """
        #!/bin/sh
        printf '%s\\n' "$*" >> \(record)
        sleep 2
        """.writeExecutable(to: script)
        return (script, record)
    }

    /// Two power commands at once: both would find the host idle, so the second is refused as busy and only one
    /// command runs.
    @Test func concurrentPowerActionsAreSerialised() async throws {
        let (script, record) = try Self.slowRecordingScript()
        var power = AgentConfiguration.PowerCommands()
        power.suspendToRam = [script, "ram"]
        power.shutdown = [script, "off"]
        let connection = try await LibvirtConnection.open("test:///default")
        let executor = CommandExecutor(connection: connection, power: power, logger: Logger(label: "test"))
        // Forced: the test driver's own domain "test" is running.
        let results = await withTaskGroup(of: CommandResult.self) { group in
            group.addTask {
                await executor.execute(PowerCommand(action: .suspendToRam, timeoutSeconds: 30, force: true))
            }
            group.addTask { await executor.execute(PowerCommand(action: .shutdown, timeoutSeconds: 30, force: true)) }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter(\.isOK).count == 1, "\(results)")
        let busy = try #require(results.first { $0.code == .busy }, "\(results)")
        #expect(busy.message.contains("already in progress"), "\(busy.message)")
        let calls = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        #expect(calls.count == 1, "\(calls)")

        // Once the first has finished, the next one runs.
        let next = await executor.execute(PowerCommand(action: .shutdown, timeoutSeconds: 30, force: true))
        #expect(next.isOK, "\(next)")
        await connection.close()
    }

    /// An action without a command (configured as []) or whose program is missing is neither advertised nor run.
    @Test func onlyActionsWithACommandAreAdvertisedAndRun() async throws {
        let (script, record) = try Self.slowRecordingScript()
        let configuration = try AgentConfiguration.load(
            yaml: """
                hostname: h1
                power:
                  suspend_to_ram: [\(script), ram]
                  suspend_to_disk: []
                  suspend_to_both: [/nonexistent/hybrid-sleep]
                  shutdown: [sh, -c, "exit 0"]
                """,
            file: "agent.yaml"
        )
        let capabilities = AgentDaemon.capabilities(of: configuration, path: "/usr/bin:/bin")
        #expect(capabilities == [.vmLifecycle, .suspendToRam, .shutdown, .liveMigration])
        // The defaults need systemctl: not advertised on a host without it.
        let defaults = AgentDaemon.capabilities(of: AgentConfiguration(hostname: "h2"), path: "/nonexistent")
        #expect(defaults == [.vmLifecycle, .liveMigration])
        // libvirt's test driver cannot migrate: its hosts are left out of relocation and consolidation.
        var testDriver = AgentConfiguration(hostname: "h3")
        testDriver.libvirtURI = "test:///default"
        #expect(AgentDaemon.capabilities(of: testDriver, path: "/nonexistent") == [.vmLifecycle])

        let connection = try await LibvirtConnection.open("test:///default")
        let executor = CommandExecutor(
            connection: connection,
            power: configuration.power,
            logger: Logger(label: "test")
        )
        let hibernate = await executor.execute(PowerCommand(action: .suspendToDisk, timeoutSeconds: 5, force: true))
        #expect(hibernate.code == .unsupported)
        #expect(hibernate.message.contains("power.suspend_to_disk is empty"), "\(hibernate.message)")
        let hybrid = await executor.execute(PowerCommand(action: .suspendToBoth, timeoutSeconds: 5, force: true))
        #expect(hybrid.code == .unsupported)
        #expect(hybrid.message.contains("/nonexistent/hybrid-sleep"), "\(hybrid.message)")
        #expect(!FileManager.default.fileExists(atPath: record))
        await connection.close()
    }
}

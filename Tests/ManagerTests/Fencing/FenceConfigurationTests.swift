import ConfigFile
import Testing

@testable import Manager

@Suite struct FenceConfigurationTests {
    static let bmc3 = HostWakeConfiguration.BMCAccess(
        address: "10.0.0.103:623",
        user: "admin",
        passwordFile: "/etc/torpor/bmc/host-3.password"
    )

    @Test func noFenceEntryMeansNoDriverAndDefaultTimeouts() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                hosts:
                  host-3:
                    wake: [ipmi]
                    ipmi: {address: "10.0.0.103:623", user: admin, password_file: /etc/torpor/bmc/host-3.password}
                """,
            file: "manager.yaml"
        )
        #expect(configuration.hostFence.isEmpty)
        #expect(configuration.fencing == FencingConfiguration())
        #expect(configuration.fencing.powerOffTimeout == .seconds(60))
        #expect(configuration.fencing.ipmiCallTimeout == .seconds(20))
        #expect(configuration.fencing.commandTimeout == .seconds(120))
        #expect(!HostFencer(configuration: configuration, logger: .init(label: "test")).canFence("host-3"))
    }

    @Test func driversInOrderWithTheHostsBMCAndTheFencingSection() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                fencing:
                  power_off_timeout: 90s
                  ipmi_call_timeout: 10s
                  command_timeout: 3m
                hosts:
                  host-3:
                    ipmi: {address: "10.0.0.103:623", user: admin, password_file: /etc/torpor/bmc/host-3.password}
                    fence: [ipmi, command]
                    fence_command: [/usr/sbin/fence_apc, --plug=3, --action=off]
                  host-4:
                    fence: [command]
                    fence_command: [/usr/local/sbin/fence-host, host-4]
                  host-5:
                    wake: [wol]
                    wol: {mac: "52:54:00:12:34:56"}
                """,
            file: "manager.yaml"
        )
        #expect(configuration.fencing.powerOffTimeout == .seconds(90))
        #expect(configuration.fencing.ipmiCallTimeout == .seconds(10))
        #expect(configuration.fencing.commandTimeout == .seconds(180))
        #expect(
            configuration.hostFence["host-3"]?.drivers == [
                .ipmi(Self.bmc3), .command(["/usr/sbin/fence_apc", "--plug=3", "--action=off"]),
            ]
        )
        #expect(configuration.hostFence["host-4"]?.drivers == [.command(["/usr/local/sbin/fence-host", "host-4"])])
        #expect(configuration.hostFence["host-5"] == nil)

        let fencer = HostFencer(configuration: configuration, logger: .init(label: "test"))
        #expect(fencer.driverNames(of: "host-3") == ["IPMI", "command"])
        #expect(fencer.driverNames(of: "host-4") == ["command"])
        #expect(!fencer.canFence("host-5"))
        // The drivers carry the fencing section's timeouts.
        let ipmi = makeFenceDriver(.ipmi(Self.bmc3), settings: configuration.fencing) as? IPMIFenceDriver
        #expect(ipmi?.confirmationTimeout == .seconds(90))
        #expect(ipmi?.callTimeout == .seconds(10))
        let command = makeFenceDriver(.command(["/bin/true"]), settings: configuration.fencing) as? CommandFenceDriver
        #expect(command?.timeout == .seconds(180))
    }

    @Test(
        arguments: [
            // (yaml, key, line, hint)
            ("hosts:\n  h:\n    fence: [ipmi]\n", "hosts.h.ipmi", 3, "missing: fence lists ipmi"),
            ("hosts:\n  h:\n    fence: [command]\n", "hosts.h.fence_command", 3, "missing: fence lists command"),
            ("hosts:\n  h:\n    fence: [pdu]\n", "hosts.h.fence", 3, "'pdu' is not one of ipmi, command"),
            (
                "hosts:\n  h:\n    fence: [command, command]\n    fence_command: [/bin/true]\n", "hosts.h.fence", 3,
                "lists command twice"
            ),
            (
                "hosts:\n  h:\n    fence: [command]\n    fence_command: []\n", "hosts.h.fence_command", 4,
                "needs a program"
            ),
            (
                "hosts:\n  h:\n    fence: []\n    fence_command: [/bin/true]\n", "hosts.h.fence_command", 4,
                "fence does not list command"
            ),
            (
                "hosts:\n  h:\n    fence_command: [/bin/true]\n", "hosts.h.fence_command", 3,
                "no fence list naming command"
            ),
            ("hosts:\n  h:\n    fence: ipmi\n", "hosts.h.fence", 3, "expected a list"),
            (
                "hosts:\n  h:\n    fence_comand: [/bin/true]\n", "hosts.h.fence_comand", 3,
                "did you mean 'fence_command'"
            ),
            ("fencing:\n  power_off_timeout: 0s\n", "fencing.power_off_timeout", 2, "shorter than the minimum"),
            ("fencing:\n  command_timeout: soon\n", "fencing.command_timeout", 2, "expected a duration"),
            ("fencing:\n  timeout: 5s\n", "fencing.timeout", 2, "unknown key"),
        ]
    )
    func badInputNamesKeyAndLine(yaml: String, key: String, line: Int, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            let text = "\(error)"
            let matches = error.key == key && error.line == line && text.contains(hint)
            if !matches { Issue.record("got \(text) (line \(String(describing: error.line)))") }
            return matches
        }
    }
}

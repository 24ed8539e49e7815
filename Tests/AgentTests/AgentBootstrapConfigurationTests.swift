import ConfigFile
import Testing
import Transport

@testable import Agent

/// `managers:` in agent.yaml: a bootstrap list of managers that fail over (docs/ha.md); `manager:` unchanged.
@Suite struct AgentBootstrapConfigurationTests {
    @Test func aBootstrapListIsFollowedAndItsFirstIsTheManager() throws {
        let config = try AgentConfiguration.load(
            yaml: "managers: [\"10.0.0.11:7700\", \"[::1]:7700\", \"m3.example:7700\"]",
            file: "agent.yaml"
        )
        #expect(
            config.managers == [
                HostPort(host: "10.0.0.11", port: 7700), HostPort(host: "::1", port: 7700),
                HostPort(host: "m3.example", port: 7700),
            ]
        )
        #expect(config.manager == HostPort(host: "10.0.0.11", port: 7700))
    }

    @Test func oneManagerStaysOneManager() throws {
        let config = try AgentConfiguration.load(yaml: "manager: 10.0.0.11:7700", file: "agent.yaml")
        #expect(config.manager == HostPort(host: "10.0.0.11", port: 7700))
        #expect(config.managers.isEmpty)
    }

    @Test(arguments: [
        ("managers: []", "agent.yaml:1: managers: empty: list the managers' host:port addresses"),
        (
            "manager: 10.0.0.11:7700\nmanagers: [\"10.0.0.12:7700\"]",
            "agent.yaml:2: managers: give manager (one address) or managers (a bootstrap list), not both"
        ),
        ("managers: [\"10.0.0.11:7700\", \"nowhere\"]", "agent.yaml: managers: 'nowhere' is not host:port"),
        ("managers: [\"10.0.0.11:0\"]", "agent.yaml: managers: '10.0.0.11:0' is not host:port"),
    ])
    func badListsNameTheKey(yaml: String, expected: String) throws {
        let error = try #require(throws: ConfigError.self) {
            try AgentConfiguration.load(yaml: yaml, file: "agent.yaml")
        }
        #expect(error.description == expected)
    }
}

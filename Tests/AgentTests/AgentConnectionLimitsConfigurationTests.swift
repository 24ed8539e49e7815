import ConfigFile
import Testing

@testable import Agent

@Suite struct AgentConnectionLimitsConfigurationTests {
    @Test func defaults() throws {
        let configuration = try AgentConfiguration.load(yaml: "", file: "agent.yaml")
        #expect(configuration.serverLimits.maximumConnections == 256)
        #expect(configuration.serverLimits.reservedDescriptors == 128)
        #expect(configuration.connection.maximumConcurrentRequests == 64)
        #expect(configuration.connection.idleTimeout == .seconds(60))
    }

    @Test func everyKey() throws {
        let configuration = try AgentConfiguration.load(
            yaml: """
                connections:
                  max_connections: 32
                  reserved_descriptors: 64
                  max_requests_per_connection: 4
                  idle_timeout: 5s
                  send_buffer_limit: 131072
                  send_stall_timeout: 3s
                """,
            file: "agent.yaml"
        )
        #expect(configuration.serverLimits.maximumConnections == 32)
        #expect(configuration.serverLimits.reservedDescriptors == 64)
        #expect(configuration.connection.maximumConcurrentRequests == 4)
        #expect(configuration.connection.idleTimeout == .seconds(5))
        #expect(configuration.connection.outboundBufferHighWatermark == 131_072)
        #expect(configuration.connection.outboundStallTimeout == .seconds(3))
    }

    @Test(
        arguments: [
            ("connections:\n  max_connections: -1", "connections.max_connections"),
            ("connections:\n  send_stall_timeout: 0s", "connections.send_stall_timeout"),
            ("connections:\n  idle: 5s", "connections.idle"),
        ]
    )
    func badValuesNameTheKey(yaml: String, key: String) {
        #expect {
            try AgentConfiguration.load(yaml: yaml, file: "agent.yaml")
        } throws: { error in
            (error as? ConfigError)?.key == key
        }
    }
}

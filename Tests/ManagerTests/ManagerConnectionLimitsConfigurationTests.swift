import ConfigFile
import Foundation
import Testing
import Transport

@testable import Manager

@Suite struct ManagerConnectionLimitsConfigurationTests {
    @Test func defaultsHoldTenThousandAgents() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.serverLimits.maximumConnections == 16_384)
        #expect(configuration.serverLimits.reservedDescriptors == 128)
        #expect(configuration.connection.maximumConcurrentRequests == 64)
        #expect(configuration.connection.idleTimeout == .seconds(60))
        #expect(configuration.connection.outboundBufferHighWatermark == 1 << 20)
        #expect(configuration.connection.outboundStallTimeout == .seconds(30))
        #expect(
            configuration.wakeupCoalescing == WakeupCoalescing(window: .milliseconds(5), minimumConnectionsPerLoop: 1_000)
        )
    }

    @Test(
        arguments: [
            ("wakeup_pause: 2ms", WakeupCoalescing(window: .milliseconds(2), minimumConnectionsPerLoop: 1_000)),
            ("wakeup_min_connections: 50", WakeupCoalescing(window: .milliseconds(5), minimumConnectionsPerLoop: 50)),
            ("wakeup_pause: 0", nil),
            ("wakeup_pause: 0ms\n  wakeup_min_connections: 50", nil),
        ] as [(String, WakeupCoalescing?)]
    )
    func wakeupCoalescing(keys: String, expected: WakeupCoalescing?) throws {
        let configuration = try ManagerConfiguration.load(yaml: "connections:\n  \(keys)", file: "manager.yaml")
        #expect(configuration.wakeupCoalescing == expected)
    }

    /// The packaged unit's descriptor limit serves the default connections without eating into the reserve.
    @Test func theUnitsDescriptorLimitFitsTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let unit = try String(
            contentsOf: root.appendingPathComponent("units/torpor-manager.service"),
            encoding: .utf8
        )
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") })
        let limit = try #require(Int(line.dropFirst("LimitNOFILE=".count)))
        let limits = try ManagerConfiguration.load(yaml: "", file: "manager.yaml").serverLimits
        // Beyond the reserve, the server keeps room for up to 64 refusals in progress (ConnectionGate).
        #expect(
            limit - limits.reservedDescriptors - 64 >= limits.maximumConnections,
            "LimitNOFILE=\(limit) is too low"
        )
    }

    @Test func everyKey() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                connections:
                  max_connections: 20000
                  reserved_descriptors: 256
                  max_requests_per_connection: 8
                  idle_timeout: 2m
                  send_buffer_limit: 4194304
                  send_stall_timeout: 10s
                """,
            file: "manager.yaml"
        )
        #expect(configuration.serverLimits.maximumConnections == 20_000)
        #expect(configuration.serverLimits.reservedDescriptors == 256)
        #expect(configuration.connection.maximumConcurrentRequests == 8)
        #expect(configuration.connection.idleTimeout == .seconds(120))
        #expect(configuration.connection.outboundBufferHighWatermark == 4_194_304)
        #expect(configuration.connection.outboundStallTimeout == .seconds(10))
    }

    @Test(
        arguments: [
            ("connections:\n  max_connections: 0", "connections.max_connections", "outside"),
            ("connections:\n  reserved_descriptors: 4", "connections.reserved_descriptors", "outside"),
            ("connections:\n  max_requests_per_connection: 0", "connections.max_requests_per_connection", "outside"),
            ("connections:\n  send_buffer_limit: 1024", "connections.send_buffer_limit", "outside"),
            ("connections:\n  idle_timeout: 500ms", "connections.idle_timeout", "shorter than the minimum"),
            ("connections:\n  idle_timeout: 10s", "connections.idle_timeout", "longer than heartbeat_timeout"),
            ("connections:\n  max_connection: 5", "connections.max_connection", "did you mean 'max_connections'"),
            ("connections:\n  wakeup_pause: 1s", "connections.wakeup_pause", "longer than the maximum"),
            ("connections:\n  wakeup_min_connections: 0", "connections.wakeup_min_connections", "outside"),
        ]
    )
    func badValuesNameTheKey(yaml: String, key: String, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            (error as? ConfigError)?.key == key && "\(error)".contains(hint)
        }
    }
}

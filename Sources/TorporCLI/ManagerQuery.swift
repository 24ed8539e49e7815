import AgentControl
import Foundation
import Logging
import Transport
import Wire

/// Asking the manager for its status.
package enum ManagerQuery {
    /// Through agentctl's session: failures are printed and thrown as the matching ExitCode.
    static func status(manager: String, json: Bool, timeout: Double) async throws -> ManagerStatusReply {
        var options = ManagerOptions()
        options.manager = manager
        options.json = json
        options.timeout = timeout
        let session = ClusterClient(options: options).session
        let reply = try await session.run { connection in
            try await session.request(.managerStatusRequest(ManagerStatusRequest()), on: connection)
        }
        guard case .managerStatusReply(let status) = reply else {
            throw session.unexpected(reply, expected: "ManagerStatusReply")
        }
        return status
    }

    /// Silent, for polling: nil when the manager cannot be reached or does not answer.
    package static func probe(manager: String, timeout: Duration) async -> ManagerStatusReply? {
        guard let address = HostPort(manager) else { return nil }
        var logger = Logger(label: "torpor")
        logger.logLevel = .critical
        let client = WireClient(
            hello: Hello(role: .control, softwareVersion: Torpor.configuration.version, nodeName: "torpor"),
            connectTimeout: timeout,
            logger: logger
        )
        guard let connection = try? await client.connect(host: address.host, port: address.port) else { return nil }
        let reply = try? await connection.request(.managerStatusRequest(ManagerStatusRequest()), timeout: timeout)
        await connection.close()
        guard case .managerStatusReply(let status) = reply else { return nil }
        return status
    }
}

import AgentControl
import Foundation
import Logging
import Transport
import Wire

/// Asking the manager for its status.
package enum ManagerQuery {
    /// Every host, page by page, through agentctl's session: failures are printed and thrown as the matching
    /// ExitCode.
    static func status(_ options: ManagerOptions) async throws -> ManagerStatusReply {
        try await ManagerPages.status(ClusterClient(options: options).session)
    }

    /// Silent, for polling: nil when the manager cannot be reached or does not answer.
    package static func probe(
        manager: String,
        timeout: Duration,
        security: WireSecurity = .plaintext
    ) async -> ManagerStatusReply? {
        guard let addresses = AgentSession.addresses(manager), let address = addresses.first else { return nil }
        var logger = Logger(label: "torpor")
        logger.logLevel = .critical
        let client = WireClient(
            hello: Hello(role: .control, softwareVersion: Torpor.configuration.version, nodeName: "torpor"),
            connectTimeout: timeout,
            security: security,
            logger: logger
        )
        // A bootstrap list (managers that fail over): the leader's status.
        let connection =
            addresses.count == 1
            ? try? await client.connect(host: address.host, port: address.port)
            : try? await LeaderFollowingClient(client: client, bootstrap: addresses, queryTimeout: timeout)
                .connectToLeader(until: .now + timeout)
        guard let connection else { return nil }
        let status = try? await HostPaging.collect { page in
            let reply = try await connection.request(
                .managerStatusRequest(ManagerStatusRequest(page: page)),
                timeout: timeout
            )
            guard case .managerStatusReply(let status) = reply else { throw TransportError.connectionClosed }
            return status
        }
        await connection.close()
        return status
    }
}

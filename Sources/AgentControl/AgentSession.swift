import ArgumentParser
import Foundation
import Logging
import Transport
import Trust
import Wire

/// One short-lived connection to an agent (or the manager): connect, ask, print, map failures to agentctl's exit
/// codes. Public so the torpor CLI shares it.
public struct AgentSession {
    let options: GlobalOptions
    /// HOST:PORT to dial and what it is, for messages ("agent", "manager").
    let endpoint: String
    let label: String
    /// The program named in error messages and in the hello ("agentctl", "torpor").
    let program: String

    public init(
        options: GlobalOptions,
        endpoint: String? = nil,
        label: String = "agent",
        program: String = "agentctl"
    ) {
        self.options = options
        self.endpoint = endpoint ?? options.agent
        self.label = label
        self.program = program
    }

    /// The addresses `endpoint` names: one `HOST:PORT`, or a comma-separated bootstrap list of managers that
    /// fail over; nil when one of them is not `HOST:PORT`.
    public static func addresses(_ endpoint: String) -> [HostPort]? {
        let addresses = endpoint.split(separator: ",", omittingEmptySubsequences: false).map { HostPort(String($0)) }
        guard !addresses.isEmpty, addresses.allSatisfy({ $0 != nil }) else { return nil }
        return addresses.compactMap { $0 }
    }

    /// Connects, runs `body`, closes; every failure is printed (as JSON with --json) and becomes an ExitCode.
    ///
    /// With a bootstrap list the leader is found first (LeaderQuery), within the timeout; a request the leader
    /// refuses with `notLeader` (it has just lost the lead, nothing was done) runs again on the next leader while
    /// the timeout lasts. Nothing else is retried: a connection lost mid-request may have done it.
    public func run<T>(_ body: (WireConnection) async throws -> T) async throws -> T {
        guard let addresses = Self.addresses(endpoint), let address = addresses.first else {
            throw ExitCode(AgentCtlExit.usage)
        }
        var logger = Logger(label: program)
        logger.logLevel = .critical
        let security: WireSecurity
        do {
            for other in addresses.dropFirst() { _ = try options.tls.security(for: other.host) }
            security = try options.tls.security(for: address.host)
        } catch {
            throw failure("\(error)", code: AgentCtlExit.usage)
        }
        let client = WireClient(
            hello: Hello(role: .control, softwareVersion: AgentCtl.configuration.version, nodeName: program),
            connectTimeout: options.timeoutDuration,
            security: security,
            logger: logger
        )
        let deadline = ContinuousClock.now + options.timeoutDuration
        while true {
            let connection: WireConnection
            do {
                if addresses.count == 1 {
                    connection = try await client.connect(host: address.host, port: address.port)
                } else {
                    connection = try await LeaderFollowingClient(
                        client: client,
                        bootstrap: addresses,
                        queryTimeout: options.timeoutDuration
                    ).connectToLeader(until: deadline)
                }
            } catch {
                throw fail(error)
            }
            warnAboutExpiry(ours: security.tls?.identity, theirs: connection.peer.certificate)
            do {
                let result = try await body(connection)
                await connection.close()
                return result
            } catch let error as TransportError {
                await connection.close()
                if addresses.count > 1, case .peerError(.notLeader, _) = error, ContinuousClock.now < deadline {
                    continue
                }
                throw fail(error)
            } catch {
                await connection.close()
                throw error
            }
        }
    }

    public func request(
        _ message: WireMessage,
        on connection: WireConnection
    ) async throws(TransportError) -> WireMessage {
        try await connection.request(message, timeout: options.timeoutDuration)
    }

    /// A warning line on standard error for our certificate or the server's expiring within 30 days.
    func warnAboutExpiry(ours: CertificateIdentity?, theirs: CertificateIdentity?) {
        let warnings = [
            ours.flatMap { expiryWarning($0, whose: "your") },
            theirs.flatMap { expiryWarning($0, whose: "the \(label)'s") },
        ]
        for warning in warnings.compactMap({ $0 }) {
            FileHandle.standardError.write(Data("\(program): \(warning)\n".utf8))
        }
    }

    /// Prints the error and returns the exit code for it.
    public func fail(_ error: TransportError) -> ExitCode {
        let code: Int32
        switch error {
        case .connectFailed, .connectTimedOut: code = AgentCtlExit.unreachable
        // Managers answered, but none leads (or the one asked just stopped leading): no manager to talk to.
        case .peerError(.notLeader, _): code = AgentCtlExit.unreachable
        case .timedOut, .handshakeTimedOut: code = AgentCtlExit.timedOut
        default: code = AgentCtlExit.failed
        }
        let what = code == AgentCtlExit.unreachable ? "\(label) \(endpoint) unreachable" : "\(label) \(endpoint)"
        return failure("\(what): \(error)", code: code)
    }

    /// Prints a failure message (JSON with --json) and returns its exit code.
    public func failure(_ message: String, code: Int32) -> ExitCode {
        if options.json {
            Output.printJSON(["error": message, "exitCode": Int(code)])
        } else {
            FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        }
        return ExitCode(code)
    }

    /// A reply that should have been `expected` but was something else.
    public func unexpected(_ reply: WireMessage, expected: String) -> ExitCode {
        if case .commandResult(let result) = reply {
            return failure("\(result.code): \(result.message)", code: AgentCtlExit.failed)
        }
        return failure("expected \(expected), the \(label) answered \(reply.type)", code: AgentCtlExit.failed)
    }
}

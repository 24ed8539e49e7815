import Foundation
import Transport
import Trust

/// The benchmark's cluster CA and certificates, made with the library behind `torpor ca`: the manager's, and one
/// agent certificate per simulated agent (an agent certificate may only speak for the host named in it).
public struct IngestCertificates: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    var caDirectory: String { directory + "/ca" }

    /// The host id of simulated agent `index`, also its certificate's name.
    public static func hostID(_ index: Int) -> String { "bench-agent-\(index)" }

    /// Makes the CA and the manager's certificate on first use, and agent certificates 0..<`agents` missing so far.
    public func prepare(agents: Int) throws {
        let authority: ClusterAuthority
        if FileManager.default.fileExists(atPath: caDirectory + "/ca.pem") {
            authority = try ClusterAuthority.open(caDirectory)
        } else {
            authority = try ClusterAuthority.create(in: caDirectory)
            _ = try authority.issue(role: .manager, name: "ingest-bench", writingTo: directory + "/manager")
        }
        for index in 0..<agents where !FileManager.default.fileExists(atPath: agentPrefix(index) + ".pem") {
            _ = try authority.issue(role: .agent, name: Self.hostID(index), writingTo: agentPrefix(index))
        }
    }

    func agentPrefix(_ index: Int) -> String { directory + "/agent-\(index)" }

    /// PEM files for a TLS stack other than Wire's (the gRPC side): the manager's certificate and key.
    public var managerFiles: (certificate: String, key: String) { files(directory + "/manager") }

    /// PEM files of simulated agent `index`'s certificate and key.
    public func agentFiles(_ index: Int) -> (certificate: String, key: String) { files(agentPrefix(index)) }

    /// The cluster CA's certificate, the trust root on both sides.
    public var caBundlePath: String { caDirectory + "/ca.pem" }

    private func files(_ prefix: String) -> (certificate: String, key: String) {
        (prefix + ".pem", prefix + "-key.pem")
    }

    public func managerTLS() throws -> WireTLS { try tls(directory + "/manager") }

    public func agentTLS(_ index: Int) throws -> WireTLS { try tls(agentPrefix(index)) }

    private func tls(_ prefix: String) throws -> WireTLS {
        try WireTLS.load(
            certificatePath: prefix + ".pem",
            keyPath: prefix + "-key.pem",
            caBundlePath: caDirectory + "/ca.pem",
            revocationListPath: caDirectory + "/crl.pem"
        )
    }
}

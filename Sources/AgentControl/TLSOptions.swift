import ArgumentParser
import Foundation
import Transport
import Trust

/// The certificate agentctl and torpor present, and the CA bundle the server's must come from (docs/security.md).
/// Without them the CLIs speak plaintext, which they refuse to any address but a loopback one.
public struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("ca"), help: "The cluster CA bundle (PEM) (default: $TORPOR_CA).")
    public var ca: String?

    @Option(name: .customLong("cert"), help: "Your operator or viewer certificate (PEM) (default: $TORPOR_CERT).")
    public var certificate: String?

    @Option(name: .customLong("key"), help: "Your certificate's private key, mode 0600 (default: $TORPOR_KEY).")
    public var key: String?

    public init() {}

    /// For callers that build options in code: every field is set (an unparsed option cannot be read).
    public init(ca: String?, certificate: String?, key: String?) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The flags, else the environment.
    var caPath: String? { ca ?? Self.environment("TORPOR_CA") }
    var certificatePath: String? { certificate ?? Self.environment("TORPOR_CERT") }
    var keyPath: String? { key ?? Self.environment("TORPOR_KEY") }

    public func validate() throws {
        let given = [("--ca", caPath), ("--cert", certificatePath), ("--key", keyPath)]
        let missing = given.filter { $0.1 == nil }.map(\.0)
        if !missing.isEmpty, missing.count < 3 {
            throw ValidationError("TLS needs --ca, --cert and --key together; missing \(missing.joined(separator: ", "))")
        }
    }

    /// TLS with the given files, or plaintext when `host` is a loopback address; otherwise an error to print.
    func security(for host: String) throws -> WireSecurity {
        if let certificatePath, let keyPath, let caPath {
            do {
                return .tls(try WireTLS.load(certificatePath: certificatePath, keyPath: keyPath, caBundlePath: caPath))
            } catch {
                throw TLSOptionError(message: "\(error)")
            }
        }
        guard WireTLSSettings.isLoopback(host) else {
            throw TLSOptionError(
                message: "\(host) is not a loopback address: give --ca, --cert and --key (or $TORPOR_CA, "
                    + "$TORPOR_CERT, $TORPOR_KEY); plaintext is for loopback only"
            )
        }
        return .plaintext
    }

    struct TLSOptionError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Certificates closer to expiry than this get a warning line from every command.
public let certificateExpiryWarning = 30

/// "expires 2027-01-02 (364 days)", or "EXPIRED on ..." for a certificate past its end.
public func describeExpiry(_ identity: CertificateIdentity, now: Date = Date()) -> String {
    let date = ISO8601DateFormatter.string(from: identity.notValidAfter, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
    let days = identity.daysLeft(at: now)
    return days < 0 ? "EXPIRED on \(date)" : "expires \(date) (\(days) day\(days == 1 ? "" : "s"))"
}

/// A warning for a certificate expiring within `certificateExpiryWarning` days; nil otherwise.
public func expiryWarning(_ identity: CertificateIdentity, whose: String, now: Date = Date()) -> String? {
    guard identity.daysLeft(at: now) < certificateExpiryWarning else { return nil }
    return "warning: \(whose) certificate \(identity) \(describeExpiry(identity, now: now)); renew it with torpor ca issue"
}

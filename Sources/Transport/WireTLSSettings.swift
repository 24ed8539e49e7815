import ConfigFile
import Trust

/// The `tls:` section of agent.yaml and manager.yaml, and the CLIs' `--ca/--cert/--key` (docs/security.md).
///
/// With `certificate`, `key` and `ca` every Wire link is mutual TLS. Without them the links are plaintext, which is
/// refused unless every address involved is a loopback address; `allow_plaintext: true` says so explicitly and
/// is itself refused next to a certificate or with a non-loopback address.
public struct WireTLSSettings: Sendable, Equatable {
    public var certificate: String?
    public var key: String?
    /// The CA bundle peers' certificates must be issued by.
    public var ca: String?
    /// The revocation list, reloaded on SIGHUP.
    public var crl: String?
    public var allowPlaintext: Bool?
    /// Where these settings came from, for errors ("agent.yaml", "command line").
    public var source: String

    public init(
        certificate: String? = nil,
        key: String? = nil,
        ca: String? = nil,
        crl: String? = nil,
        allowPlaintext: Bool? = nil,
        source: String = "configuration"
    ) {
        self.certificate = certificate
        self.key = key
        self.ca = ca
        self.crl = crl
        self.allowPlaintext = allowPlaintext
        self.source = source
    }

    public var isTLS: Bool { certificate != nil }

    /// Reads the `tls:` section strictly; `section` nil (no section) gives the loopback-only plaintext default.
    public static func load(_ section: ConfigSection?, file: String) throws -> WireTLSSettings {
        var settings = WireTLSSettings(source: file)
        guard let section else { return settings }
        settings.certificate = try section.string("certificate")
        settings.key = try section.string("key")
        settings.ca = try section.string("ca")
        settings.crl = try section.string("crl")
        settings.allowPlaintext = try section.bool("allow_plaintext")
        let given = [("certificate", settings.certificate), ("key", settings.key), ("ca", settings.ca)]
        let missing = given.filter { $0.1 == nil }.map { "tls.\($0.0)" }
        if missing.count < 3, !missing.isEmpty {
            throw ConfigError(
                file: file,
                line: nil,
                key: missing[0],
                problem: "TLS needs tls.certificate, tls.key and tls.ca together; missing \(missing.joined(separator: ", "))"
            )
        }
        if settings.isTLS, settings.allowPlaintext == true {
            throw ConfigError(
                file: file,
                line: section.line(of: "allow_plaintext"),
                key: "tls.allow_plaintext",
                problem: "plaintext cannot be allowed next to tls.certificate; remove one of them"
            )
        }
        if !settings.isTLS, settings.crl != nil {
            throw ConfigError(
                file: file,
                line: section.line(of: "crl"),
                key: "tls.crl",
                problem: "a revocation list needs tls.certificate, tls.key and tls.ca"
            )
        }
        return settings
    }

    /// Loads the certificate, key, CA bundle and CRL, or checks that plaintext may be used with `addresses`
    /// (each named by the setting it comes from, e.g. ("listen", "0.0.0.0")). Errors name the file or setting.
    public func security(addresses: [(setting: String, host: String)]) throws -> WireSecurity {
        if let certificate, let key, let ca {
            do {
                return .tls(
                    try WireTLS.load(certificatePath: certificate, keyPath: key, caBundlePath: ca, revocationListPath: crl)
                )
            } catch {
                throw ConfigError(file: source, line: nil, key: "tls", problem: "\(error)")
            }
        }
        for (setting, host) in addresses where !Self.isLoopback(host) {
            let problem =
                allowPlaintext == true
                ? "plaintext is allowed only on loopback addresses, but \(setting) is \(host); configure "
                    + "tls.certificate, tls.key and tls.ca (docs/security.md)"
                : "\(setting) is \(host), not a loopback address: set tls.certificate, tls.key and tls.ca "
                    + "(docs/security.md); plaintext (tls.allow_plaintext) is for loopback only"
            throw ConfigError(file: source, line: nil, key: "tls.allow_plaintext", problem: problem)
        }
        return .plaintext
    }

    /// 127.0.0.0/8, ::1 and localhost.
    public static func isLoopback(_ host: String) -> Bool {
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        if host.hasPrefix("::ffff:") { return isLoopback(String(host.dropFirst(7))) }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

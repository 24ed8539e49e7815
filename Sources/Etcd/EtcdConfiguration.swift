import Foundation
import Trust

/// Where etcd is and how to reach it: its client URLs (`http://` or `https://`), optional TLS files, and optional
/// credentials read from a file only its owner (and group) may read.
public struct EtcdConfiguration: Sendable, Hashable {
    /// Client URLs, tried in order; a failed one passes the call to the next.
    public var endpoints: [String]
    /// The CA that signed etcd's server certificate, and the client certificate etcd may ask for.
    public var tls: TLS?
    /// A file holding `USER:PASSWORD` for etcd's authentication (etcdctl --user's form).
    public var credentialsFile: String?
    /// How long one unary call may take.
    public var requestTimeout: Duration
    /// How long opening a connection to an endpoint may take before the call moves to the next one.
    public var connectTimeout: Duration

    public struct TLS: Sendable, Hashable {
        public var caFile: String
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public init(
        endpoints: [String],
        tls: TLS? = nil,
        credentialsFile: String? = nil,
        requestTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(2)
    ) {
        self.endpoints = endpoints
        self.tls = tls
        self.credentialsFile = credentialsFile
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
    }

    /// Checks the endpoints' form: a non-empty list of http:// or https:// URLs with a host and port.
    public func validated() throws(EtcdError) -> [String] {
        guard !endpoints.isEmpty else { throw .configuration("no etcd endpoints given") }
        return try endpoints.map { (endpoint: String) throws(EtcdError) -> String in
            guard let url = URL(string: endpoint), let scheme = url.scheme, scheme == "http" || scheme == "https",
                let host = url.host, !host.isEmpty, url.port != nil
            else {
                throw .configuration("etcd endpoint '\(endpoint)' is not http(s)://HOST:PORT")
            }
            if scheme == "https", tls == nil {
                throw .configuration("etcd endpoint '\(endpoint)' is https but no TLS CA file is given")
            }
            // Without a trailing slash, so paths append cleanly.
            return endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        }
    }
}

/// etcd's user name and password, from a secret file.
struct EtcdCredentials: Sendable, Hashable {
    var name: String
    var password: String

    /// Reads `USER:PASSWORD` from `path`, refusing a file every user may read (naming it).
    static func read(_ path: String) throws(EtcdError) -> EtcdCredentials {
        let data: Data
        do {
            data = try SecretFile.read(path)
        } catch {
            throw .configuration("etcd credentials: \(error)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, !text.contains("\n") else {
            throw .configuration("etcd credentials file \(path) must hold one line USER:PASSWORD")
        }
        return EtcdCredentials(
            name: String(text[..<colon]),
            password: String(text[text.index(after: colon)...])
        )
    }
}

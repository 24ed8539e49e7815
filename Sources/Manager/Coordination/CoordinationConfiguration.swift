import ConfigFile
import Etcd
import Transport

/// `coordination:` in manager.yaml (docs/ha.md): several `torpor-manager` processes campaign in an etcd election
/// and only the elected one runs the group leader. Absent, the manager runs alone (the default, unchanged).
public struct CoordinationConfiguration: Sendable, Equatable {
    /// Where etcd is, and its TLS files and credentials file.
    public var etcd: EtcdConfiguration
    /// The election lease's TTL in whole seconds: a dead leader is replaced within about this long.
    public var leaseTTLSeconds = 10
    /// The election's key prefix in etcd.
    public var prefix = "/torpor/manager-leader"
    /// Where the elected manager keeps the state in etcd (docs/ha.md, "State in etcd"); apart from `prefix`.
    public var statePrefix = "/torpor/state"
    /// The address other managers, agents and clients are told to reach this manager at (`host:port`).
    public var advertise: String
    /// The file the section came from, for errors found at start (an etcd credentials file too open).
    public var sourceFile = "manager.yaml"

    public init(etcd: EtcdConfiguration, advertise: String) {
        self.etcd = etcd
        self.advertise = advertise
    }

    /// Reads the section; `listen` is the manager's own, advertised unless `advertise` is given (a wildcard
    /// `listen` needs one).
    static func load(_ section: ConfigSection, listen: String) throws -> CoordinationConfiguration {
        func fail(_ key: String, _ problem: String, line: Int? = nil) -> ConfigError {
            ConfigError(file: section.file, line: line, key: "\(section.path).\(key)", problem: problem)
        }
        guard let etcd = try section.section("etcd") else {
            throw fail("etcd", "missing: the etcd cluster managers elect their leader in (endpoints: [...])")
        }
        guard let endpoints = try etcd.stringList("endpoints"), !endpoints.isEmpty else {
            throw fail(
                "etcd.endpoints",
                "missing: a list of etcd client URLs (http://HOST:PORT)",
                line: etcd.line(of: "endpoints")
            )
        }
        var configuration = EtcdConfiguration(endpoints: endpoints)
        configuration.credentialsFile = try etcd.string("credentials_file")
        if let tls = try etcd.section("tls") {
            guard let ca = try tls.string("ca") else {
                throw fail("etcd.tls.ca", "missing: the CA file etcd's certificate must chain to")
            }
            configuration.tls = EtcdConfiguration.TLS(
                caFile: ca,
                certificateFile: try tls.string("certificate"),
                keyFile: try tls.string("key")
            )
        }
        if let timeout = try etcd.duration("request_timeout", minimum: .milliseconds(100)) {
            configuration.requestTimeout = timeout
        }
        do {
            _ = try configuration.validated()
        } catch {
            throw fail("etcd.endpoints", "\(error)", line: etcd.line(of: "endpoints"))
        }
        let advertise: String
        if let value = try section.string("advertise") {
            guard HostPort(value) != nil else {
                throw fail("advertise", "not host:port", line: section.line(of: "advertise"))
            }
            advertise = value
        } else {
            guard let own = HostPort(listen), !["0.0.0.0", "::", "[::]"].contains(own.host), own.port != 0 else {
                throw fail("advertise", "missing: listen (\(listen)) is not an address others can reach; say which")
            }
            advertise = listen
        }
        var result = CoordinationConfiguration(etcd: configuration, advertise: advertise)
        result.sourceFile = section.file
        if let ttl = try section.duration("lease_ttl", minimum: .seconds(2)) {
            let seconds = ttl.components.seconds
            guard seconds <= 300, ttl == .seconds(seconds) else {
                throw fail("lease_ttl", "must be whole seconds from 2s to 300s", line: section.line(of: "lease_ttl"))
            }
            result.leaseTTLSeconds = Int(seconds)
        }
        if let prefix = try section.string("prefix") {
            guard prefix.hasPrefix("/"), prefix.count > 1 else {
                throw fail("prefix", "must start with / and name something", line: section.line(of: "prefix"))
            }
            result.prefix = prefix
        }
        if let statePrefix = try section.string("state_prefix") {
            guard statePrefix.hasPrefix("/"), statePrefix.count > 1 else {
                throw fail(
                    "state_prefix",
                    "must start with / and name something",
                    line: section.line(of: "state_prefix")
                )
            }
            result.statePrefix = statePrefix
        }
        // "Who leads" is the oldest key under the election's prefix: no state key may fall under it, nor the
        // election's keys under the state's.
        let election = result.prefix.hasSuffix("/") ? result.prefix : result.prefix + "/"
        let state = result.statePrefix.hasSuffix("/") ? result.statePrefix : result.statePrefix + "/"
        guard !election.hasPrefix(state), !state.hasPrefix(election) else {
            throw fail(
                "state_prefix",
                "\(result.statePrefix) and prefix \(result.prefix) overlap; give the state a prefix of its own",
                line: section.line(of: "state_prefix")
            )
        }
        return result
    }
}

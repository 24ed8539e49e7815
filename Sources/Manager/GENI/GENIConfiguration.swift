import ConfigFile

/// The manager's `geni:` section (docs/geni.md): the Aggregate Manager's own HTTPS listener, off by default.
public struct GENIConfiguration: Sendable, Equatable {
    public var enabled = false
    /// Where the AM listens (HTTPS with client certificates).
    public var listen = "0.0.0.0:12346"
    /// The AM's own certificate and key (PEM), presented to clients.
    public var certificate = ""
    public var key = ""
    /// A folder of PEM certificates: the clearinghouses whose users may call.
    public var trustRoots = ""
    /// The authority of this aggregate's URNs (`urn:publicid:IDN+<authority>+…`).
    public var authority = "torpor"
    /// How long allocated slivers are held before they must be provisioned.
    public var allocationDuration: Duration = .seconds(600)
    /// How long provisioned slivers are held at first.
    public var sliverDuration: Duration = .seconds(86_400)
    /// The furthest a renew may reach, from now.
    public var maximumDuration: Duration = .seconds(30 * 86_400)
    /// The disk image of a node whose request names none; nil: the catalog's only image, if it has one.
    public var defaultImage: String?
    /// The user name `<login>` gives.
    public var loginUser = "geni"
    /// Connections served at once; more are closed as they are accepted.
    public var maximumConnections = 256
    /// The largest XML-RPC request body accepted.
    public var maximumRequestBytes = 1 << 20
    /// What GetVersion gives as this AM's URL; empty: https://<listen>/.
    public var url = ""

    public init() {}

    var publicURL: String { url.isEmpty ? "https://\(listen)/" : url }

    static func load(_ section: ConfigSection) throws -> GENIConfiguration {
        var result = GENIConfiguration()
        if let value = try section.bool("enabled") { result.enabled = value }
        if let value = try section.string("listen") { result.listen = value }
        if let value = try section.string("certificate") { result.certificate = value }
        if let value = try section.string("key") { result.key = value }
        if let value = try section.string("trust_roots") { result.trustRoots = value }
        if let value = try section.string("authority") { result.authority = value }
        if let value = try section.duration("allocation_duration", minimum: .seconds(1)) {
            result.allocationDuration = value
        }
        if let value = try section.duration("sliver_duration", minimum: .seconds(1)) { result.sliverDuration = value }
        if let value = try section.duration("maximum_duration", minimum: .seconds(1)) { result.maximumDuration = value }
        if let value = try section.string("default_image") { result.defaultImage = value }
        if let value = try section.string("login_user") { result.loginUser = value }
        if let value = try section.int("max_request_bytes", in: 4096...(16 << 20)) { result.maximumRequestBytes = value }
        if let value = try section.string("url") { result.url = value }
        if let value = try section.int("max_connections", in: 1...100_000) { result.maximumConnections = value }
        if result.enabled {
            for (key, value) in [("certificate", result.certificate), ("key", result.key), ("trust_roots", result.trustRoots)]
            where value.isEmpty {
                throw ConfigError(file: section.file, line: nil, key: "geni.\(key)", problem: "is required when geni.enabled")
            }
        }
        return result
    }
}

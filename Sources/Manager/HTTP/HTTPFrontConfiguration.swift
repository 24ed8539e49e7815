import ConfigFile
import Transport

/// The manager's `http:` section (docs/manager.md, "HTTP front"): the HTTP front is off unless `http.listen` is set,
/// and each API on it is switched on by its own subsection.
public struct HTTPFrontConfiguration: Sendable, Equatable {
    /// `host:port` the front listens on; nil: no HTTP front.
    public var listen: String?
    /// `host` or `host:port` written into replies that tell a client where to call next (Snooze's control data
    /// addresses); nil: the `Host` header of the request being answered, else the bound address.
    public var advertise: String?
    /// Largest request body read; a larger one is refused with 413.
    public var maximumBodyBytes = 4 << 20
    /// Idle keep-alive connections are closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// Snooze's REST API (`http.snooze.enabled`, docs/snooze-api.md).
    public var snooze = SnoozeConfiguration()
    /// Snooze's notifications as server-sent events on `GET /events` (`http.events`, docs/snooze-api.md "Events").
    public var events = EventsConfiguration()
    /// The live web view of the cluster and its energy (`http.web_view`, docs/web-view.md).
    public var webView = WebViewConfiguration()

    public struct SnoozeConfiguration: Sendable, Equatable {
        public var enabled = false
        /// How long a VM action (suspend, resume, shutdown, destroy, reboot) waits for its task before answering,
        /// as Snooze's group manager answered once the hypervisor had acted.
        public var actionWait: Duration = .seconds(120)

        public init() {}
    }

    public struct EventsConfiguration: Sendable, Equatable {
        /// On whenever the front is.
        public var enabled = true
        /// Events held for each `/events` client that reads slowly; beyond it the oldest are dropped and it is told.
        public var bufferEvents = EventBus.defaultCapacity
        /// A comment line is sent after this much quiet, so proxies and idle timeouts keep the stream open.
        public var keepAlive: Duration = .seconds(15)

        public init() {}
    }

    /// Hypervisor-Coordinator's REST API (`http.hypervisor_coordinator`, docs/hypervisor-coordinator.md).
    public var hypervisorCoordinator = HypervisorCoordinatorConfiguration()

    public struct HypervisorCoordinatorConfiguration: Sendable, Equatable {
        public var enabled = false
        /// The virtual cluster its VMs are kept in (made when the first one is created).
        public var cluster = "hypervisor-coordinator"
        /// How long `/vm/create` and `/vm/destroy` wait for their task before answering.
        public var actionWait: Duration = .seconds(120)

        public init() {}
    }

    public struct WebViewConfiguration: Sendable, Equatable {
        public var enabled = false
        /// How often the energy history takes a sample of cluster watts, hosts awake and saved share.
        public var sampleInterval: Duration = .seconds(5)
        /// Samples the history keeps; the oldest goes first (720 at 5 s: the last hour).
        public var historySamples = 720

        public init() {}
    }

    public init() {}

    public var enabled: Bool { listen != nil }

    static func load(_ section: ConfigSection) throws -> HTTPFrontConfiguration {
        var result = HTTPFrontConfiguration()
        if let listen = try section.string("listen") {
            guard HostPort(listen, allowsPortZero: true) != nil else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "listen"),
                    key: "http.listen",
                    problem: "'\(listen)' is not host:port"
                )
            }
            result.listen = listen
        }
        if let advertise = try section.string("advertise") {
            guard HostPortText(advertise, requiresPort: false) != nil else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "advertise"),
                    key: "http.advertise",
                    problem: "'\(advertise)' is not a host or host:port"
                )
            }
            result.advertise = advertise
        }
        if let value = try section.int("max_body_bytes", in: 1024...1_073_741_824) { result.maximumBodyBytes = value }
        if let value = try section.duration("idle_timeout", minimum: .seconds(1)) { result.idleTimeout = value }
        if let snooze = try section.section("snooze") {
            if let value = try snooze.bool("enabled") { result.snooze.enabled = value }
            if let value = try snooze.duration("action_wait", minimum: .seconds(1)) { result.snooze.actionWait = value }
        }
        if let events = try section.section("events") {
            if let value = try events.bool("enabled") { result.events.enabled = value }
            if let value = try events.int("buffer_events", in: 1...1_000_000) { result.events.bufferEvents = value }
            if let value = try events.duration("keep_alive", minimum: .seconds(1)) { result.events.keepAlive = value }
        }
        if let webView = try section.section("web_view") {
            if let value = try webView.bool("enabled") { result.webView.enabled = value }
            if let value = try webView.duration("sample_interval", minimum: .seconds(1)) {
                result.webView.sampleInterval = value
            }
            if let value = try webView.int("history_samples", in: 2...1_000_000) {
                result.webView.historySamples = value
            }
        }
        if result.webView.enabled, result.listen == nil {
            throw ConfigError(
                file: section.file,
                line: section.line(of: "web_view"),
                key: "http.web_view.enabled",
                problem: "needs http.listen: the web view is served by the HTTP front"
            )
        }
        if let coordinator = try section.section("hypervisor_coordinator") {
            if let value = try coordinator.bool("enabled") { result.hypervisorCoordinator.enabled = value }
            if let value = try coordinator.string("cluster") {
                guard DomainTemplate.isValidName(value) else {
                    throw ConfigError(
                        file: section.file,
                        line: coordinator.line(of: "cluster"),
                        key: "http.hypervisor_coordinator.cluster",
                        problem: "'\(value)' is not a valid cluster name (1–64 of A–Z a–z 0–9 . _ -)"
                    )
                }
                result.hypervisorCoordinator.cluster = value
            }
            if let value = try coordinator.duration("action_wait", minimum: .seconds(1)) {
                result.hypervisorCoordinator.actionWait = value
            }
        }
        if result.hypervisorCoordinator.enabled, result.listen == nil {
            throw ConfigError(
                file: section.file,
                line: section.line(of: "hypervisor_coordinator"),
                key: "http.hypervisor_coordinator.enabled",
                problem: "needs http.listen: the Hypervisor-Coordinator API is served by the HTTP front"
            )
        }
        if result.snooze.enabled, result.listen == nil {
            throw ConfigError(
                file: section.file,
                line: section.line(of: "snooze"),
                key: "http.snooze.enabled",
                problem: "needs http.listen: the Snooze API is served by the HTTP front"
            )
        }
        return result
    }
}

/// `host:port` (or a bare host) as written in configuration and in HTTP `Host` headers; `[v6]:port` for IPv6.
struct HostPortText: Equatable, Sendable {
    var host: String
    var port: Int?

    init?(_ text: String, requiresPort: Bool) {
        var host = Substring(text)
        var port: Int?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard let value = Int(text[text.index(after: colon)...]) else { return nil }
            host = text[..<colon]
            port = value
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        if let port, !(0...65535).contains(port) { return nil }
        if requiresPort, port == nil { return nil }
        self.host = String(host)
        self.port = port
    }
}

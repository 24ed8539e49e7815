/// One BMC reached over LAN: IPMI 2.0 (lanplus), ADMIN privilege, cipher suite 3 and the "open session
/// privilege" workaround, which is what OpenIPMI's `ipmi_sim` and common BMCs accept.
///
/// The password stays in memory: it is handed to the C library for each read and never appears in
/// `description`, `debugDescription` or a mirror.
public struct IPMITarget: Sendable, Hashable {
    /// `host` or `host:port` (e.g. `127.0.0.1:9623`); freeipmi parses the port itself.
    public var host: String
    public var user: String
    public var password: String
    /// Where freeipmi caches the BMC's sensor data records; created when missing.
    public var sdrCacheDirectory: String
    /// How long freeipmi keeps trying to open and use a session before giving up.
    public var sessionTimeout: Duration
    /// How long freeipmi waits for one reply before sending the request again.
    public var retransmissionTimeout: Duration

    public init(
        host: String,
        user: String,
        password: String,
        sdrCacheDirectory: String,
        sessionTimeout: Duration = .seconds(4),
        retransmissionTimeout: Duration = .milliseconds(500)
    ) {
        self.host = host
        self.user = user
        self.password = password
        self.sdrCacheDirectory = sdrCacheDirectory
        self.sessionTimeout = sessionTimeout
        self.retransmissionTimeout = retransmissionTimeout
    }
}

extension IPMITarget: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "\(user)@\(host)" }

    public var debugDescription: String {
        "IPMITarget(host: \(host), user: \(user), sdrCacheDirectory: \(sdrCacheDirectory))"
    }

    // Keeps `dump` and `print(String(reflecting:))`-style tools from walking into the password.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "user": user, "sdrCacheDirectory": sdrCacheDirectory,
                "sessionTimeout": sessionTimeout, "retransmissionTimeout": retransmissionTimeout,
            ]
        )
    }
}

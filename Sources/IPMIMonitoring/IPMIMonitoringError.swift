/// Why a power reading failed, naming the BMC (or the SDR cache directory) and carrying freeipmi's message.
public enum IPMIMonitoringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `ipmi_monitoring_init` failed; nothing can be read in this process.
    case initialization(String)
    /// No answer in time, or the host name does not resolve.
    case unreachable(host: String, message: String)
    /// The BMC answered but refused the session: user, password, privilege or cipher suite.
    case authentication(host: String, message: String)
    /// The SDR cache directory cannot be created, read or written.
    case sdrCache(directory: String, message: String)
    /// A session was open but reading the sensors failed.
    case readingFailed(host: String, message: String)
    /// The BMC answered, but none of its sensors reads in watts.
    case noPowerSensor(host: String)

    public var description: String {
        switch self {
        case .initialization(let message):
            "cannot initialize libipmimonitoring: \(message)"
        case .unreachable(let host, let message):
            "BMC \(host) is unreachable: \(message)"
        case .authentication(let host, let message):
            "BMC \(host) refused the session: \(message)"
        case .sdrCache(let directory, let message):
            "SDR cache \(directory): \(message)"
        case .readingFailed(let host, let message):
            "cannot read the sensors of BMC \(host): \(message)"
        case .noPowerSensor(let host):
            "BMC \(host) has no sensor reading in watts"
        }
    }
}

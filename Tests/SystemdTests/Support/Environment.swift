#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sets (or, for `nil`, unsets) environment variables until `restore()` puts the previous values back.
///
/// `let environment = EnvironmentOverride([...]); defer { environment.restore() }`
struct EnvironmentOverride {
    private let saved: [(String, String?)]

    init(_ variables: [String: String?]) {
        self.saved = variables.keys.map { ($0, environmentValue($0)) }
        for (name, value) in variables { set(name, value) }
    }

    func restore() {
        for (name, value) in self.saved { set(name, value) }
    }
}

/// The variables a service manager hands a process; children of tests start with none of them.
let serviceManagerVariables = [
    "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
]

func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

private func set(_ name: String, _ value: String?) {
    if let value {
        setenv(name, value, 1)
    } else {
        unsetenv(name)
    }
}

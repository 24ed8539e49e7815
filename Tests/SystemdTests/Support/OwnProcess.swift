import Testing

/// Tests that change this process's environment (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`) run only in a child of
/// the test binary: setenv reallocates `environ` while other suites' threads copy it to spawn their programs
/// (a full run once crashed in Process.run), and serializing Systemd's own suites does not stop those.
/// `OwnProcessTests` starts that child and fails unless every one of them ran and passed there.
enum OwnProcess {
    /// The role `OwnProcessTests` gives its child; any child of the test binary may change its own environment.
    static let role = "environment"

    static var isChild: Bool { TestChild.role != nil }

    /// The suites it runs, by name, as `--filter` matches them.
    static let suites = ["SystemdNotifierTests", "WatchdogTests", "ListenFileDescriptorsTests"]

    /// Shown where the parent process passes them over (scripts/test does not count this as a skip).
    static let reason: Comment = "changes the process environment: runs in its own process, from OwnProcessTests"
}

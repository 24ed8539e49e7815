import Testing

/// Parent of every Systemd test. Serialized because the tests change this process's environment
/// (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`) and spawn children that copy it: setenv racing with another
/// thread reading `environ` is undefined behaviour.
@Suite(.serialized)
enum SystemdSuite {}

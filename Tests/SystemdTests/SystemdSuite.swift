import Testing

/// Parent of every Systemd test. Serialized because the suites that change the process's environment
/// (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`) do it in turn; they do it only in a child process of their own
/// (`OwnProcess`), since setenv racing with another suite's thread reading `environ` is undefined behaviour.
@Suite(.serialized)
enum SystemdSuite {}

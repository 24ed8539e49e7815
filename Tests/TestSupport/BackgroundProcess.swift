import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program running in the background (a daemon under test), its stdout and stderr going to files.
///
/// Started with posix_spawn and reaped with waitpid(pid, WNOHANG), not with Foundation's `Process`: on this toolchain
/// `Process.run()` reads past a buffer while it lists `/proc/self/fd` (swift-corelibs-foundation#5472), and Process
/// watches every child through one shared thread that blocks in waitpid as soon as a child closes a descriptor it
/// inherited (systemd-socket-activate and daemons do), which stalls every other Process in the test run until that
/// child exits. The child gets stdin from /dev/null, the two files as stdout and stderr, and no other descriptor of
/// ours.
public final class BackgroundProcess: @unchecked Sendable {
    public let argv: [String]
    public let stdoutURL: URL
    public let stderrURL: URL
    public let pid: pid_t
    private let lock = NSLock()
    private var waitStatus: Int32?

    /// Starts `argv` (argv[0] is a path, or a name looked up on PATH). `environment` nil: this process's own, less
    /// the service-manager variables. `stderr` equal to `stdout`: both go to the one file.
    public init(
        _ argv: [String],
        stdout: URL,
        stderr: URL,
        environment: [String: String]? = nil,
        currentDirectory: URL? = nil
    ) throws {
        guard let first = argv.first, let executable = Self.executablePath(first) else {
            throw SpawnError(description: "\(argv.first ?? "(empty argv)"): not found or not executable")
        }
        self.argv = argv
        self.stdoutURL = stdout
        self.stderrURL = stderr

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let create = O_WRONLY | O_CREAT | O_TRUNC
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, create, 0o644)
        if stderr.standardizedFileURL == stdout.standardizedFileURL {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr.path, create, 0o644)
        }
        if let closeFrom = SpawnExtensions.addClosefrom { _ = closeFrom(&actions, 3) }
        if let currentDirectory {
            guard let addChdir = SpawnExtensions.addChdir else {
                throw SpawnError(description: "posix_spawn cannot change directory here")
            }
            _ = addChdir(&actions, currentDirectory.path)
        }

        var attributes = posix_spawnattr_t()
        SpawnExtensions.initWithDefaultSignals(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // The Systemd tests set NOTIFY_SOCKET, WATCHDOG_* and LISTEN_* in this process for a moment: a child
        // spawned then (a lab's daemons) would notify their listener. Children get them only when asked for.
        let environment =
            environment
            ?? ProcessInfo.processInfo.environment.filter { key, _ in
                key != "NOTIFY_SOCKET" && !key.hasPrefix("WATCHDOG_") && !key.hasPrefix("LISTEN_")
            }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// The absolute path of `name` on PATH (or `name` itself when it already contains a slash); nil when there is
    /// no such executable file.
    public static func executablePath(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path =
            ProcessInfo.processInfo.environment["PATH"]
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Reaps the child if it has exited; true once it has.
    private func reap() -> Bool {
        lock.withLock {
            if waitStatus != nil { return true }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                waitStatus = status
                return true
            }
            if result < 0 && errno == ECHILD {
                // Reaped by someone else: the status is lost.
                waitStatus = -1
                return true
            }
            return false
        }
    }

    public var isRunning: Bool { !reap() }

    /// The exit status, or 128 + signal; nil while running (-1 when it was reaped elsewhere).
    public var exitStatus: Int32? {
        guard reap(), let status = lock.withLock({ waitStatus }) else { return nil }
        if status == -1 { return -1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Sends `signal` unless the child has already been reaped (so a recycled pid is never hit).
    public func signal(_ signal: Int32) {
        lock.withLock {
            if waitStatus == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    public func kill() { signal(SIGKILL) }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit status.
    @discardableResult
    public func terminate(grace: Duration = .seconds(10)) async -> Int32? {
        signal(SIGTERM)
        if await !waitForExit(timeout: grace) {
            kill()
            _ = await waitForExit(timeout: .seconds(5))
        }
        return exitStatus
    }

    /// Like `waitForExit`, for places that cannot await (an atexit handler).
    public func waitForExitBlocking(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if reap() { return true }
            usleep(20_000)
        }
        return reap()
    }

    /// The exit status once the process exits (128 + the signal's number when a signal ended it); past `timeout`,
    /// kills it and returns nil, so that a child that hangs fails its test instead of holding up the run.
    public func exitStatus(killingAfter timeout: Duration) async -> Int32? {
        guard await waitForExit(timeout: timeout) else {
            kill()
            _ = await waitForExit(timeout: .seconds(5))
            return nil
        }
        return exitStatus
    }

    /// True once the process has exited (and is reaped); false if `timeout` passed first.
    public func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if reap() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return reap()
    }
}

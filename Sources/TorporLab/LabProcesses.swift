import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starting the lab's daemons detached, and recognising them later by pid.
enum LabProcesses {
    /// glibc's POSIX_SPAWN_SETSID, which Swift's Glibc module does not import (it needs _GNU_SOURCE).
    private static let spawnSetsid: Int32 = 0x80

    /// Starts `argv` in a new session (so it outlives the CLI and its terminal), stdin from /dev/null, stdout and
    /// stderr appended to `log`, no other descriptor of ours. Returns the pid.
    static func spawnDetached(_ argv: [String], log: String) throws -> pid_t {
        try spawn(argv, stdout: log, stderr: nil, append: true, newSession: true)
    }

    /// Starts `argv` (argv[0] a path) with stdin from /dev/null, stdout to the file `stdout` and stderr to the file
    /// `stderr` (nil: the same file), appended or truncated, no other descriptor of ours, default signal handling.
    /// In a new session when `newSession`; otherwise in our process group, so a Ctrl-C reaches it too. Our
    /// environment with `environment` over it. Returns the pid; the caller reaps it.
    static func spawn(
        _ argv: [String],
        stdout: String,
        stderr: String?,
        append: Bool,
        newSession: Bool,
        environment: [String: String] = [:]
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, flags, 0o644)
        if let stderr {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, flags, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if let closeFrom = addClosefrom { _ = closeFrom(&actions, 3) }

        // Default signal dispositions and an empty mask: the CLI's own may not suit a daemon.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var spawnFlags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newSession { spawnFlags |= spawnSetsid }
        posix_spawnattr_setflags(&attributes, Int16(spawnFlags))

        let cArguments = argv.map { strdup($0) } + [nil]
        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { throw LabError("cannot start \(argv[0]): \(String(cString: strerror(result)))") }
        return child
    }

    /// True while `process` runs: the pid exists, is not a zombie, runs the recorded executable with the recorded
    /// configuration file. A pid reused by anything else counts as not running.
    static func isRunning(_ process: LabState.Process) -> Bool {
        guard process.pid > 0, let exe = executable(of: process.pid) else { return false }
        guard exe == process.executable else { return false }
        return commandLine(of: process.pid).contains(process.config)
    }

    /// `process` with the pid of whatever now runs its executable with its configuration (an agent its BMC
    /// restarted), or unchanged when nothing does.
    static func located(_ process: LabState.Process) -> LabState.Process {
        guard !isRunning(process) else { return process }
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        for pid in pids {
            var candidate = process
            candidate.pid = pid
            if isRunning(candidate) { return candidate }
        }
        return process
    }

    /// /proc/PID/exe without the " (deleted)" the kernel adds once the binary has been rebuilt.
    static func executable(of pid: Int32) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") else {
            return nil
        }
        let deleted = " (deleted)"
        return target.hasSuffix(deleted) ? String(target.dropLast(deleted.count)) : target
    }

    static func commandLine(of pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sends `signal` to each process still running as recorded.
    static func signal(_ signal: Int32, _ processes: [LabState.Process]) {
        for process in processes where isRunning(process) { _ = kill(process.pid, signal) }
    }

    /// Waits until none of `processes` runs; returns those still running at the deadline.
    static func waitForExit(_ processes: [LabState.Process], timeout: Duration) async -> [LabState.Process] {
        let deadline = ContinuousClock.now + timeout
        var running = processes.filter(isRunning)
        while !running.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            running = running.filter(isRunning)
        }
        return running
    }

    /// A daemon binary: next to the running torpor-lab (SwiftPM and packages install them together), else on PATH.
    static func binary(_ name: String) throws -> String {
        var directories: [String] = []
        if let exe = executable(of: getpid()) {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        directories += path.split(separator: ":").map(String.init)
        for directory in directories {
            let candidate = URL(fileURLWithPath: "\(directory)/\(name)").resolvingSymlinksInPath().path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LabError("\(name) not found next to torpor-lab or on PATH")
    }

    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's posix_spawn_file_actions_addclosefrom_np, looked up at run time (not imported by Swift's Glibc).
    private static let addClosefrom: AddClosefrom? = {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(pointer, to: AddClosefrom.self)
    }()
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab up --libvirt kvm`: one private libvirtd with KVM per agent, each in its own mount and UTS namespace
/// and in its host's network namespace on the lab's bridge (so that migrations between hosts really cross a
/// network), started and stopped by scripts/lab-libvirtd (which keeps each daemon's state in its BASE directory).
enum LabKVM {
    /// Names the lab-libvirtd script to use, overriding the search next to the torpor executable.
    static let scriptVariable = "TORPOR_LAB_LIBVIRTD"
    /// Where the script sits in a source tree, looked for in the directories above the torpor executable.
    static let scriptPath = "scripts/lab-libvirtd"
    static let kvmDevice = "/dev/kvm"
    /// sockaddr_un.sun_path holds 108 bytes, the terminating NUL included.
    static let maximumSocketPath = 107

    /// Why the lab cannot run KVM guests here, checked before anything is started: /dev/kvm must open read-write
    /// and the script needs root (it mounts, creates network namespaces and starts libvirtd).
    static func preflight() throws(LabError) -> String {
        let fd = open(kvmDevice, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw LabError("--libvirt kvm cannot open \(kvmDevice) read-write: \(reason)")
        }
        close(fd)
        guard geteuid() == 0 else {
            throw LabError(
                "--libvirt kvm must run as root: \(scriptPath) mounts, creates network namespaces and starts libvirtd"
            )
        }
        return try locateScript()
    }

    /// scripts/lab-libvirtd: $TORPOR_LAB_LIBVIRTD if set, else the first DIR/scripts/lab-libvirtd walking up from
    /// the directory of the running torpor (a build in .build/debug finds the source tree's copy).
    static func locateScript() throws(LabError) -> String {
        if let path = ProcessInfo.processInfo.environment[scriptVariable], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw LabError("\(scriptVariable)=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path).standardizedFileURL.path
        }
        var looked: [String] = []
        if let executable = LabProcesses.executable(of: getpid()) {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent().standardizedFileURL
            while true {
                let candidate = directory.appendingPathComponent(scriptPath).path
                looked.append(candidate)
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                let parent = directory.deletingLastPathComponent().standardizedFileURL
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        let places = looked.isEmpty ? "" : " (looked for \(looked.joined(separator: ", ")))"
        throw LabError(
            "\(scriptPath) not found: set \(scriptVariable) to its path or run a torpor built inside the source "
                + "tree\(places)"
        )
    }

    /// The daemon of agent `hostId`, its state in `base` (created here so that its real path, which the script
    /// puts in the URI, is known), run in network namespace `namespace` where it listens on TCP at `address`.
    static func daemon(
        hostId: String,
        base: URL,
        script: String,
        namespace: String,
        address: String
    ) throws(LabError) -> LabState.LibvirtDaemon {
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        } catch {
            throw LabError("cannot create \(base.path): \(error.localizedDescription)")
        }
        let resolved = base.resolvingSymlinksInPath().path
        let socket = "\(resolved)/run/libvirt-sock"
        guard socket.utf8.count <= maximumSocketPath else {
            throw LabError(
                "libvirtd's socket \(socket) would be longer than \(maximumSocketPath) bytes; use a shorter --dir"
            )
        }
        return LabState.LibvirtDaemon(
            hostId: hostId,
            base: resolved,
            uri: "qemu:///system?socket=\(socket)",
            script: script,
            namespace: namespace,
            address: address
        )
    }

    /// Starts every daemon at once (a cold start takes ~9 s), reporting progress on stderr. Returns them with the
    /// URIs the script printed; throws naming the first that failed, with the end of the script's output.
    static func start(_ daemons: [LabState.LibvirtDaemon]) async throws(LabError) -> [LabState.LibvirtDaemon] {
        let results = await withTaskGroup(of: (Int, Result<String, LabError>).self) { group in
            for (index, daemon) in daemons.enumerated() {
                group.addTask {
                    progress("starting libvirtd for \(daemon.hostId) …")
                    let clock = ContinuousClock()
                    let started = clock.now
                    let result = await run(daemon, "start", [daemon.hostId], timeout: .seconds(150))
                    if case .success(let output) = result {
                        let seconds = started.duration(to: clock.now).seconds
                        progress("libvirtd for \(daemon.hostId) up in \(seconds) s: \(output)")
                    }
                    return (index, result)
                }
            }
            var results: [Int: Result<String, LabError>] = [:]
            for await (index, result) in group { results[index] = result }
            return results
        }
        var started = daemons
        for index in daemons.indices {
            switch results[index] {
            case .success(let output):
                let uri = output.split(separator: "\n").last.map(String.init) ?? ""
                guard uri.hasPrefix("qemu") else {
                    throw LabError("\(daemons[index].script) start printed no libvirt URI for \(daemons[index].hostId)")
                }
                started[index].uri = uri
            case .failure(let error):
                throw error
            case nil:
                throw LabError("libvirtd for \(daemons[index].hostId) was not started")
            }
        }
        return started
    }

    /// Stops every daemon at once (the script destroys its guests, stops libvirtd and every QEMU in its namespace,
    /// and deletes its network namespace). Returns the failures, each naming its daemon.
    static func stop(_ daemons: [LabState.LibvirtDaemon]) async -> [LabError] {
        await withTaskGroup(of: LabError?.self) { group in
            for daemon in daemons {
                group.addTask {
                    progress("stopping libvirtd for \(daemon.hostId) …")
                    if case .failure(let error) = await run(daemon, "stop", [], timeout: .seconds(120)) {
                        return error
                    }
                    return nil
                }
            }
            var failures: [LabError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures.sorted { $0.description < $1.description }
        }
    }

    /// The daemon's pid while it runs, found the way the script finds it: BASE/lab.pid or BASE/libvirtd.pid names
    /// a libvirtd whose /etc/libvirt is BASE/etc (so a recycled pid is never taken for it).
    static func pid(of daemon: LabState.LibvirtDaemon) -> Int32? {
        var etc = stat()
        guard stat("\(daemon.base)/etc", &etc) == 0 else { return nil }
        for file in ["lab.pid", "libvirtd.pid"] {
            guard let data = FileManager.default.contents(atPath: "\(daemon.base)/\(file)"),
                let pid = Int32(String(decoding: data, as: UTF8.self).filter(\.isNumber)), pid > 0
            else { continue }
            let comm = FileManager.default.contents(atPath: "/proc/\(pid)/comm").map {
                String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var seen = stat()
            guard comm == "libvirtd", stat("/proc/\(pid)/root/etc/libvirt", &seen) == 0 else { continue }
            if seen.st_dev == etc.st_dev && seen.st_ino == etc.st_ino { return pid }
        }
        return nil
    }

    /// Runs `script COMMAND BASE ARGUMENTS…` in our process group, its output in BASE/lab-libvirtd-COMMAND.{out,err}.
    /// Its standard output on success; on failure an error with the end of what it wrote to stderr.
    private static func run(
        _ daemon: LabState.LibvirtDaemon,
        _ command: String,
        _ arguments: [String],
        timeout: Duration
    ) async -> Result<String, LabError> {
        // The script that started the daemon; should it have gone, the one found now.
        var located = daemon.script
        if !FileManager.default.isExecutableFile(atPath: located) {
            do {
                located = try locateScript()
            } catch {
                return .failure(LabError("cannot \(command) libvirtd for \(daemon.hostId): \(error.description)"))
            }
        }
        try? FileManager.default.createDirectory(atPath: daemon.base, withIntermediateDirectories: true)
        let stdout = "\(daemon.base)/lab-libvirtd-\(command).out"
        let stderr = "\(daemon.base)/lab-libvirtd-\(command).err"
        let argv = [located, command, daemon.base] + arguments
        let pid: pid_t
        do {
            pid = try LabProcesses.spawn(
                argv,
                stdout: stdout,
                stderr: stderr,
                append: false,
                newSession: false,
                environment: environment(of: daemon)
            )
        } catch {
            return .failure(LabError("cannot \(command) libvirtd for \(daemon.hostId): \(error)"))
        }
        let status = await waitForExit(pid, timeout: timeout)
        let output = read(stdout).trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else {
            let errors = read(stderr).split(separator: "\n").suffix(15).joined(separator: "\n")
            let how = status.map { "exited with status \($0)" } ?? "did not finish within \(timeout) and was killed"
            return .failure(
                LabError(
                    "`\(argv.joined(separator: " "))` \(how) (libvirtd logs in \(daemon.base)/log)"
                        + (errors.isEmpty ? "" : ":\n\(errors)")
                )
            )
        }
        return .success(output)
    }

    /// What scripts/lab-libvirtd start reads: the daemon's network namespace and TCP address (none in lab.json files
    /// from before, whose daemons had private namespaces).
    static func environment(of daemon: LabState.LibvirtDaemon) -> [String: String] {
        var environment: [String: String] = [:]
        if let namespace = daemon.namespace { environment["LAB_LIBVIRTD_NETNS"] = namespace }
        if let address = daemon.address { environment["LAB_LIBVIRTD_TCP"] = address }
        return environment
    }

    /// Polls for the child's exit; nil when `timeout` passed first (the child is then killed and reaped).
    private static func waitForExit(_ pid: pid_t, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if result < 0 && errno != EINTR { return -1 }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }
}

extension Duration {
    /// Whole and tenth seconds, "9.3".
    fileprivate var seconds: String {
        let (whole, attoseconds) = components
        return "\(whole).\(attoseconds / 100_000_000_000_000_000)"
    }
}

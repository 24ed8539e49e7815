import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end and collects what it printed. Spawned with posix_spawn, not Foundation's `Process`:
/// on this toolchain `Process.run()` reads past a buffer while it lists `/proc/self/fd`, and a test process with
/// a thousand descriptors open crashed there (swift-corelibs-foundation#5472, fixed after Swift 6.3.1).
public enum ChildProcess {
    /// Blocks the calling thread: call it from a thread of its own (`run`) when the cooperative pool is busy.
    /// Returns the exit status (the signal's number when a signal ended it, as `Process` did) and stdout and
    /// stderr together. Standard input is /dev/null; no other descriptor of this process is passed on.
    public static func runBlocking(
        _ executable: String,
        _ arguments: [String]
    ) throws -> (status: Int32, output: String) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        // Not left to children spawned meanwhile by other tests: they would hold the pipe open past our child.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        if let closeFrom = SpawnExtensions.addClosefrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        SpawnExtensions.initWithDefaultSignals(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        let cArguments = ([executable] + arguments).map { strdup($0) } + [nil]
        let cEnvironment = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        close(writeEnd)
        guard spawned == 0 else {
            throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(spawned)))")
        }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output.append(contentsOf: chunk[..<count])
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 {
            guard errno == EINTR else {
                throw SpawnError(description: "waitpid \(executable): \(String(cString: strerror(errno)))")
            }
        }
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : signal, String(decoding: output, as: UTF8.self))
    }

    /// The same on a thread of its own, never blocking the cooperative pool.
    public static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String)
    {
        try await OwnThread.run { try runBlocking(executable, arguments) }
    }
}

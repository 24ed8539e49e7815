import Foundation

/// Runs a program to its end and collects what it printed.
public enum ChildProcess {
    /// Blocks the calling thread: call it from a thread of its own (`run`) when the cooperative pool is busy.
    /// Returns the exit status and stdout and stderr together.
    public static func runBlocking(
        _ executable: String,
        _ arguments: [String]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// The same on a thread of its own, never blocking the cooperative pool.
    public static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String)
    {
        try await OwnThread.run { try runBlocking(executable, arguments) }
    }
}

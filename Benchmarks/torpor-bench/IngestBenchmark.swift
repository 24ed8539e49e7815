import Foundation
import IngestBench

/// `torpor-bench ingest [--agents "1000 5000 10000"] [--seconds S] [--plaintext-only] [--grpc PATH]
/// [--group-manager PATH] [--no-coalescing]`.
func runIngestBenchmark() {
    let options: IngestDriver.Options
    do {
        options = try IngestDriver.Options(arguments: Array(CommandLine.arguments.dropFirst(2)))
    } catch {
        FileHandle.standardError.write(Data("ingest: \(error)\n".utf8))
        exit(64)
    }
    // This very binary serves as the Wire server and agents (its ingest-server and ingest-agents commands).
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
    // Every server coalesces wake-ups as the manager does, or none does.
    let serverOptions = options.coalescing ? [] : ["--no-coalescing"]
    var services = [
        IngestDriver.Service(
            name: "Wire",
            executable: executable,
            serverCommand: [executable, "ingest-server"] + serverOptions
        )
    ]
    if let grpc = options.grpcExecutable {
        services.append(
            IngestDriver.Service(name: "gRPC", executable: grpc, serverCommand: [grpc, "ingest-server"] + serverOptions)
        )
    }
    if let manager = options.managerExecutable {
        // A real group-manager process behind a real leader, fed by the same simulated Wire agents.
        services.append(
            IngestDriver.Service(
                name: "GM",
                executable: executable,
                serverCommand: [executable, "ingest-group-manager", "--manager", manager] + serverOptions,
                agentArguments: ["--inventory"],
                settles: true
            )
        )
    }
    do {
        try IngestDriver(options: options, services: services).run()
    } catch {
        FileHandle.standardError.write(Data("ingest: \(error)\n".utf8))
        exit(1)
    }
}

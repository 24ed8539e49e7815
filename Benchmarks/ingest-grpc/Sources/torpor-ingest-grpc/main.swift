import Foundation
import IngestGRPC

// bench/run ingest --grpc: the same ingest-server / ingest-agents commands as torpor-bench's Wire ones.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "ingest-server":
    try await GRPCIngestServer.main(arguments: Array(arguments.dropFirst()))
case "ingest-agents":
    try await GRPCSimulatedAgents.main(arguments: Array(arguments.dropFirst()))
default:
    FileHandle.standardError.write(
        Data(
            """
            usage: torpor-ingest-grpc ingest-server [--tls DIR]
                   torpor-ingest-grpc ingest-agents --port P --agents N [--tls DIR]
            (started by bench/run ingest --grpc; see docs/manager.md "Ingest capacity")

            """.utf8
        )
    )
    exit(64)
}

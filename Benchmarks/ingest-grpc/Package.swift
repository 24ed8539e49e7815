// swift-tools-version:6.1
// The gRPC side of `bench/run ingest` (issue 14): a program with the same `ingest-server` / `ingest-agents`
// commands as torpor-bench's Wire ones, over grpc-swift 2. Nested on purpose: the root package and CI never
// build gRPC. bench/run ingest --grpc builds it (release) and measures it beside Wire.
import PackageDescription

let package = Package(
    name: "ingest-grpc",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named: a path package is otherwise known by its folder's name (main, a worktree's name…).
        .package(name: "torpor", path: "../.."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        // The service (generated from Protos/ingest.proto by ./generate, committed), its server and its agents.
        .target(
            name: "IngestGRPC",
            dependencies: [
                .product(name: "IngestBench", package: "torpor"),
                .product(name: "Wire", package: "torpor"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "torpor-ingest-grpc",
            dependencies: ["IngestGRPC"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "IngestGRPCTests",
            dependencies: [
                "IngestGRPC", .product(name: "IngestBench", package: "torpor"), .product(name: "Wire", package: "torpor"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

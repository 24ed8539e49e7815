// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "torpor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "torpor-agent", targets: ["torpor-agent"]),
        .executable(name: "torpor-manager", targets: ["torpor-manager"]),
        .executable(name: "agentctl", targets: ["agentctl"]),
        .executable(name: "torpor", targets: ["torpor"]),
        .executable(name: "torpor-lab", targets: ["torpor-lab"]),
        .executable(name: "torpor-sim", targets: ["torpor-sim"]),
        .library(name: "Wire", targets: ["Wire"]),
        // For Benchmarks/ingest-grpc, a nested package: the same driver, report content and rings for its service.
        .library(name: "IngestBench", targets: ["IngestBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The binary protocol. Imports NIOCore only.
        .target(name: "Wire", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // NIO client and server speaking Wire; shared by daemons and CLIs.
        .target(
            name: "Transport",
            dependencies: [
                "Wire", "Trust", "ConfigFile",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The cluster CA, certificate identities (role and name), revocation lists and secret files
        // (docs/security.md): swift-certificates and swift-crypto, no NIO.
        .target(
            name: "Trust",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),

        // C libraries: each imported only by its wrapper.
        .systemLibrary(
            name: "CLibvirt",
            path: "Sources/CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .target(name: "Libvirt", dependencies: ["CLibvirt"]),
        .systemLibrary(
            name: "CSystemd",
            path: "Sources/CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(name: "Systemd", dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]),
        .systemLibrary(
            name: "CIPMIMonitoring",
            path: "Sources/CIPMIMonitoring",
            pkgConfig: "libipmimonitoring",
            providers: [.apt(["libipmimonitoring-dev"])]
        ),
        .target(name: "IPMIMonitoring", dependencies: ["CIPMIMonitoring"]),
        // rabbitmq-c (AMQP 0-9-1), wrapped for publishing Snooze's events to a broker (docs/snooze-api.md).
        .systemLibrary(
            name: "CRabbitMQ",
            path: "Sources/CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(name: "RabbitMQ", dependencies: ["CRabbitMQ"]),
        // libz, wrapped for GENI's geni_compressed (zlib streams, docs/geni.md).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Zlib", dependencies: ["CZlib"]),

        // An etcd v3 client over etcd's JSON gateway (docs/ha.md), and leader election on it as etcd's
        // concurrency.Election does it: the decisions are a pure state machine (ElectionMachine).
        .target(
            name: "Etcd",
            dependencies: [
                "Trust",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Strict YAML configuration files: unknown keys and bad values are errors naming key and line.
        .target(name: "ConfigFile", dependencies: [.product(name: "Yams", package: "Yams")]),

        // Placement: resource vectors, estimators and placement policies as pure functions of a cluster
        // snapshot, so the manager, the energy policy and a trace simulator share them. Standard library only.
        .target(name: "Placement"),

        // Fixed-capacity ring buffers of samples (agent monitoring, measured power): standard library only.
        .target(name: "Rings"),

        // Power policies, power metering and drivers: standard library only.
        .target(name: "Energy", dependencies: ["Rings"]),

        // Running configured programs without a shell, with a timeout (power actions, wake drivers).
        .target(name: "Commands", dependencies: [.product(name: "Subprocess", package: "swift-subprocess")]),

        // Prometheus exposition: a registry whose state gauges are refreshed at scrape time, and a small
        // HTTP/1.1 listener serving GET /metrics (NIOHTTP1 only, so the agent stays small).
        .target(
            name: "MetricsExport",
            dependencies: [
                "ConfigFile", "Transport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Agent",
            dependencies: [
                "Wire", "Transport", "Libvirt", "Systemd", "ConfigFile", "Commands", "Rings", "MetricsExport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Manager",
            dependencies: [
                "Wire", "Transport", "Trust", "Energy", "Placement", "ConfigFile", "Systemd", "Commands", "Rings",
                "IPMIMonitoring", "MetricsExport", "RabbitMQ", "Etcd", "Zlib",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The HTTP front (Services/HTTPFrontService.swift); the agent never links it.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The GENI aggregate's HTTPS listener (GENI/GENIListener.swift).
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // GENI credentials' signer chains (GENI/GENICredential.swift).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // agentctl's commands, behind a one-file @main.
        .target(
            name: "AgentControl",
            dependencies: [
                "Wire", "Transport", "Trust",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The user CLI's commands.
        .target(
            name: "TorporCLI",
            dependencies: [
                "Wire", "Transport", "AgentControl", "Energy", "Trust",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The lab's commands (torpor-lab): a manager and agents on one machine, with ipmi_sim BMCs, network
        // namespaces, magic-packet NICs and a power model. Uses the user CLI's host table and manager probe.
        .target(
            name: "TorporLab",
            dependencies: [
                "Wire", "Transport", "AgentControl", "Energy", "TorporCLI", "Commands", "Trust",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(
            name: "torpor-agent",
            dependencies: [
                "Agent", "MetricsExport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The release agent's resident memory (docs/agent.md, Footprint): lld packs its ~120,000 relative
            // relocations as RELR (gold cannot), so the dynamic loader no longer reads 2.8 MB of .rela.dyn at
            // every start, and nothing is exported (swiftc's -export-dynamic made a 1.8 MB dynamic symbol table
            // the loader searches). 2.5-5 MB less RSS, depending on where the code that runs lands in .text.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                        "-Xlinker", "--no-export-dynamic",
                    ],
                    .when(platforms: [.linux], configuration: .release)
                )
            ]
        ),
        .executableTarget(
            name: "torpor-manager",
            dependencies: [
                "Manager", "MetricsExport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "agentctl",
            dependencies: ["AgentControl", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "torpor",
            dependencies: ["TorporCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "torpor-lab",
            dependencies: ["TorporLab", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // The trace-driven simulator: the loop, the cluster model and the metrics, pure (standard library only)
        // so it runs the same policy code as the manager; torpor-sim reads the files and prints the results.
        .target(name: "Simulation", dependencies: ["Placement", "Energy"]),
        .executableTarget(
            name: "torpor-sim",
            dependencies: [
                "Simulation", "Placement", "Energy", "ConfigFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Benchmarks (release build): bench/run NAME.
        .executableTarget(
            name: "torpor-bench",
            dependencies: [
                "Wire", "Placement", "Simulation", "IngestBench", .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/torpor-bench"
        ),
        // bench/run ingest: simulated agents against the manager's own report ingest (AgentSession, HostRegistry).
        .target(
            name: "IngestBench",
            dependencies: [
                "Manager", "Transport", "Trust", "Wire", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/IngestBench"
        ),
        // libFuzzer target over the frame decoder: scripts/fuzz-wire.
        .executableTarget(
            name: "WireFuzz",
            dependencies: ["Wire", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/WireFuzz"
        ),
        // libFuzzer target over the daemons' message handlers: scripts/fuzz-handlers.
        .executableTarget(
            name: "HandlerFuzz",
            dependencies: [
                "Manager", "Agent", "Wire", "Libvirt",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/HandlerFuzz"
        ),

        // What more than one test target needs: waits and heavy work on threads of their own, off the cooperative
        // pool.
        .target(
            name: "TestSupport",
            dependencies: [
                "Wire", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TrustTests",
            dependencies: [
                "Trust", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport", "Wire", "Trust", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "SystemdTests",
            // Agent and Manager: their default paths, checked against what the units let them write.
            dependencies: [
                "Systemd", "Agent", "Manager", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "EnergyTests", dependencies: ["Energy", "Rings", "TestSupport"]),
        .testTarget(
            name: "IPMIMonitoringTests",
            dependencies: [
                "IPMIMonitoring", "TorporLab", "Manager", "Commands", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "TorporCLITests", dependencies: ["TorporCLI"]),
        .testTarget(name: "TorporLabTests", dependencies: ["TorporLab", "Commands"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement"]),
        .testTarget(
            name: "MetricsExportTests",
            dependencies: [
                "MetricsExport", "ConfigFile", "TestSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile"]),
        .testTarget(name: "ZlibTests", dependencies: ["Zlib"]),
        // Against a real etcd (Debian's etcd-server) each suite starts in a scratch directory.
        .testTarget(
            name: "EtcdTests",
            // Wire and Transport: the managers' standby listeners are asked who leads, as agents and torpor do.
            // Manager and MetricsExport: the state database replicated to etcd, and its metrics
            // (StateReplicationTests).
            dependencies: [
                "Etcd", "Wire", "Transport", "Manager", "MetricsExport", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs torpor-sim as a process for the bad-input cases (it must be built: swift build --build-tests does).
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Placement", "Energy", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "Wire", "Transport", "Libvirt", "AgentControl", "Commands", "Rings", "TestSupport",
                // The manager's HostRegistry, for the check that slow commands leave heartbeat expiry on time.
                "Manager",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ManagerTests",
            dependencies: [
                "Manager", "Wire", "ConfigFile", "Placement", "Commands", "TestSupport",
                // A standby's listener over TLS with a real etcd client (StandbyListenerTLSTests).
                "Transport", "Trust", "Etcd",
                // The ingest benchmark's pure parts (/proc parsing, the sustain search, a window's verdict).
                "IngestBench",
                // The test driver (test:///default) stores the domains the leader generates from images.
                "Libvirt",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

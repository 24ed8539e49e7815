import Commands
import Foundation
import Testing

@testable import TorporLab

#if canImport(Glibc)
import Glibc
#endif

/// Why the lab's network cannot be made here, or nil: it needs root and `ip`. Skipped then, unless
/// TORPOR_REQUIRE_E2E=1 (CI), which runs it to fail naming what is missing.
private let networkProblem: String? = {
    guard geteuid() == 0 else { return "network namespaces need root" }
    guard (try? LabNetwork.ipBinary()) != nil else { return "`ip` (iproute2) not found" }
    return nil
}()

private let networkRuns = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1" || networkProblem == nil

private struct MissingPrerequisite: Error, CustomStringConvertible {
    var description: String
}

/// The lab's bridge and namespaces, made and removed with the real `ip`. Base ports 41000-48999 give subnets
/// 10.160-191.x, apart from the lab tests' (ports below 40000) and scripts/lab-migration-pair's (10.200-249.x).
@Suite(
    .serialized,
    .enabled(if: networkRuns, Comment(rawValue: "SKIPPED end-to-end: \(networkProblem ?? "prerequisites present")")),
    .timeLimit(.minutes(2))
)
struct LabNetworkTests {
    static func ip(_ arguments: String...) async throws -> CommandOutcome {
        try await CommandRunner.run([try LabNetwork.ipBinary()] + arguments, timeout: .seconds(30))
    }

    static func namespaces() async throws -> Set<String> {
        Set(LabNetwork.namespaceNames(try await ip("netns", "list").standardOutput))
    }

    static func exists(link: String) async throws -> Bool { try await ip("link", "show", link).succeeded }

    /// Runs `body` with a network no one uses (its bridge does not exist), removed afterwards whatever happens.
    static func withUnusedNetwork(hosts: Int, _ body: (LabNetwork) async throws -> Void) async throws {
        if let networkProblem {
            throw MissingPrerequisite(description: "TORPOR_REQUIRE_E2E=1 but \(networkProblem)")
        }
        var port = 41000 + Int(getpid() % 7000)
        while try await exists(link: LabNetwork(basePort: port, hosts: hosts).bridge) { port += 1 }
        let network = LabNetwork(basePort: port, hosts: hosts)
        do {
            try await body(network)
        } catch {
            _ = await network.remove()
            throw error
        }
        _ = await network.remove()
    }

    @Test func createsHostsOnABridgeAndRemovesThemTwice() async throws {
        try await Self.withUnusedNetwork(hosts: 2) { (network: LabNetwork) async throws in
            try await network.create()
            #expect(try await Self.namespaces().isSuperset(of: network.namespaces))
            #expect(try await Self.exists(link: network.bridge))
            for index in 1...2 {
                let address = try await Self.ip("-n", network.namespace(ofHost: index), "addr", "show", "eth0")
                #expect(address.standardOutput.contains("inet \(network.address(ofHost: index))/24"), "\(address)")
                #expect(address.standardOutput.contains(LabNetwork.mac(ofHost: index)), "\(address)")
            }
            // host-1 reaches host-2 across the bridge (a TCP connect refused proves the path: an RST came back).
            let reach = try await CommandRunner.run(
                [
                    try LabNetwork.ipBinary(), "netns", "exec", network.namespace(ofHost: 1), "/bin/bash", "-c",
                    "exec 3<>/dev/tcp/\(network.address(ofHost: 2))/1",
                ],
                timeout: .seconds(20)
            )
            #expect(reach.standardError.contains("Connection refused"), "\(reach)")

            let failures = await network.remove()
            #expect(failures == [])
            #expect(try await Self.namespaces().isDisjoint(with: network.namespaces))
            #expect(try await !Self.exists(link: network.bridge))
            // Again: nothing left to remove is not a failure.
            #expect(await network.remove() == [])
        }
    }

    /// A lab that crashed half-way through creating its network: what exists is removed, what does not is skipped.
    @Test func removesAHalfMadeNetwork() async throws {
        try await Self.withUnusedNetwork(hosts: 3) { (network: LabNetwork) async throws in
            #expect(try await Self.ip("link", "add", network.bridge, "type", "bridge").succeeded)
            #expect(try await Self.ip("netns", "add", network.namespace(ofHost: 1)).succeeded)
            #expect(await network.remove() == [])
            #expect(try await Self.namespaces().isDisjoint(with: network.namespaces))
            #expect(try await !Self.exists(link: network.bridge))
        }
    }

    @Test func creatingOverAnExistingBridgeFailsNamingTheCommand() async throws {
        try await Self.withUnusedNetwork(hosts: 1) { (network: LabNetwork) async throws in
            #expect(try await Self.ip("link", "add", network.bridge, "type", "bridge").succeeded)
            do {
                try await network.create()
                Issue.record("created a network over an existing bridge")
            } catch {
                #expect("\(error)".contains("link add \(network.bridge) type bridge failed"), "\(error)")
            }
            #expect(await network.remove() == [])
        }
    }
}

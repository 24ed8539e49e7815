import Foundation
import Testing

@testable import Libvirt

@Suite struct LibvirtConnectionTests {
    @Test func nodeInfoComesFromTheFixture() async throws {
        let connection = try await NodeFixture.open()
        let node = try await connection.nodeInfo()
        #expect(node.cores == NodeFixture.cores)
        #expect(node.memoryKiB == NodeFixture.memoryKiB)
        #expect(node.model == NodeFixture.cpuModel)
        #expect(node.megahertz == 2400)
        #expect(node.sockets == 2)
        #expect(node.coresPerSocket == 4)
        #expect(node.threadsPerCore == 2)
        // The test driver reports the real host's name (possibly canonicalised to a longer DNS name).
        var buffer = [CChar](repeating: 0, count: 256)
        try #require(gethostname(&buffer, buffer.count) == 0)
        let shortHostname = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(node.hostname.split(separator: ".").first == shortHostname.split(separator: ".").first)
        #expect(try await connection.hostname() == node.hostname)
    }

    @Test func defaultDriverOpensWithItsBuiltInDomain() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        #expect(connection.uri == DefaultDriver.uri)
        let builtIn = try await connection.domain(named: "test")
        #expect(builtIn.name == "test")
        #expect(try await connection.nodeInfo().cores > 0)
    }

    @Test func blockingLayerMatchesAsyncLayer() async throws {
        let connection = try LibvirtConnection.openBlocking(try NodeFixture.uri())
        let blockingNode = try connection.blocking.nodeInfo()
        let asyncNode = try await connection.nodeInfo()
        #expect(blockingNode == asyncNode)
        #expect(Set(try connection.blocking.allDomains().map(\.name)) == NodeFixture.domainNames)
    }

    @Test func callsRunOnTheConnectionThreadNotTheCaller() async throws {
        let connection = try await NodeFixture.open()
        let executor = connection.executor
        #expect(!executor.isCurrentThread)
        #expect(try await executor.run { executor.isCurrentThread })
        #expect(try executor.runSync { executor.isCurrentThread })
        // The blocking layer called from inside a job runs inline instead of deadlocking.
        let names = try await executor.run { () throws(LibvirtError) in
            try connection.blocking.allDomains().map(\.name)
        }
        #expect(Set(names) == NodeFixture.domainNames)
    }

    @Test func closedConnectionRefusesCalls() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(named: "web-1")
        await connection.close()
        await connection.close()  // harmless twice

        let nodeError = await libvirtError { () async throws(LibvirtError) in try await connection.nodeInfo() }
        #expect(nodeError?.errorCode == .invalidConnection)
        #expect(nodeError?.function == "virNodeGetInfo")
        #expect(nodeError?.subject == connection.uri)

        let domainError = await libvirtError { () async throws(LibvirtError) in try await domain.info() }
        #expect(domainError?.errorCode == .invalidConnection)
        #expect(domainError?.function == "virDomainGetInfo")
    }

    @Test func droppedConnectionStopsItsThread() async throws {
        weak var weakExecutor: LibvirtExecutor?
        do {
            let connection = try await NodeFixture.open()
            weakExecutor = connection.executor
            _ = try await connection.allDomains()
        }
        // deinit queued the close and let the thread drain and exit; the thread was the last owner.
        let deadline = ContinuousClock.now + .seconds(5)
        while weakExecutor != nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(weakExecutor == nil)
    }
}

import Foundation
import Synchronization
import Testing

@testable import Libvirt

@Suite struct LibvirtCallObserverTests {
    /// The observer must be reached through the same frames on the thousandth call as on the first: a closure read
    /// out of the Mutex used to come back wrapped in two more thunks each time, so every call got slower.
    @Test func theObserverIsReachedThroughTheSameFramesOnEveryCall() throws {
        let observer = LibvirtCallObserver()
        let depths = Mutex<[Int]>([])
        observer.set { _ in depths.withLock { $0.append(Thread.callStackReturnAddresses.count) } }
        for _ in 0..<1_000 {
            _ = try observer.timed("virConnectGetHostname") { () throws(LibvirtError) in 1 }
        }
        let seen = depths.withLock { $0 }
        #expect(seen.count == 1_000)
        #expect(Set(seen).count == 1, "stack depths seen by the observer: \(Set(seen).sorted())")
    }

    /// And through a real connection: every call reported, with its function and success.
    @Test func aConnectionReportsEachCall() async throws {
        let connection = try await NodeFixture.open()
        let records = Mutex<[LibvirtCallRecord]>([])
        connection.observeCalls { record in records.withLock { $0.append(record) } }
        for _ in 0..<200 { _ = try await connection.nodeInfo() }
        let seen = records.withLock { $0 }
        #expect(seen.count == 200)
        #expect(seen.allSatisfy { $0.function == "virNodeGetInfo" && $0.succeeded })
    }
}

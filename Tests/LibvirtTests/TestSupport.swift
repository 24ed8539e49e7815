import Foundation
import Testing

@testable import Libvirt

/// The deterministic inventory in Fixtures/node.xml, and how to open it.
enum NodeFixture {
    /// `test://` + absolute path. Each open of a file URI gets private driver state, so tests do not interfere.
    static func uri() throws -> String {
        let path = try #require(Bundle.module.path(forResource: "node", ofType: "xml", inDirectory: "Fixtures"))
        return "test://" + path
    }

    static func open() async throws -> LibvirtConnection {
        try await LibvirtConnection.open(try uri())
    }

    // Values written in node.xml.
    static let cores = 16
    static let memoryKiB: UInt64 = 33_554_432
    static let cpuModel = "torpor-test-cpu"
    static let domainNames: Set = ["web-1", "db-1", "batch-1"]
    static let web1UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"
    static let web1CurrentMemoryKiB: UInt64 = 1_048_576
    static let web1MaxMemoryKiB: UInt64 = 2_097_152
    static let interfaces = ["web-1": ["tap-web1"], "db-1": ["tap-db1a", "tap-db1b"], "batch-1": ["tap-batch1"]]
    static let disks = ["web-1": ["vda", "vdb"], "db-1": ["sda"], "batch-1": ["vda"]]
}

/// `test:///default` is shared by every connection in the process: tests use their own uniquely named domains.
enum DefaultDriver {
    static let uri = "test:///default"

    static func uniqueName(_ purpose: String) -> String {
        "torpor-\(purpose)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A minimal domain the test driver accepts, with `devices` (XML) inside `<devices>` when given.
    static func domainXML(name: String, uuid: UUID = UUID(), devices: String? = nil) -> String {
        """
        <domain type='test'>
          <name>\(name)</name>
          <uuid>\(uuid.uuidString.lowercased())</uuid>
          <memory unit='KiB'>65536</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>\(devices.map { "<devices>\($0)</devices>" } ?? "")
        </domain>
        """
    }
}

    /// The first `count` events, or fewer if they do not arrive within `timeout`.
func firstEvents(
    _ count: Int,
    of events: AsyncStream<DomainLifecycleEvent>,
    timeout: Duration = .seconds(5)
) async -> [DomainLifecycleEvent] {
    await withTaskGroup(of: [DomainLifecycleEvent]?.self) { group in
        group.addTask {
            var received: [DomainLifecycleEvent] = []
            for await event in events {
                received.append(event)
                if received.count == count { break }
            }
            return received
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        var received: [DomainLifecycleEvent] = []
        // Whichever ends first cancels the other; a timed-out collector still returns what it saw.
        for await result in group {
            group.cancelAll()
            if let result { received = result }
        }
        return received
    }
}

/// Runs `operation` and returns the LibvirtError it throws; records an issue if it throws nothing else.
func libvirtError<Value>(_ operation: () async throws(LibvirtError) -> Value) async -> LibvirtError? {
    do {
        _ = try await operation()
        Issue.record("expected a LibvirtError, got success")
        return nil
    } catch {
        return error
    }
}

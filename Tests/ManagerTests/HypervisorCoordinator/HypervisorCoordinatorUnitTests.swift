import Foundation
import Testing

@testable import Manager

/// `http.hypervisor_coordinator`, the numbers behind pmid and vmid, and the disk figures read from `df`.
@Suite struct HypervisorCoordinatorUnitTests {
    @Test func offByDefaultAndEveryKeyIsRead() throws {
        #expect(!(try ManagerConfiguration.load(yaml: "", file: "manager.yaml")).http.hypervisorCoordinator.enabled)
        let yaml = """
            http:
              listen: 127.0.0.1:13001
              hypervisor_coordinator:
                enabled: true
                cluster: hc-vms
                action_wait: 30s
            """
        let coordinator = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml").http.hypervisorCoordinator
        #expect(coordinator.enabled)
        #expect(coordinator.cluster == "hc-vms")
        #expect(coordinator.actionWait == .seconds(30))
    }

    @Test(arguments: [
        (
            "http:\n  hypervisor_coordinator:\n    enabled: true\n", "http.hypervisor_coordinator.enabled",
            "needs http.listen",
        ),
        (
            "http:\n  listen: 127.0.0.1:1\n  hypervisor_coordinator:\n    cluster: 'a b'\n",
            "http.hypervisor_coordinator.cluster", "is not a valid cluster name"
        ),
        (
            "http:\n  listen: 127.0.0.1:1\n  hypervisor_coordinator:\n    action_wait: 0s\n",
            "http.hypervisor_coordinator.action_wait", "shorter than the minimum",
        ),
        (
            "http:\n  listen: 127.0.0.1:1\n  hypervisor_coordinator:\n    enable: true\n",
            "http.hypervisor_coordinator.enable", "did you mean 'enabled'",
        ),
    ])
    func badKeysAreErrorsNamingTheKey(yaml: String, key: String, problem: String) {
        #expect {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(key) && text.contains(problem) && text.contains("manager.yaml")
        }
    }

    @Test func numbersAreKeptAcrossReopeningAndNeverGivenAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-hc-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("manager.sqlite").path
        do {
            let store = try ManagerStore(path: path)
            #expect(try await store.numbers(of: .host, for: ["host-1", "host-2"]) == ["host-1": 1, "host-2": 2])
            try await store.defineVirtualCluster("vc")
            try await store.addVM(StoredVM(id: "uuid-a", name: "a", vcName: "vc", templateXML: "<domain/>"))
            try await store.addVM(StoredVM(id: "uuid-b", name: "b", vcName: "vc", templateXML: "<domain/>"))
            #expect(try await store.numbers(of: .vm, for: ["uuid-a"]) == ["uuid-a": 1])
            #expect(try await store.numbers(of: .vm, for: ["uuid-b", "uuid-a"]) == ["uuid-a": 1, "uuid-b": 2])
        }
        let store = try ManagerStore(path: path)
        #expect(try await store.numbers(of: .host, for: ["host-2", "host-3"]) == ["host-2": 2, "host-3": 3])
        #expect(try await store.id(of: .host, number: 1) == "host-1")
        #expect(try await store.id(of: .vm, number: 2) == "uuid-b")
        #expect(try await store.id(of: .vm, number: 9) == nil)
        // A deleted VM's number goes with it and is not given to the next VM.
        _ = try await store.deleteVM(id: "uuid-b")
        #expect(try await store.id(of: .vm, number: 2) == nil)
        try await store.addVM(StoredVM(id: "uuid-c", name: "c", vcName: "vc", templateXML: "<domain/>"))
        #expect(try await store.numbers(of: .vm, for: ["uuid-c"]) == ["uuid-c": 3])
    }

    @Test(arguments: [
        ("     1B-blocks        Avail\n 105089261568 52544630784\n", 105_089_261_568, 52_544_630_784),
        ("", 0, 0),
        ("size avail\nlots none\n", 0, 0),
    ] as [(String, Int64, Int64)])
    func diskSpaceIsReadFromDF(output: String, total: Int64, available: Int64) {
        let space = DiskSpace.parse(output)
        #expect(space.totalBytes == total)
        #expect(space.availableBytes == available)
    }

    @Test func diskSpaceOfAMissingDirectoryIsItsParentsFileSystem() async {
        let space = await DiskSpace.of("/tmp/torpor-hc-not-made-\(UUID())/images")
        #expect(space.totalBytes > 0)
        #expect(space.availableBytes > 0 && space.availableBytes <= space.totalBytes)
    }
}

import Foundation
import Testing

@testable import Manager

/// Flavors and images in the state database: numeric ids that survive a restart and are never given again, and
/// records a VM depends on that cannot go while it exists.
@Suite struct CatalogStoreTests {
    static func image(_ name: String) -> StoredImage {
        StoredImage(
            name: name,
            path: "/srv/images/\(name).qcow2",
            format: "qcow2",
            sizeBytes: 1 << 20,
            virtualSizeBytes: 1 << 30,
            sha256: String(repeating: "0", count: 64)
        )
    }

    @Test func idsSurviveARestartAndAreNeverReused() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        do {
            let store = try file.open()
            let small = try await store.createFlavor(
                StoredFlavor(name: "small", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 0)
            )
            let large = try await store.createFlavor(
                StoredFlavor(name: "large", virtualCPUs: 8, memoryBytes: 16 << 30, diskBytes: 1 << 40)
            )
            #expect(small.id == 1)
            #expect(large.id == 2)
            try await store.deleteFlavor(named: "large")
            #expect(
                try await store.createFlavor(
                    StoredFlavor(name: "medium", virtualCPUs: 4, memoryBytes: 4 << 30, diskBytes: 0)
                ).id == 3
            )
            #expect(try await store.addImage(Self.image("debian")).id == 1)
            #expect(try await store.addImage(Self.image("ubuntu")).id == 2)
            try await store.removeImage(named: "ubuntu")
        }
        let reopened = try file.open()
        #expect(try await reopened.flavors().map { "\($0.id ?? 0) \($0.name)" } == ["1 small", "3 medium"])
        #expect(try await reopened.flavors().first?.diskBytes == 0)
        #expect(try await reopened.addImage(Self.image("fedora")).id == 3)
        #expect(try await reopened.images().map(\.name) == ["debian", "fedora"])
        #expect(try await reopened.image(named: "debian")?.path == "/srv/images/debian.qcow2")
    }

    @Test func duplicatesAndUnknownsAreNamed() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        _ = try await store.createFlavor(
            StoredFlavor(name: "small", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 0)
        )
        await #expect(throws: ManagerStoreError.duplicateFlavor("small")) {
            _ = try await store.createFlavor(
                StoredFlavor(name: "small", virtualCPUs: 2, memoryBytes: 1 << 30, diskBytes: 0)
            )
        }
        await #expect(throws: ManagerStoreError.unknownFlavor("tiny")) { try await store.deleteFlavor(named: "tiny") }
        _ = try await store.addImage(Self.image("debian"))
        await #expect(throws: ManagerStoreError.duplicateImage("debian")) {
            _ = try await store.addImage(Self.image("debian"))
        }
        var samePath = Self.image("other")
        samePath.path = "/srv/images/debian.qcow2"
        await #expect(throws: ManagerStoreError.duplicateImagePath("/srv/images/debian.qcow2", image: "debian")) {
            _ = try await store.addImage(samePath)
        }
        await #expect(throws: ManagerStoreError.unknownImage("ubuntu")) { try await store.removeImage(named: "ubuntu") }
    }

    /// A VM's disk record holds its image and flavor; deleting the VM hands the record back for its files.
    @Test func aVMsImageAndFlavorStayUntilTheVMGoes() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        let flavor = try await store.createFlavor(
            StoredFlavor(name: "small", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 0)
        )
        let image = try await store.addImage(Self.image("debian"))
        try await store.defineVirtualCluster("web")
        let vm = ManagerStoreTests.vm("web-1", in: "web")
        let disk = StoredVMDisk(
            vmID: vm.id,
            imageID: try #require(image.id),
            flavorID: try #require(flavor.id),
            overlayPath: "/srv/vms/web-1.qcow2",
            seedPath: "/srv/vms/web-1-seed.iso",
            sshKeys: ["ssh-ed25519 AAAA a@b", "ssh-rsa BBBB"]
        )
        try await store.addVMs([vm], leases: [], disks: [disk])
        #expect(try await store.vmDisk(vmID: vm.id)?.sshKeyList == ["ssh-ed25519 AAAA a@b", "ssh-rsa BBBB"])
        #expect(try await store.imageUse() == [try #require(image.id): 1])
        await #expect(throws: ManagerStoreError.imageInUse("debian", vms: ["web-1"])) {
            try await store.removeImage(named: "debian")
        }
        await #expect(throws: ManagerStoreError.flavorInUse("small", vms: ["web-1"])) {
            try await store.deleteFlavor(named: "small")
        }
        #expect(try await store.deleteVM(id: vm.id) == disk)
        #expect(try await store.vmDisks().isEmpty)
        try await store.removeImage(named: "debian")
        try await store.deleteFlavor(named: "small")
    }

    /// The foreign keys hold even when a caller skips the checks: a disk row for an image that is gone is refused.
    @Test func aDiskOfAnUnknownImageIsRefused() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("web")
        let vm = ManagerStoreTests.vm("web-1", in: "web")
        let disk = StoredVMDisk(vmID: vm.id, imageID: 41, flavorID: 42, overlayPath: "/o", seedPath: "")
        await #expect(throws: ManagerStoreError.self) { try await store.addVMs([vm], leases: [], disks: [disk]) }
        #expect(try await store.vm(id: vm.id) == nil)
    }
}

import Foundation
import Libvirt
import Logging
import Testing
import Wire

@testable import Manager

/// Flavors, images and VMs made from them through the group leader, with the real qemu-img and genisoimage, and the
/// domains it generates defined in libvirt's test driver (a private node).
@Suite(.enabled(if: ImagePrograms.runs, ImagePrograms.reason), .timeLimit(.minutes(5)))
struct GroupLeaderImageTests {
    /// A leader whose VMs' files go to `scratch`, and generated domains are of libvirt's test type.
    static func withLeader(
        _ scratch: ImageScratch,
        configure: (inout ImagesConfiguration) -> Void = { _ in },
        _ body: (GroupLeader, ManagerStore) async throws -> Void
    ) async throws {
        var configuration = ManagerConfiguration()
        configuration.images.directory = scratch.path("vms")
        configuration.images.domainType = "test"
        configure(&configuration.images)
        try await GroupLeaderTests.withLeader(FakeGroupManager(hosts: ["h1"]), configuration: configuration, body)
    }

    static func catalog(_ reply: WireMessage) throws -> CatalogReply {
        guard case .catalogReply(let catalog) = reply else { throw GroupLeaderTests.Refused(reply: "\(reply)") }
        return catalog
    }

    static func refusal(_ reply: WireMessage) -> CommandResult? {
        guard case .commandResult(let result) = reply, !result.isOK else { return nil }
        return result
    }

    static let small = ClusterRequest.FlavorSpec(name: "small", virtualCPUs: 2, memoryBytes: 512 << 20, diskBytes: 0)

    @Test func twoVMsFromOneImageGetTheirOwnOverlaysSeedsAndMACs() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try await scratch.qcow2("debian.qcow2", megabytes: 32)
        let baseSum = try await ImageScratch.sha256(base)
        try await Self.withLeader(scratch) { leader, store in
            let flavor = try Self.catalog(await leader.handle(.flavorCreate(Self.small))).flavors
            #expect(flavor.map(\.name) == ["small"])
            let image = try #require(
                try Self.catalog(await leader.handle(.imageAdd(name: "debian", path: base))).images.first
            )
            #expect(image.format == "qcow2")
            #expect(image.virtualSizeBytes == 32 << 20)
            #expect(image.sha256 == baseSum)
            _ = await leader.handle(.define(cluster: "web"))
            let request = ClusterRequest.ImageVMs(
                flavor: "small",
                image: "debian",
                names: ["web-1", "web-2"],
                sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@lab"]
            )
            let added = await leader.handle(.addFromImage(cluster: "web", request))
            guard case .taskStatus(let status) = added, status.state == .succeeded else {
                Issue.record("add from image failed: \(added)")
                return
            }
            #expect(status.outcomes.map(\.vm) == ["web-1", "web-2"])

            let vms = try await store.vms(inCluster: "web")
            let disks = try await store.vmDisks()
            #expect(vms.count == 2)
            #expect(Set(disks.map(\.overlayPath)).count == 2)
            #expect(vms.allSatisfy { $0.virtualCPUs == 2 && $0.memoryBytes == 512 << 20 })
            let connection = try await LibvirtConnection.open(try scratch.privateNodeURI())
            var macs: Set<String> = []
            for vm in vms {
                let disk = try #require(disks.first { $0.vmID == vm.id })
                let lease = try #require(try await store.lease(vmID: vm.id))
                // The overlay is the VM's own, backed by the image, never the image itself.
                let info = try await ImageScratch.info(disk.overlayPath)
                #expect(info["backing-filename"] as? String == base)
                #expect(disk.overlayPath != base)
                // Its seed carries its name, address and key.
                let files = try await ImageScratch.isoFiles(disk.seedPath)
                #expect(files["meta-data"]?.contains("local-hostname: \"\(vm.name)\"") == true)
                #expect(files["network-config"]?.contains("\"\(lease.ip)/24\"") == true)
                #expect(files["network-config"]?.contains("macaddress: \"\(lease.mac)\"") == true)
                #expect(files["user-data"]?.contains("alice@lab") == true)
                // libvirt takes the generated domain and keeps the overlay, the CD-ROM and the MAC.
                let domain = try await connection.defineDomain(xml: vm.templateXML)
                let stored = try await domain.xmlDescription()
                try? await domain.undefine()
                #expect(stored.contains("<source file='\(disk.overlayPath)'/>"), "\(stored)")
                #expect(stored.contains("device='cdrom'"), "\(stored)")
                #expect(stored.contains("<source file='\(disk.seedPath)'/>"), "\(stored)")
                #expect(stored.contains("<mac address='\(lease.mac)'/>"), "\(stored)")
                #expect(stored.contains("<readonly/>"), "\(stored)")
                macs.insert(lease.mac)
            }
            await connection.close()
            #expect(macs.count == 2)
            // vm info and vc info say where each VM comes from.
            guard case .clusterReply(let one) = await leader.handle(.vmInfo(vm: "web-1")) else {
                Issue.record("vm info failed")
                return
            }
            let origin = try #require(one.clusters.first?.vms.first?.origin)
            #expect(origin.flavor == "small")
            #expect(origin.image == "debian")
            #expect(origin.overlayPath == disks.first { $0.vmID == vms.first { $0.name == "web-1" }?.id }?.overlayPath)
            guard case .clusterReply(let all) = await leader.handle(.info(cluster: "web")) else {
                Issue.record("vc info failed")
                return
            }
            #expect(all.clusters.first?.vms.compactMap(\.origin?.image) == ["debian", "debian"])
            let listed = try Self.catalog(await leader.handle(.imageList))
            #expect(listed.images.first?.vmCount == 2)

            // In use: neither the image nor the flavor can go.
            let imageRefusal = try #require(Self.refusal(await leader.handle(.imageRemove(name: "debian"))))
            #expect(imageRefusal.code == .conflict)
            #expect(imageRefusal.message.contains("web-1, web-2"))
            let flavorRefusal = try #require(Self.refusal(await leader.handle(.flavorDelete(name: "small"))))
            #expect(flavorRefusal.code == .conflict)

            // Removing a VM removes its files; the other VM's stay.
            let removed = await leader.handle(.remove(cluster: "web", vm: "web-1"))
            guard case .taskStatus(let removal) = removed else {
                Issue.record("remove refused: \(removed)")
                return
            }
            #expect(try await GroupLeaderTests.finished(leader, removal.id).state == .succeeded)
            let first = try #require(disks.first { $0.vmID == vms.first { $0.name == "web-1" }?.id })
            let second = try #require(disks.first { $0.vmID == vms.first { $0.name == "web-2" }?.id })
            #expect(!FileManager.default.fileExists(atPath: first.overlayPath))
            #expect(!FileManager.default.fileExists(atPath: first.seedPath))
            #expect(FileManager.default.fileExists(atPath: second.overlayPath))

            // Undefining the cluster removes the rest; then the image and flavor can go.
            let undefined = await leader.handle(.undefine(cluster: "web"))
            guard case .taskStatus(let undefine) = undefined else {
                Issue.record("undefine refused: \(undefined)")
                return
            }
            #expect(try await GroupLeaderTests.finished(leader, undefine.id).state == .succeeded)
            #expect(!FileManager.default.fileExists(atPath: second.overlayPath))
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("vms")).isEmpty)
            #expect(Self.refusal(await leader.handle(.imageRemove(name: "debian"))) == nil)
            #expect(Self.refusal(await leader.handle(.flavorDelete(name: "small"))) == nil)
            #expect(try Self.catalog(await leader.handle(.flavorList)) == CatalogReply())
        }
        // The base was read, never written.
        #expect(try await ImageScratch.sha256(base) == baseSum)
    }

    @Test func badCatalogRequestsAreRefusedNamingTheProblem() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try await scratch.qcow2("debian.qcow2", megabytes: 32)
        try await Self.withLeader(scratch) { leader, _ in
            func refused(_ request: ClusterRequest) async -> CommandResult? {
                Self.refusal(await leader.handle(request))
            }
            #expect(
                await refused(
                    .flavorCreate(.init(name: "bad name", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 0))
                )?.code == .invalidArgument
            )
            #expect(
                await refused(.flavorCreate(.init(name: "none", virtualCPUs: 0, memoryBytes: 1 << 30, diskBytes: 0)))?
                    .message.contains("vCPUs") == true
            )
            #expect(
                await refused(.flavorCreate(.init(name: "tiny", virtualCPUs: 1, memoryBytes: 1024, diskBytes: 0)))?
                    .message.contains("memory") == true
            )
            _ = await leader.handle(.flavorCreate(Self.small))
            #expect(await refused(.flavorCreate(Self.small))?.message == "a flavor named 'small' already exists")
            #expect(await refused(.flavorDelete(name: "large"))?.code == .notFound)

            let missing = scratch.path("missing.qcow2")
            let gone = try #require(await refused(.imageAdd(name: "gone", path: missing)))
            #expect(gone.code == .invalidArgument)
            #expect(gone.message == "image gone: image file \(missing) does not exist")
            let text = scratch.path("notes.txt")
            try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
            #expect(
                await refused(.imageAdd(name: "notes", path: text))?.message.contains("is not a raw disk image") == true
            )
            _ = try Self.catalog(await leader.handle(.imageAdd(name: "debian", path: base)))
            #expect(
                await refused(.imageAdd(name: "debian", path: base))?.message
                    == "an image named 'debian' already exists"
            )
            #expect(
                await refused(.imageAdd(name: "again", path: base))?.message
                    == "\(base) is already in the catalog as image 'debian'"
            )
            #expect(await refused(.imageRemove(name: "ubuntu"))?.message == "no image named 'ubuntu'")

            func add(
                _ flavor: String,
                _ image: String,
                cluster: String = "web",
                names: [String] = ["web-1"]
            ) async -> CommandResult? {
                await refused(.addFromImage(cluster: cluster, .init(flavor: flavor, image: image, names: names)))
            }
            #expect(await add("small", "debian", cluster: "nope")?.message == "no virtual cluster named 'nope'")
            _ = await leader.handle(.define(cluster: "web"))
            #expect(await add("large", "debian")?.message == "no flavor named 'large'")
            #expect(await add("small", "ubuntu")?.message == "no image named 'ubuntu'")
            #expect(await add("small", "debian", names: ["a", "a"])?.code == .conflict)
            #expect(await add("small", "debian", names: [])?.message == "no VM to add")
            _ = await leader.handle(
                .flavorCreate(.init(name: "cramped", virtualCPUs: 1, memoryBytes: 1 << 30, diskBytes: 1 << 20))
            )
            #expect(
                await add("cramped", "debian")?.message.contains("smaller than image debian's virtual size") == true
            )
            // Nothing refused left a file behind.
            let made = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("vms"))) ?? []
            #expect(made.isEmpty)
        }
    }

    /// Six VMs are made four at a time; when a program fails, every file made for the request is removed, nothing
    /// is stored and the addresses go back to the pool.
    @Test func aFailingProgramLeavesNothingBehind() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try scratch.raw("disk.img")
        try await Self.withLeader(scratch, configure: { $0.isoBuilder = "false" }) { leader, store in
            _ = await leader.handle(.flavorCreate(Self.small))
            _ = try Self.catalog(await leader.handle(.imageAdd(name: "disk", path: base)))
            _ = await leader.handle(.define(cluster: "web"))
            let names = (1...6).map { "web-\($0)" }
            let refusal = try #require(
                Self.refusal(
                    await leader.handle(
                        .addFromImage(cluster: "web", .init(flavor: "small", image: "disk", names: names))
                    )
                )
            )
            #expect(refusal.code == .internalError)
            #expect(refusal.message.contains("false failed on"), "\(refusal.message)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("vms")).isEmpty)
            #expect(try await store.vms(inCluster: "web").isEmpty)
            #expect(try await store.leases().isEmpty)
            #expect(await leader.addresses.leaseCount == 0)
        }
    }

    @Test func manyVMsAtOnceEachGetTheirOwnFiles() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try scratch.raw("disk.img")
        try await Self.withLeader(scratch) { leader, store in
            _ = await leader.handle(.flavorCreate(Self.small))
            _ = try Self.catalog(await leader.handle(.imageAdd(name: "disk", path: base)))
            _ = await leader.handle(.define(cluster: "web"))
            let names = (1...9).map { "web-\($0)" }
            let added = await leader.handle(
                .addFromImage(cluster: "web", .init(flavor: "small", image: "disk", names: names))
            )
            guard case .taskStatus(let status) = added, status.state == .succeeded else {
                Issue.record("add failed: \(added)")
                return
            }
            let disks = try await store.vmDisks()
            #expect(disks.count == 9)
            #expect(Set(disks.map(\.overlayPath)).count == 9)
            #expect(Set(disks.map(\.seedPath)).count == 9)
            for disk in disks {
                #expect(FileManager.default.fileExists(atPath: disk.overlayPath))
                #expect(FileManager.default.fileExists(atPath: disk.seedPath))
            }
            #expect(Set(try await store.leases().map(\.mac)).count == 9)
        }
    }

    /// With `images.roots`, a file elsewhere is refused, however the path is spelled; one inside is recorded once.
    @Test func imagesMustLieUnderTheRoots() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path("images"), withIntermediateDirectories: true)
        let inside = try scratch.raw("images/disk.img")
        let outside = try scratch.raw("disk.img")
        try FileManager.default.createSymbolicLink(
            atPath: scratch.path("images/sneaky.img"),
            withDestinationPath: outside
        )
        try await Self.withLeader(scratch, configure: { $0.roots = [scratch.path("images")] }) { leader, _ in
            let refused = try #require(Self.refusal(await leader.handle(.imageAdd(name: "out", path: outside))))
            #expect(
                refused.message.contains("is not in the image directories (images.roots: \(scratch.path("images")))")
            )
            #expect(
                Self.refusal(await leader.handle(.imageAdd(name: "link", path: scratch.path("images/sneaky.img"))))
                    != nil
            )
            // Outside the roots, whether a file exists is not told.
            let nowhere = try #require(
                Self.refusal(await leader.handle(.imageAdd(name: "x", path: "/nonexistent/x.img")))
            )
            #expect(nowhere.message.contains("is not in the image directories"), "\(nowhere.message)")
            let dotted = scratch.path("images/./disk.img")
            let added = try Self.catalog(await leader.handle(.imageAdd(name: "disk", path: dotted)))
            #expect(added.images.first?.path == inside)
            let again = try #require(Self.refusal(await leader.handle(.imageAdd(name: "again", path: inside))))
            #expect(again.code == .conflict)
        }
    }

    /// A destroyed VM gives its address back; started again it gets a new one, and its seed says so.
    @Test func aNewLeaseRewritesTheSeed() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try scratch.raw("disk.img")
        try await Self.withLeader(scratch) { leader, store in
            _ = await leader.handle(.flavorCreate(Self.small))
            _ = try Self.catalog(await leader.handle(.imageAdd(name: "disk", path: base)))
            _ = await leader.handle(.define(cluster: "web"))
            _ = await leader.handle(
                .addFromImage(cluster: "web", .init(flavor: "small", image: "disk", names: ["web-1"]))
            )
            let vm = try #require(try await store.vm(named: "web-1"))
            let disk = try #require(try await store.vmDisk(vmID: vm.id))
            let newLease = Lease(vmID: vm.id, ip: IPv4Address(192, 168, 122, 200), mac: "52:54:00:a8:7a:c8")
            #expect(await leader.rewriteSeed(of: vm, lease: newLease))
            let files = try await ImageScratch.isoFiles(disk.seedPath)
            #expect(files["network-config"]?.contains("\"192.168.122.200/24\"") == true)
            #expect(files["network-config"]?.contains("52:54:00:a8:7a:c8") == true)
        }
    }
}

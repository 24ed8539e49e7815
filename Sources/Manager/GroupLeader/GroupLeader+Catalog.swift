import Foundation
import Logging
import Wire

/// Flavors, the image catalog, and VMs made from them (docs/images.md): each VM gets its own copy-on-write overlay
/// of the image and a NoCloud seed ISO with its hostname, address and SSH keys.
extension GroupLeader {
    var imageTools: ImageTools { ImageTools(configuration: configuration.images) }

    static let flavorMemoryRange: ClosedRange<UInt64> = (1 << 20)...(1 << 50)
    static let maximumDiskBytes: UInt64 = 1 << 50
    /// VMs one addFromImage makes: each costs two programs run before the answer.
    static let maximumImageVMsPerRequest = 1000

    func catalogReply() async throws(ClusterRequestError) -> CatalogReply {
        do {
            let use = try await store.imageUse()
            return CatalogReply(
                flavors: try await store.flavors().map(\.wire),
                images: try await store.images().map { $0.wire(vmCount: use[$0.id ?? 0] ?? 0) }
            )
        } catch {
            throw ClusterRequestError(error)
        }
    }

    func createFlavor(_ spec: ClusterRequest.FlavorSpec) async throws(ClusterRequestError) -> CatalogReply {
        guard DomainTemplate.isValidName(spec.name) else {
            throw .invalid("'\(spec.name)' is not a valid flavor name (1–64 of A–Z a–z 0–9 . _ -)")
        }
        guard DomainTemplate.vcpuRange.contains(Int(spec.virtualCPUs)) else {
            throw .invalid("flavor \(spec.name): vCPUs must be from 1 to \(DomainTemplate.vcpuRange.upperBound)")
        }
        guard Self.flavorMemoryRange.contains(spec.memoryBytes) else {
            throw .invalid("flavor \(spec.name): memory must be from 1 MiB to 1 PiB, not \(spec.memoryBytes) bytes")
        }
        guard spec.diskBytes <= Self.maximumDiskBytes else {
            throw .invalid("flavor \(spec.name): disk must be at most 1 PiB, not \(spec.diskBytes) bytes")
        }
        do {
            let flavor = try await store.createFlavor(
                StoredFlavor(
                    name: spec.name,
                    virtualCPUs: Int(spec.virtualCPUs),
                    memoryBytes: Int64(spec.memoryBytes),
                    diskBytes: Int64(spec.diskBytes)
                )
            )
            logger.notice("flavor created", metadata: [.flavor: "\(spec.name)"])
            return CatalogReply(flavors: [flavor.wire])
        } catch {
            throw ClusterRequestError(error)
        }
    }

    func deleteFlavor(_ name: String) async throws(ClusterRequestError) -> CommandResult {
        do {
            try await store.deleteFlavor(named: name)
        } catch {
            throw ClusterRequestError(error)
        }
        logger.notice("flavor deleted", metadata: [.flavor: "\(name)"])
        return .ok("deleted flavor \(name)")
    }

    func addImage(name: String, path given: String) async throws(ClusterRequestError) -> CatalogReply {
        guard DomainTemplate.isValidName(name) else {
            throw .invalid("'\(name)' is not a valid image name (1–64 of A–Z a–z 0–9 . _ -)")
        }
        // One spelling per file, so /srv/./a.qcow2 and /srv/a.qcow2 are the same image.
        let path = given.hasPrefix("/") ? URL(fileURLWithPath: given).standardizedFileURL.path : given
        do {
            // Before reading the file, which can take long: a clash is refused at once.
            if try await store.image(named: name) != nil { throw ManagerStoreError.duplicateImage(name) }
            if let other = try await store.images().first(where: { $0.path == path }) {
                throw ManagerStoreError.duplicateImagePath(path, image: other.name)
            }
        } catch {
            throw ClusterRequestError(error)
        }
        let facts: ImageFacts
        do {
            facts = try await imageTools.inspect(path)
        } catch {
            throw .invalid("image \(name): \(error)")
        }
        do {
            let image = try await store.addImage(
                StoredImage(
                    name: name,
                    path: path,
                    format: facts.format,
                    sizeBytes: facts.sizeBytes,
                    virtualSizeBytes: facts.virtualSizeBytes,
                    sha256: facts.sha256
                )
            )
            logger.notice("image added", metadata: [.image: "\(name)", .path: "\(path)"])
            return CatalogReply(images: [image.wire(vmCount: 0)])
        } catch {
            throw ClusterRequestError(error)
        }
    }

    func removeImage(_ name: String) async throws(ClusterRequestError) -> CommandResult {
        do {
            try await store.removeImage(named: name)
        } catch {
            throw ClusterRequestError(error)
        }
        logger.notice("image removed", metadata: [.image: "\(name)"])
        return .ok("removed image \(name) from the catalog (its file stays)")
    }

    /// Checks everything, takes the addresses, makes each VM's overlay and seed ISO, then stores the VMs, leases
    /// and disk records in one transaction; on any failure the files made so far are removed and the addresses
    /// given back, so a refused request leaves nothing behind.
    func addFromImage(
        _ request: ClusterRequest.ImageVMs,
        to cluster: String
    ) async throws(ClusterRequestError) -> TaskStatus {
        guard !request.names.isEmpty else { throw .invalid("no VM to add") }
        guard request.names.count <= Self.maximumImageVMsPerRequest else {
            throw .invalid("at most \(Self.maximumImageVMsPerRequest) VMs from an image in one request")
        }
        var seen = Set<String>()
        for name in request.names {
            guard DomainTemplate.isValidName(name) else {
                throw .invalid("'\(name)' is not a valid VM name (1–64 of A–Z a–z 0–9 . _ -)")
            }
            guard seen.insert(name).inserted else {
                throw .conflict("the VM name '\(name)' appears twice in this request")
            }
        }
        for key in request.sshKeys where key.contains(where: \.isNewline) || key.isEmpty {
            throw .invalid("an SSH key must be one non-empty line: '\(key.prefix(40))'")
        }
        let flavor: StoredFlavor
        let image: StoredImage
        do {
            try await restoreAddresses()
            guard try await store.virtualClusters().contains(where: { $0.name == cluster }) else {
                throw ClusterRequestError.notFound("no virtual cluster named '\(cluster)'")
            }
            guard let found = try await store.flavor(named: request.flavor) else {
                throw ManagerStoreError.unknownFlavor(request.flavor)
            }
            flavor = found
            guard let found = try await store.image(named: request.image) else {
                throw ManagerStoreError.unknownImage(request.image)
            }
            image = found
            for name in request.names {
                if try await store.vm(named: name) != nil { throw ManagerStoreError.duplicateVM(name: name) }
            }
        } catch {
            throw ClusterRequestError(error)
        }
        guard flavor.diskBytes == 0 || flavor.diskBytes >= image.virtualSizeBytes else {
            throw .invalid(
                "flavor \(flavor.name)'s disk (\(flavor.diskBytes) bytes) is smaller than image \(image.name)'s "
                    + "virtual size (\(image.virtualSizeBytes) bytes)"
            )
        }
        // Taken from the pool itself before anything awaits, so a concurrent add cannot take the same addresses.
        var leases: [Lease] = []
        var uuids: [String] = []
        for name in request.names {
            let uuid = UUID().uuidString.lowercased()
            do {
                leases.append(try addresses.allocate(for: uuid))
                uuids.append(uuid)
            } catch {
                for lease in leases { _ = addresses.release(vmID: lease.vmID) }
                throw .failed("no address for \(name): \(error)")
            }
        }
        let settings = configuration.images
        let files = request.names.indices.map { index in
            let name = request.names[index]
            let uuid = uuids[index]
            return VMFiles(
                name: name,
                overlay: "\(settings.directory)/\(name)-\(uuid).qcow2",
                seedPath: "\(settings.directory)/\(name)-\(uuid)-seed.iso",
                seed: seed(name: name, uuid: uuid, lease: leases[index], keys: request.sshKeys)
            )
        }
        // Every path is the VM's own (its UUID is in it), so removing them all after a failure touches nothing else.
        func giveBack() async {
            for lease in leases { _ = addresses.release(vmID: lease.vmID) }
            try? await imageTools.remove(files.flatMap { [$0.overlay, $0.seedPath] })
        }
        do {
            try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
        } catch {
            await giveBack()
            throw .failed("cannot create the images directory \(settings.directory): \(error.localizedDescription)")
        }
        let grownTo = flavor.diskBytes > image.virtualSizeBytes ? flavor.diskBytes : nil
        if let failure = await Self.make(files, from: image, grownTo: grownTo, tools: imageTools) {
            await giveBack()
            throw .failed(failure)
        }
        var vms: [StoredVM] = []
        var disks: [StoredVMDisk] = []
        var outcomes: [StoredTask.Outcome] = []
        for (index, file) in files.enumerated() {
            let name = file.name
            let uuid = uuids[index]
            let lease = leases[index]
            let domain = GeneratedDomain(
                name: name,
                uuid: uuid,
                domainType: settings.domainType,
                virtualCPUs: flavor.virtualCPUs,
                memoryBytes: flavor.memoryBytes,
                overlayPath: file.overlay,
                seedPath: file.seedPath,
                interfaceType: settings.interfaceType,
                network: settings.network,
                macAddress: lease.mac
            )
            vms.append(
                StoredVM(
                    id: uuid,
                    name: name,
                    vcName: cluster,
                    templateXML: domain.xml,
                    networkRx: Int(clamping: request.networkRxBytesPerSecond),
                    networkTx: Int(clamping: request.networkTxBytesPerSecond),
                    virtualCPUs: flavor.virtualCPUs,
                    memoryBytes: flavor.memoryBytes,
                    desiredState: .stopped,
                    state: .pending,
                    highlyAvailable: request.highlyAvailable
                )
            )
            disks.append(
                StoredVMDisk(
                    vmID: uuid,
                    imageID: image.id ?? 0,
                    flavorID: flavor.id ?? 0,
                    overlayPath: file.overlay,
                    seedPath: file.seedPath,
                    sshKeys: request.sshKeys
                )
            )
            let message = "added from \(image.name) as \(flavor.name) with address \(lease.ip)"
            outcomes.append(.init(vm: name, state: .done, message: message))
        }
        do {
            try await store.addVMs(vms, leases: leases, disks: disks)
        } catch {
            await giveBack()
            // The image or flavor went from the catalog while the files were made (the store refuses the rows).
            throw ClusterRequestError(error)
        }
        do {
            let task = StoredTask(
                id: Self.newTaskID(),
                kind: "add",
                vcName: cluster,
                outcomes: outcomes,
                state: .succeeded,
                createdAt: Date(),
                detail: "added \(vms.count) VM\(vms.count == 1 ? "" : "s") from image \(image.name) to \(cluster)"
            )
            try await store.createTask(task)
            logger.notice(
                "VMs added from an image",
                metadata: [
                    .vc: "\(cluster)", .vms: "\(vms.map(\.name).joined(separator: ","))", .image: "\(image.name)",
                    .flavor: "\(flavor.name)",
                ]
            )
            return task.wireStatus
        } catch {
            throw ClusterRequestError(error)
        }
    }

    /// One VM's files to make: its overlay and its seed ISO.
    struct VMFiles: Sendable {
        var name: String
        var overlay: String
        var seedPath: String
        var seed: NoCloudSeed
    }

    /// Overlays and seed ISOs made at once, this many VMs at a time: enough to keep a request for many VMs short,
    /// few enough for the manager's cores and the shared storage.
    static let filesMadeAtOnce = 4

    /// Makes every VM's overlay and seed ISO, a few VMs at a time; the first failure, naming its VM, or nil.
    nonisolated static func make(
        _ files: [VMFiles],
        from image: StoredImage,
        grownTo sizeBytes: Int64?,
        tools: ImageTools
    ) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            var next = 0
            var failure: String?
            func startNext() {
                guard next < files.count, failure == nil else { return }
                let file = files[next]
                next += 1
                group.addTask {
                    do throws(ImageCatalogError) {
                        try await tools.createOverlay(
                            file.overlay,
                            base: image.path,
                            format: image.format,
                            sizeBytes: sizeBytes
                        )
                        try await SeedISOBuilder(tools: tools).build(file.seed, at: file.seedPath)
                        return nil
                    } catch {
                        return "\(file.name): \(error)"
                    }
                }
            }
            for _ in 0..<filesMadeAtOnce { startNext() }
            for await result in group {
                if failure == nil, let result { failure = result }
                startNext()
            }
            return failure
        }
    }

    /// The NoCloud data of one VM: its subnet's prefix, and the first reserved address in it as the gateway.
    func seed(name: String, uuid: String, lease: Lease, keys: [String]) -> NoCloudSeed {
        let subnet = configuration.vmSubnets.first { $0.contains(lease.ip) }
        return NoCloudSeed(
            instanceID: uuid,
            hostname: name,
            macAddress: lease.mac,
            address: lease.ip,
            prefixLength: subnet?.prefixLength ?? 24,
            gateway: subnet.flatMap { subnet in configuration.reservedAddresses.first { subnet.contains($0) } },
            nameservers: configuration.images.nameservers,
            sshKeys: keys
        )
    }

    /// Where each VM made from an image comes from, by VM id (all of them, or the one VM `only` names).
    func vmOrigins(only vmID: String? = nil) async throws(ManagerStoreError) -> [String: ClusterReply.VMOrigin] {
        var disks = try await store.vmDisks()
        if let vmID { disks = disks.filter { $0.vmID == vmID } }
        guard !disks.isEmpty else { return [:] }
        let flavors = Dictionary(uniqueKeysWithValues: try await store.flavors().map { ($0.id ?? 0, $0.name) })
        let images = Dictionary(uniqueKeysWithValues: try await store.images().map { ($0.id ?? 0, $0.name) })
        return Dictionary(
            uniqueKeysWithValues: disks.map { disk in
                (
                    disk.vmID,
                    ClusterReply.VMOrigin(
                        flavor: flavors[disk.flavorID] ?? "",
                        image: images[disk.imageID] ?? "",
                        overlayPath: disk.overlayPath,
                        seedPath: disk.seedPath
                    )
                )
            }
        )
    }

    /// Writes the seed ISO of a VM made from an image again for a new lease (its old one was released when it was
    /// destroyed), so the guest is told the address its new MAC carries. False when it could not be written.
    func rewriteSeed(of vm: StoredVM, lease: Lease) async -> Bool {
        guard let disk = try? await store.vmDisk(vmID: vm.id), !disk.seedPath.isEmpty else { return true }
        let seed = seed(name: vm.name, uuid: vm.id, lease: lease, keys: disk.sshKeyList)
        do {
            try await SeedISOBuilder(tools: imageTools).build(seed, at: disk.seedPath)
            return true
        } catch {
            logger.error(
                "cannot write a VM's seed ISO for its new address",
                metadata: [.vm: "\(vm.name)", .path: "\(disk.seedPath)", .error: "\(error)"]
            )
            return false
        }
    }

    /// Removes the overlay and seed ISO of a VM that was deleted; a failure is logged, the VM stays deleted.
    func removeDiskFiles(_ disk: StoredVMDisk?, vm: String) async {
        guard let disk else { return }
        do {
            try await imageTools.remove([disk.overlayPath, disk.seedPath])
        } catch {
            logger.warning(
                "cannot remove a deleted VM's disk files",
                metadata: [.vm: "\(vm)", .path: "\(disk.overlayPath)", .error: "\(error)"]
            )
        }
    }
}

extension StoredFlavor {
    var wire: CatalogReply.Flavor {
        CatalogReply.Flavor(
            id: UInt32(clamping: id ?? 0),
            name: name,
            virtualCPUs: UInt16(clamping: virtualCPUs),
            memoryBytes: UInt64(clamping: memoryBytes),
            diskBytes: UInt64(clamping: diskBytes)
        )
    }
}

extension StoredImage {
    func wire(vmCount: Int) -> CatalogReply.Image {
        CatalogReply.Image(
            id: UInt32(clamping: id ?? 0),
            name: name,
            path: path,
            format: format,
            sizeBytes: UInt64(clamping: sizeBytes),
            virtualSizeBytes: UInt64(clamping: virtualSizeBytes),
            sha256: sha256,
            addedAtUnixMilliseconds: addedAt.unixMilliseconds,
            vmCount: UInt32(clamping: vmCount)
        )
    }
}

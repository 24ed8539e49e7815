import Foundation
import Logging
import Placement
import Wire

/// pragma_boot virtual clusters (`torpor vc boot`, docs/pragma.md): pragma's `fix_images` and `allocate` as one
/// request. Everything is checked — the `vc-in.xml`, the images, whether the frontend and its computes fit on the
/// hosts — before anything is made; then each node gets an address and MAC, its own overlay of its image and a
/// contextualization ISO carrying its `vc-out.xml`, and a `boot` task starts the frontend, waits for its boot
/// dependency and starts the computes.
extension GroupLeader {
    func bootPragma(_ request: ClusterRequest.PragmaBoot) async throws(ClusterRequestError) -> TaskStatus {
        let spec: PragmaClusterSpec
        do {
            spec = try PragmaClusterSpec.parse(request.vcIn)
        } catch {
            throw .invalid("\(error)")
        }
        let cluster = request.cluster.isEmpty ? spec.frontend.name : request.cluster
        for key in request.sshKeys where key.contains(where: \.isNewline) || key.isEmpty {
            throw .invalid("an SSH key must be one non-empty line: '\(key.prefix(40))'")
        }
        let shape: PragmaClusterPlan
        do {
            shape = try PragmaClusterPlan.make(spec, cpus: Int(request.cpus), cluster: cluster, mac: { _ in "" })
        } catch {
            throw .invalid("\(error)")
        }
        let nodes = [shape.frontend] + shape.computes
        do {
            try await restoreAddresses()
            if try await store.virtualClusters().contains(where: { $0.name == cluster }) {
                throw ManagerStoreError.duplicateVirtualCluster(cluster)
            }
            for node in nodes {
                if try await store.vm(named: node.name) != nil { throw ManagerStoreError.duplicateVM(name: node.name) }
            }
        } catch {
            throw ClusterRequestError(error)
        }
        let settings = configuration.images
        let frontendImage = try await pragmaImage(spec.frontend, role: "frontend")
        var computeImage = frontendImage
        if !shape.computes.isEmpty { computeImage = try await pragmaImage(spec.compute, role: "compute") }
        // The frontend's interfaces in the vc-in.xml's order; the public one gets the lease's MAC.
        let frontendSources = PragmaClusterSpec.interfaceSources(
            TemplateXMLNode(name: "frontend", children: [.element(try Self.root(spec.frontendXML))])
        )

        // Whether it fits, before anything is made: the placement policy over the hosts as a start would see them.
        let uuids = nodes.map { _ in UUID().uuidString.lowercased() }
        let drafts = nodes.indices.map { index in
            StoredVM(
                id: uuids[index],
                name: nodes[index].name,
                vcName: cluster,
                templateXML: "",
                virtualCPUs: nodes[index].virtualCPUs,
                memoryBytes: Int64(clamping: nodes[index].memoryBytes)
            )
        }
        try await refuseUnlessFits(drafts, cluster: cluster)

        // Taken from the pool before anything awaits, so a concurrent request cannot take the same addresses.
        var leases: [Lease] = []
        for (index, node) in nodes.enumerated() {
            do {
                leases.append(try addresses.allocate(for: uuids[index]))
            } catch {
                for lease in leases { _ = addresses.release(vmID: lease.vmID) }
                throw .failed("no address for \(node.name): \(error)")
            }
        }
        // The frontend's private MAC: its lease's, made locally administered, so it is as unique as the lease.
        let frontendPrivateMAC = "7a:77:6e:" + leases[0].mac.split(separator: ":").suffix(3).joined(separator: ":")
        let plan = PragmaClusterPlan(
            cluster: cluster,
            frontend: {
                var node = shape.frontend
                node.privateMAC = frontendPrivateMAC
                return node
            }(),
            computes: shape.computes.enumerated().map { index, node in
                var node = node
                node.privateMAC = leases[index + 1].mac
                return node
            }
        )
        let directory = "\(settings.directory)/pragma-\(cluster)-\(uuids[0].prefix(8))"
        func giveBack() async {
            for lease in leases { _ = addresses.release(vmID: lease.vmID) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            await giveBack()
            throw .failed("cannot create \(directory): \(error.localizedDescription)")
        }

        let subnet = configuration.vmSubnets.first { $0.contains(leases[0].ip) }
        let publicPrefix = subnet?.prefixLength ?? 24
        let publicGateway = subnet.flatMap { subnet in configuration.reservedAddresses.first { subnet.contains($0) } }
        let nameserver = settings.nameservers.first ?? publicGateway ?? spec.privateAddress
        let dns = PragmaVCOut.DNS(address: "\(nameserver)")
        let key = request.sshKeys.joined(separator: "\n")
        var files: [VMFiles] = []
        var bases: [StoredImage] = []
        for (index, node) in ([plan.frontend] + plan.computes).enumerated() {
            let isFrontend = index == 0
            let vcOut =
                isFrontend
                ? PragmaVCOut.frontend(
                    plan,
                    spec: spec,
                    public: .init(
                        fqdn: cluster,
                        address: leases[0].ip,
                        netmask: Self.netmask(prefixLength: publicPrefix),
                        gateway: publicGateway
                    ),
                    dns: dns,
                    key: key
                )
                : PragmaVCOut.compute(node, plan: plan, spec: spec, dns: dns, key: key)
            files.append(
                VMFiles(
                    name: node.name,
                    overlay: "\(directory)/\(node.name).qcow2",
                    seedPath: "\(directory)/\(node.name)-seed.iso",
                    seed: NoCloudSeed(
                        instanceID: uuids[index],
                        hostname: node.name,
                        macAddress: leases[index].mac,
                        address: isFrontend ? leases[0].ip : node.privateAddress,
                        prefixLength: isFrontend ? publicPrefix : spec.privatePrefixLength,
                        gateway: isFrontend ? publicGateway : plan.frontend.privateAddress,
                        nameservers: settings.nameservers,
                        sshKeys: request.sshKeys,
                        extraFiles: ["vc-out.xml": vcOut]
                    )
                )
            )
            bases.append(isFrontend ? frontendImage : computeImage)
        }
        if let failure = await Self.make(Array(files.prefix(1)), from: bases[0], grownTo: nil, tools: imageTools) {
            await giveBack()
            throw .failed(failure)
        }
        if files.count > 1,
            let failure = await Self.make(Array(files.dropFirst()), from: computeImage, grownTo: nil, tools: imageTools)
        {
            await giveBack()
            throw .failed(failure)
        }

        var vms: [StoredVM] = []
        for (index, node) in ([plan.frontend] + plan.computes).enumerated() {
            var domain = GeneratedDomain(
                name: node.name,
                uuid: uuids[index],
                domainType: settings.domainType,
                virtualCPUs: node.virtualCPUs,
                memoryBytes: Int64(clamping: node.memoryBytes),
                overlayPath: files[index].overlay,
                seedPath: files[index].seedPath,
                interfaceType: settings.interfaceType,
                network: settings.network,
                macAddress: leases[index].mac
            )
            if index == 0 {
                let macs = frontendSources.map { $0 == spec.publicInterface ? leases[0].mac : frontendPrivateMAC }
                domain.macAddress = macs.first ?? leases[0].mac
                domain.moreMacAddresses = Array(macs.dropFirst())
            }
            var vm = drafts[index]
            vm.templateXML = domain.xml
            vm.desiredState = .stopped
            vms.append(vm)
        }
        let record = StoredPragmaCluster(
            name: cluster,
            frontend: plan.frontend.name,
            computeDelaySeconds: spec.computeDelaySeconds,
            directory: directory
        )
        do {
            try await store.addPragmaCluster(record, vms: vms, leases: leases)
        } catch {
            await giveBack()
            throw ClusterRequestError(error)
        }
        logger.notice(
            "pragma cluster defined",
            metadata: [
                .vc: "\(cluster)", .vms: "\(vms.map(\.name).joined(separator: ","))",
                .detail: "computes start \(spec.computeDelaySeconds) s after the frontend",
            ]
        )
        return try await submit("boot", cluster: cluster, vm: "")
    }

    /// The image a node boots from (its domain's one disk): absolute, or relative to `images.directory`; a raw or
    /// qcow2 file standing on its own, within `images.roots`. Compressed (`.gz`) images are refused.
    private func pragmaImage(_ domain: DomainTemplate, role: String) async throws(ClusterRequestError) -> StoredImage {
        guard domain.diskSources.count == 1, let source = domain.diskSources.first else {
            throw .invalid("vc-in.xml: the \(role) domain must have one disk image, not \(domain.diskSources.count)")
        }
        guard !source.hasSuffix(".gz") else {
            throw .invalid("vc-in.xml: the \(role) image \(source) is compressed; uncompress it (gunzip) first")
        }
        let path = source.hasPrefix("/") ? source : "\(configuration.images.directory)/\(source)"
        do {
            let facts = try await imageTools.inspect(path)
            return StoredImage(
                name: "\(role)-image",
                path: path,
                format: facts.format,
                sizeBytes: facts.sizeBytes,
                virtualSizeBytes: facts.virtualSizeBytes,
                sha256: facts.sha256
            )
        } catch {
            throw .invalid("vc-in.xml: the \(role) image: \(error)")
        }
    }

    /// Refuses, naming the resource that is short, when the placement policy cannot place every node now.
    private func refuseUnlessFits(_ drafts: [StoredVM], cluster: String) async throws(ClusterRequestError) {
        let usable = placementTiers(await groupManager.hosts())
        let plan: PlacementPlan
        do {
            plan = try await self.plan(drafts, on: usable)
        } catch {
            throw .failed("cannot plan \(cluster): \(error)")
        }
        guard let first = plan.unplaced.first else { return }
        let name = drafts.first { $0.id == first.vmID }?.name ?? first.vmID
        let cpus = drafts.reduce(0) { $0 + $1.virtualCPUs }
        let mebibytes = drafts.reduce(Int64(0)) { $0 + $1.memoryBytes } >> 20
        throw .conflict(
            "\(cluster) does not fit (the frontend and \(drafts.count - 1) computes: \(cpus) vCPUs, \(mebibytes) MiB; "
                + "nothing was started): \(name): \(first.reason)"
        )
    }

    static func root(_ xml: String) throws(ClusterRequestError) -> TemplateXMLNode {
        do {
            return try TemplateXMLParser.parse(xml)
        } catch {
            throw .invalid("\(error)")
        }
    }

    static func netmask(prefixLength: Int) -> IPv4Address {
        IPv4Address(prefixLength <= 0 ? 0 : UInt32.max << UInt32(32 - min(prefixLength, 32)))
    }

    /// Removes a pragma cluster's overlays and ISOs once the cluster is gone; a failure is logged.
    func removePragmaFiles(_ cluster: StoredPragmaCluster) async {
        do {
            try FileManager.default.removeItem(atPath: cluster.directory)
        } catch {
            logger.warning(
                "cannot remove a pragma cluster's files",
                metadata: [.vc: "\(cluster.name)", .path: "\(cluster.directory)", .error: "\(error)"]
            )
        }
    }
}

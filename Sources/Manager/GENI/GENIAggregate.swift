import Foundation
import Logging
import NIOPosix
import Wire
import Zlib

/// The GENI Aggregate Manager API v3 on Torpor (docs/geni.md): each slice is a virtual cluster whose slivers are its
/// VMs, held by the cluster's reservation. Every call answers `{code: {geni_code}, value, output}`; a bad call is a
/// GENI error code with a message, never an XML-RPC fault or a crash.
public actor GENIAggregate {
    let leader: GroupLeader
    let store: ManagerStore
    let configuration: GENIConfiguration
    let logger: Logger
    let wallClock: @Sendable () -> Date
    let signatureVerifier: XMLSecVerifier

    public init(
        leader: GroupLeader,
        store: ManagerStore,
        configuration: GENIConfiguration,
        logger: Logger,
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.signatureVerifier = XMLSecVerifier(trustRoots: configuration.trustRoots)
        self.leader = leader
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.wallClock = wallClock
    }

    /// Answers one XML-RPC call from `caller` (its certificate checked against each call's credentials).
    public func handle(_ call: XMLRPCMethodCall, caller: GENICaller) async -> XMLRPCValue {
        do throws(GENIFailure) {
            let value = try await dispatch(call, caller: caller)
            logger.info("GENI call", metadata: [.method: "\(call.method)", .peer: "\(caller.subject)"])
            return GENIReply.success(value)
        } catch {
            logger.notice(
                "GENI call refused",
                metadata: [.method: "\(call.method)", .peer: "\(caller.subject)", .error: "\(error)"]
            )
            return GENIReply.failure(error)
        }
    }

    private func dispatch(_ call: XMLRPCMethodCall, caller: GENICaller) async throws(GENIFailure) -> XMLRPCValue {
        let p = call.parameters
        /// Checks the credentials argument for `slice` (nil: ListResources) before the call acts.
        func authorize(_ credentials: XMLRPCValue, _ slice: GENIURN?) async throws(GENIFailure) {
            try await self.authorize(call.method, credentials: credentials, slice: slice, caller: caller)
        }
        switch call.method {
        case "GetVersion": return getVersion()
        case "ListResources":
            try arity(p, 2, "ListResources(credentials, options)")
            try await authorize(p[0], nil)
            return try await listResources(options: try options(p[1]))
        case "Describe":
            try arity(p, 3, "Describe(urns, credentials, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            return try await describe(slice)
        case "Allocate":
            try arity(p, 4, "Allocate(slice_urn, credentials, rspec, options)")
            let slice = try slice(p[0])
            try await authorize(p[1], slice)
            guard let rspec = p[2].string else { throw GENIFailure(.badArgs, "the rspec argument must be a string") }
            return try await allocate(slice, rspec: rspec, options: try options(p[3]))
        case "Renew":
            try arity(p, 4, "Renew(urns, credentials, expiration_time, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            return try await renew(slice, until: try time(p[2]), options: try options(p[3]))
        case "Provision":
            try arity(p, 3, "Provision(urns, credentials, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            return try await provision(slice, options: try options(p[2]))
        case "Status":
            try arity(p, 3, "Status(urns, credentials, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            return try await status(slice)
        case "PerformOperationalAction":
            try arity(p, 4, "PerformOperationalAction(urns, credentials, action, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            guard let action = p[2].string else { throw GENIFailure(.badArgs, "the action must be a string") }
            return try await performOperationalAction(slice, action: action)
        case "Delete":
            try arity(p, 3, "Delete(urns, credentials, options)")
            let slice = try await slice(ofURNs: p[0])
            try await authorize(p[1], slice)
            return try await delete(slice)
        case "Shutdown":
            try arity(p, 3, "Shutdown(slice_urn, credentials, options)")
            let slice = try slice(p[0])
            try await authorize(p[1], slice)
            return try await shutdown(slice)
        default:
            throw GENIFailure(.unsupported, "no method '\(call.method.prefix(80))' in AM API v3")
        }
    }

    /// Runs GENICredentialCheck to its end: verifies signatures as it asks, then allows or throws its refusal.
    private func authorize(
        _ method: String,
        credentials: XMLRPCValue,
        slice: GENIURN?,
        caller: GENICaller
    ) async throws(GENIFailure) {
        var candidates = try GENICredential.candidates(credentials).map { GENICredentialCheck.Candidate($0) }
        let call = GENICredentialCheck.Call(
            method: method,
            slice: slice?.description,
            callerCertificate: caller.certificate,
            now: wallClock()
        )
        while true {
            switch GENICredentialCheck.next(call, candidates) {
            case .allow: return
            case .refuse(let failure): throw failure
            case .verifySignature(let index):
                guard case .success(let credential) = candidates[index].credential else { return }
                candidates[index].signature = await signatureVerifier.verify(credential.document)
            }
        }
    }

    // MARK: Calls

    func getVersion() -> XMLRPCValue {
        let rspec: (String) -> XMLRPCValue = { kind in
            [
                "type": "GENI", "version": "3", "namespace": .string(RSpec.namespace),
                "schema": .string("\(RSpec.namespace)/\(kind).xsd"), "extensions": [],
            ]
        }
        return [
            "geni_api": 3,
            "geni_api_versions": ["3": .string(configuration.publicURL)],
            "geni_request_rspec_versions": [rspec("request")],
            "geni_ad_rspec_versions": [rspec("ad")],
            "geni_credential_types": [["geni_type": "geni_sfa", "geni_version": "3"]],
            "geni_single_allocation": false,
            "geni_allocate": "geni_many",
            "geni_am_type": "torpor",
        ]
    }

    func listResources(options: [String: XMLRPCValue]) async throws(GENIFailure) -> XMLRPCValue {
        guard let version = options["geni_rspec_version"]?.structure else {
            throw GENIFailure(.badArgs, "ListResources needs options.geni_rspec_version {type: GENI, version: 3}")
        }
        guard version["type"]?.string?.lowercased() == "geni", version["version"]?.string == "3" else {
            throw GENIFailure(
                .badVersion,
                "RSpec \(version["type"]?.string ?? "?") \(version["version"]?.string ?? "?") is not supported; GENI 3 is"
            )
        }
        let hosts: [ManagedHost]
        let flavors: [StoredFlavor]
        let images: [StoredImage]
        do {
            hosts = try await leader.view().hosts
            flavors = try await store.flavors()
            images = try await store.images()
        } catch {
            throw GENIFailure(.serverError, "cannot read the hosts and the catalog: \(error)")
        }
        let advertisement = RSpec.advertisement(
            nodes: hosts.map { .init(hostID: $0.hostID, available: $0.connected && $0.state == .active) },
            sliverTypes: flavors.map(\.name),
            images: images.map(\.name),
            authority: configuration.authority,
            availableOnly: options["geni_available"]?.bool ?? false,
            generated: wallClock()
        )
        if options["geni_compressed"]?.bool == true {
            do {
                // zlib is a C call whose time grows with the advertisement: on NIO's thread pool, not the cooperative one.
                let plain = Array(advertisement.utf8)
                let compressed = try await NIOThreadPool.singleton.runIfActive { try ZlibStream.compress(plain) }
                return .string(Data(compressed).base64EncodedString())
            } catch {
                throw GENIFailure(.serverError, "cannot compress the advertisement: \(error)")
            }
        }
        return .string(advertisement)
    }

    func allocate(_ slice: GENIURN, rspec: String, options: [String: XMLRPCValue]) async throws(GENIFailure) -> XMLRPCValue {
        let nodes = try RSpec.parseRequest(rspec)
        let cluster = slice.clusterName
        let flavors: Set<String>
        let images: [String]
        do {
            flavors = Set(try await store.flavors().map(\.name))
            images = try await store.images().map(\.name)
        } catch {
            throw GENIFailure(.serverError, "cannot read the catalog: \(error)")
        }
        for node in nodes {
            guard flavors.contains(node.sliverType) else {
                throw GENIFailure(
                    .badArgs,
                    "node '\(node.clientID)': unknown sliver type '\(node.sliverType)' (known: \(flavors.sorted().joined(separator: ", ")))"
                )
            }
            guard node.clientID.count <= Self.longestClientID else {
                throw GENIFailure(.badArgs, "client_id '\(node.clientID)' is longer than \(Self.longestClientID)")
            }
            if let image = node.diskImage, !images.contains(image) {
                throw GENIFailure(.badArgs, "node '\(node.clientID)': unknown disk image '\(image)'")
            }
            if node.diskImage == nil, defaultImage(images) == nil {
                throw GENIFailure(.badArgs, "node '\(node.clientID)' names no disk_image and there is no default")
            }
            if let component = node.componentID, GENIURN(parsing: component)?.type != "node" {
                throw GENIFailure(.badArgs, "node '\(node.clientID)': component_id '\(component)' is not a node URN")
            }
        }
        let now = wallClock()
        var end = now + configuration.allocationDuration.timeInterval
        if let asked = options["geni_end_time"] {
            end = try min(end, time(asked))
        }
        do {
            if try await store.virtualClusters().contains(where: { $0.name == cluster }) {
                throw GENIFailure(.alreadyExists, "slice \(slice) already has slivers here: Delete them first")
            }
        } catch let failure as GENIFailure {
            throw failure
        } catch {
            throw GENIFailure(.serverError, "\(error)")
        }
        guard case .taskStatus = await leader.handle(.define(cluster: cluster)) else {
            throw GENIFailure(.error, "cannot make the slice's virtual cluster \(cluster)")
        }
        let record = StoredGENISlice(
            vcName: cluster,
            sliceURN: slice.description,
            nodes: nodes.map {
                StoredGENISlice.Node(
                    clientID: $0.clientID,
                    componentID: $0.componentID,
                    sliverType: $0.sliverType,
                    diskImage: $0.diskImage ?? defaultImage(images) ?? ""
                )
            },
            provisioned: false
        )
        do {
            try await store.saveGENISlice(record)
        } catch {
            _ = await leader.handle(.undefine(cluster: cluster))
            throw GENIFailure(.serverError, "cannot record the slice: \(error)")
        }
        let reserved = await leader.handle(.reserve(cluster: cluster, untilUnixMilliseconds: end.unixMilliseconds))
        if case .commandResult(let result) = reserved {
            _ = await leader.handle(.undefine(cluster: cluster))
            throw GENIFailure(.badArgs, result.message)
        }
        logger.notice("GENI slivers allocated", metadata: [.vc: "\(cluster)", .vms: "\(nodes.count)"])
        return try await describe(slice)
    }

    func renew(_ slice: GENIURN, until: Date, options: [String: XMLRPCValue]) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        let limit = wallClock() + (record.provisioned ? configuration.maximumDuration : configuration.allocationDuration).timeInterval
        if until > limit {
            guard options["geni_best_effort"]?.bool == true else {
                throw GENIFailure(
                    .refused,
                    "\(XMLRPCTime.rfc3339(until)) is past the longest this aggregate allows now, \(XMLRPCTime.rfc3339(limit))"
                )
            }
            // Best effort: every sliver of the slice shares one end, so none is renewed; each says why.
            var described = try await slivers(of: record)
            for index in described.indices {
                described[index]["geni_error"] = .string("not renewed: past \(XMLRPCTime.rfc3339(limit))")
            }
            return .array(described.map { .structure($0) })
        }
        let renewed = await leader.handle(
            .renewReservation(cluster: record.vcName, untilUnixMilliseconds: until.unixMilliseconds)
        )
        if case .commandResult(let result) = renewed {
            throw GENIFailure(result.message.contains("ended at") ? .expired : .badArgs, result.message)
        }
        return .array(try await slivers(of: record).map { .structure($0) })
    }

    func provision(_ slice: GENIURN, options: [String: XMLRPCValue]) async throws(GENIFailure) -> XMLRPCValue {
        var record = try await sliceRecord(slice)
        if let refusal = try? await leader.reservationStartRefusal(cluster: record.vcName) {
            throw GENIFailure(.expired, refusal)
        }
        var keys: [String] = []
        for user in options["geni_users"]?.array ?? [] {
            for key in user["keys"]?.array ?? [] {
                guard let text = key.string?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty,
                    !text.contains(where: \.isNewline)
                else { throw GENIFailure(.badArgs, "geni_users keys must be one-line SSH public keys") }
                keys.append(text)
            }
        }
        if !record.provisioned {
            let groups = Dictionary(grouping: record.nodes) { "\($0.sliverType)\u{0}\($0.diskImage)" }
            for (_, nodes) in groups.sorted(by: { $0.key < $1.key }) {
                let request = ClusterRequest.ImageVMs(
                    flavor: nodes[0].sliverType,
                    image: nodes[0].diskImage,
                    names: nodes.map { vmName(record, $0.clientID) },
                    sshKeys: keys
                )
                let added = await leader.handle(.addFromImage(cluster: record.vcName, request))
                if case .commandResult(let result) = added {
                    throw GENIFailure(result.code == .conflict ? .refused : .error, "cannot provision: \(result.message)")
                }
            }
            record.provisioned = true
            do {
                try await store.saveGENISlice(record)
            } catch {
                throw GENIFailure(.serverError, "\(error)")
            }
            let end = wallClock() + configuration.sliverDuration.timeInterval
            _ = await leader.handle(.renewReservation(cluster: record.vcName, untilUnixMilliseconds: end.unixMilliseconds))
        }
        return try await describe(slice)
    }

    func status(_ slice: GENIURN) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        return [
            "geni_urn": .string(slice.description),
            "geni_slivers": .array(try await slivers(of: record).map { .structure($0) }),
        ]
    }

    func describe(_ slice: GENIURN) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        let vms = try await vmsByName(record)
        let manifest = RSpec.manifest(
            nodes: record.nodes.map { node in
                let vm = vms[vmName(record, node.clientID)]
                return RSpec.ManifestNode(
                    clientID: node.clientID,
                    sliverID: sliverURN(record, node.clientID),
                    componentID: vm.flatMap { $0.hostID.isEmpty ? nil : GENIURN(authority: configuration.authority, type: "node", name: $0.hostID).description }
                        ?? node.componentID,
                    sliverType: node.sliverType,
                    diskImage: node.diskImage,
                    address: vm?.ipAddress,
                    username: configuration.loginUser
                )
            },
            authority: configuration.authority,
            generated: wallClock()
        )
        return [
            "geni_rspec": .string(manifest),
            "geni_urn": .string(slice.description),
            "geni_slivers": .array(try await slivers(of: record).map { .structure($0) }),
        ]
    }

    func performOperationalAction(_ slice: GENIURN, action: String) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        guard record.provisioned else {
            throw GENIFailure(.badArgs, "the slivers of \(slice) are only allocated: Provision them first")
        }
        let wire: ClusterRequest.VMAction
        switch action {
        case "geni_start": wire = .start
        case "geni_stop": wire = .shutdown
        case "geni_restart":
            let rebooted = await leader.submitReboot(cluster: record.vcName, vm: "")
            if case .commandResult(let result) = rebooted { throw GENIFailure(.refused, result.message) }
            return .array(try await slivers(of: record).map { .structure($0) })
        default:
            throw GENIFailure(.unsupported, "no operational action '\(action.prefix(60))': geni_start, geni_stop, geni_restart")
        }
        let reply = await leader.handle(.act(wire, cluster: record.vcName, vm: ""))
        if case .commandResult(let result) = reply {
            throw GENIFailure(result.message.contains("ended at") ? .expired : .refused, result.message)
        }
        return .array(try await slivers(of: record).map { .structure($0) })
    }

    func delete(_ slice: GENIURN) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        let gone = record.nodes.map { node -> XMLRPCValue in
            [
                "geni_sliver_urn": .string(sliverURN(record, node.clientID)),
                "geni_allocation_status": "geni_unallocated",
                "geni_expires": .string(XMLRPCTime.rfc3339(wallClock())),
            ]
        }
        try await finished(await leader.handle(.undefine(cluster: record.vcName)))
        return .array(gone)
    }

    func shutdown(_ slice: GENIURN) async throws(GENIFailure) -> XMLRPCValue {
        let record = try await sliceRecord(slice)
        try await finished(await leader.handle(.act(.destroy, cluster: record.vcName, vm: "")))
        return true
    }

    /// Waits (two minutes at most) for the task a request started, so the next call sees what it did.
    private func finished(_ reply: WireMessage) async throws(GENIFailure) {
        guard case .taskStatus(var status) = reply else {
            if case .commandResult(let result) = reply { throw GENIFailure(.error, result.message) }
            throw GENIFailure(.serverError, "unexpected answer \(reply)")
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while !status.state.isFinished, ContinuousClock.now < deadline {
            guard case .taskStatus(let next) = await leader.handle(.task(id: status.id, waitMilliseconds: 5000)) else {
                break
            }
            status = next
        }
        guard status.state == .succeeded else {
            throw GENIFailure(status.state.isFinished ? .error : .timedOut, "task \(status.id): \(status.message)")
        }
    }

    // MARK: Slivers

    static let longestClientID = 48

    func vmName(_ record: StoredGENISlice, _ clientID: String) -> String {
        "\(record.vcName.suffix(10))-\(clientID)"
    }

    func sliverURN(_ record: StoredGENISlice, _ clientID: String) -> String {
        GENIURN(authority: configuration.authority, type: "sliver", name: vmName(record, clientID)).description
    }

    private func vmsByName(_ record: StoredGENISlice) async throws(GENIFailure) -> [String: ClusterReply.VM] {
        guard case .clusterReply(let reply) = await leader.handle(.info(cluster: record.vcName)),
            let cluster = reply.clusters.first
        else { throw GENIFailure(.searchFailed, "the slice \(record.sliceURN) has no slivers here") }
        return Dictionary(cluster.vms.map { ($0.name, $0) }) { first, _ in first }
    }

    private func slivers(of record: StoredGENISlice) async throws(GENIFailure) -> [[String: XMLRPCValue]] {
        guard case .clusterReply(let reply) = await leader.handle(.info(cluster: record.vcName)),
            let cluster = reply.clusters.first
        else { throw GENIFailure(.searchFailed, "the slice \(record.sliceURN) has no slivers here") }
        let vms = Dictionary(cluster.vms.map { ($0.name, $0) }) { first, _ in first }
        let expires = cluster.reservation.map { Date(unixMilliseconds: $0.untilUnixMilliseconds) } ?? wallClock()
        return record.nodes.map { node in
            let vm = vms[vmName(record, node.clientID)]
            return [
                "geni_sliver_urn": .string(sliverURN(record, node.clientID)),
                "geni_expires": .string(XMLRPCTime.rfc3339(expires)),
                "geni_allocation_status": .string(record.provisioned ? "geni_provisioned" : "geni_allocated"),
                "geni_operational_status": .string(Self.operationalStatus(vm, expired: cluster.reservation?.expired ?? false)),
                "geni_error": "",
            ]
        }
    }

    /// The API's operational states from a VM's state: ready when running, configuring while it starts,
    /// notready when stopped or not made yet, failed when it failed.
    static func operationalStatus(_ vm: ClusterReply.VM?, expired: Bool) -> String {
        guard let vm else { return "geni_notready" }
        switch vm.state {
        case "running": return "geni_ready"
        case "starting": return "geni_configuring"
        case "pending" where vm.desiredState == "running": return "geni_configuring"
        case "failed", "missing", "duplicated": return "geni_failed"
        case "shuttingDown": return "geni_stopping"
        default: return "geni_notready"
        }
    }

    // MARK: Arguments

    private func arity(_ parameters: [XMLRPCValue], _ count: Int, _ signature: String) throws(GENIFailure) {
        guard parameters.count == count else {
            throw GENIFailure(.badArgs, "\(signature) takes \(count) arguments, not \(parameters.count)")
        }
    }

    private func options(_ value: XMLRPCValue) throws(GENIFailure) -> [String: XMLRPCValue] {
        guard let options = value.structure else { throw GENIFailure(.badArgs, "options must be a struct, not \(value.kind)") }
        return options
    }

    private func time(_ value: XMLRPCValue) throws(GENIFailure) -> Date {
        switch value {
        case .dateTime(let date): return date
        case .string(let text):
            guard let date = XMLRPCTime.parse(text) else {
                throw GENIFailure(.badArgs, "'\(text.prefix(40))' is not an RFC 3339 time")
            }
            return date
        default: throw GENIFailure(.badArgs, "a time must be an RFC 3339 string, not \(value.kind)")
        }
    }

    private func slice(_ value: XMLRPCValue) throws(GENIFailure) -> GENIURN {
        guard let text = value.string, let urn = GENIURN(parsing: text), urn.type == "slice" else {
            throw GENIFailure(.badArgs, "'\(value.string.map { String($0.prefix(80)) } ?? value.kind)' is not a slice URN")
        }
        return urn
    }

    /// The slice the URNs name: one slice URN, or sliver URNs of one slice.
    private func slice(ofURNs value: XMLRPCValue) async throws(GENIFailure) -> GENIURN {
        guard let urns = value.array, !urns.isEmpty else {
            throw GENIFailure(.badArgs, "urns must be a non-empty array of a slice URN or sliver URNs")
        }
        if urns.count == 1, let text = urns[0].string, let urn = GENIURN(parsing: text), urn.type == "slice" {
            return urn
        }
        var found: GENIURN?
        for urn in urns {
            guard let text = urn.string, let parsed = GENIURN(parsing: text), parsed.type == "sliver" else {
                throw GENIFailure(.badArgs, "'\(urn.string.map { String($0.prefix(80)) } ?? urn.kind)' is neither a slice nor a sliver URN")
            }
            let slices = (try? await store.geniSlices()) ?? []
            guard let owner = slices.first(where: { record in
                record.nodes.contains { vmName(record, $0.clientID) == parsed.name }
            }), let sliceURN = GENIURN(parsing: owner.sliceURN) else {
                throw GENIFailure(.searchFailed, "no sliver \(text) here")
            }
            guard found == nil || found == sliceURN else {
                throw GENIFailure(.badArgs, "the sliver URNs belong to more than one slice")
            }
            found = sliceURN
        }
        return found!
    }

    private func sliceRecord(_ slice: GENIURN) async throws(GENIFailure) -> StoredGENISlice {
        let record: StoredGENISlice?
        do {
            record = try await store.geniSlice(vcName: slice.clusterName)
        } catch {
            throw GENIFailure(.serverError, "\(error)")
        }
        guard let record else { throw GENIFailure(.searchFailed, "slice \(slice) has no slivers here") }
        return record
    }

    private func defaultImage(_ images: [String]) -> String? {
        if let configured = configuration.defaultImage { return images.contains(configured) ? configured : nil }
        return images.count == 1 ? images[0] : nil
    }
}

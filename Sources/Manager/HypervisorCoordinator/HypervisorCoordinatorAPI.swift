import Commands
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Wire

/// Hypervisor-Coordinator's REST API on the HTTP front (docs/hypervisor-coordinator.md): every call a GET (or POST)
/// with its arguments in the query, answered with the seed's JSON. VMs are made from Torpor's flavors (`tid`) and
/// image catalog (`image_id`) into one virtual cluster, placed by the manager's configured policy; pmid and vmid
/// are numbers kept in the database (`ManagerStore.numbers`), so they survive restarts.
///
/// A failed call answers as the seed says, with 0 in its field (`{"vmid":0}`), and with a 4xx status and an
/// `error` field naming the problem; a call the API does not have answers `0` with 404 and a `Torpor-Reason` header.
public struct HypervisorCoordinatorAPI: HTTPFrontRoutes {
    let leader: GroupLeader
    let configuration: HTTPFrontConfiguration.HypervisorCoordinatorConfiguration
    /// Where VMs' overlays are made: its file system is the disk every host reports (the hosts share it).
    let imagesDirectory: String
    let logger: Logger

    public init(
        leader: GroupLeader,
        configuration: HTTPFrontConfiguration.HypervisorCoordinatorConfiguration,
        imagesDirectory: String,
        logger: Logger
    ) {
        self.leader = leader
        self.configuration = configuration
        self.imagesDirectory = imagesDirectory
        self.logger = logger
    }

    static let prefixes = ["vm", "pm", "image"]

    public func add(to router: Router<HTTPFrontContext>) {
        for prefix in Self.prefixes {
            for path in [prefix, "\(prefix)/**"] {
                router.get(RouterPath(path)) { request, _ in await self.respond(request) }
                router.post(RouterPath(path)) { request, _ in await self.respond(request) }
            }
        }
    }

    enum Call: String, CaseIterable {
        case vmCreate = "/vm/create"
        case vmQuery = "/vm/query"
        case vmDestroy = "/vm/destroy"
        case vmTypes = "/vm/types"
        case pmList = "/pm/list"
        case pmListVMs = "/pm/listvms"
        case pmQuery = "/pm/query"
        case imageList = "/image/list"

        /// The field a failure sets to 0.
        var field: String {
            switch self {
            case .vmCreate, .vmQuery: "vmid"
            case .vmDestroy: "status"
            case .vmTypes: "types"
            case .pmList: "pmids"
            case .pmListVMs: "vmids"
            case .pmQuery: "pmid"
            case .imageList: "images"
            }
        }
    }

    /// A failed call: its status and what went wrong.
    struct Failure: Error {
        var status: HTTPResponse.Status
        var message: String

        static func badRequest(_ message: String) -> Failure { Failure(status: .badRequest, message: message) }
        static func notFound(_ message: String) -> Failure { Failure(status: .notFound, message: message) }
    }

    func respond(_ request: Request) async -> Response {
        var path = request.uri.path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        guard let call = Call(rawValue: path) else {
            var response = Self.body("0", status: .notFound)
            response.headers[Self.reasonHeader] =
                "no Hypervisor-Coordinator call at \(SnoozeAPI.headerSafe(path)) (known: "
                + Call.allCases.map(\.rawValue).joined(separator: ", ") + ")"
            return response
        }
        let query = request.uri.queryParameters
        func argument(_ name: String) -> String? { query.get(name) }
        do {
            let answer = try await self.answer(call, argument: argument)
            return try Self.json(answer, status: .ok)
        } catch let failure as Failure {
            logger.notice(
                "Hypervisor-Coordinator call refused",
                metadata: [.path: "\(call.rawValue)", .error: "\(failure.message)"]
            )
            return (try? Self.json([call.field: 0, "error": failure.message], status: failure.status))
                ?? Self.body("0", status: failure.status)
        } catch {
            logger.error(
                "Hypervisor-Coordinator call failed",
                metadata: [.path: "\(call.rawValue)", .error: "\(error)"]
            )
            return (try? Self.json([call.field: 0, "error": "\(error)"], status: .internalServerError))
                ?? Self.body("0", status: .internalServerError)
        }
    }

    func answer(_ call: Call, argument: (String) -> String?) async throws -> [String: Any] {
        switch call {
        case .vmCreate:
            let name = try Self.required("name", argument, call)
            let tid = try Self.number("instance_type", argument, call)
            let imageID = try Self.number("image_id", argument, call)
            return ["vmid": try await create(name: name, tid: tid, imageID: imageID)]
        case .vmQuery:
            return try await query(vmid: try Self.number("vmid", argument, call))
        case .vmDestroy:
            return ["status": try await destroy(vmid: try Self.number("vmid", argument, call)) ? 1 : 0]
        case .vmTypes:
            let catalog = try await catalog()
            return [
                "types": catalog.flavors.map { flavor in
                    [
                        "tid": Int(flavor.id), "cpu": Int(flavor.virtualCPUs),
                        "ram": Int(flavor.memoryBytes >> 20), "disk": Int(flavor.diskBytes >> 30),
                    ] as [String: Any]
                }
            ]
        case .pmList:
            return ["pmids": try await hostNumbers().map { $0.number }]
        case .pmListVMs:
            let host = try await host(pmid: try Self.number("pmid", argument, call))
            let vms = try await leader.view().vms.filter { $0.record.hostID == host && Self.placed($0.record) }
            let numbers = try await leader.store.numbers(of: .vm, for: vms.map(\.record.id))
            return ["vmids": vms.compactMap { numbers[$0.record.id] }.sorted()]
        case .pmQuery:
            return try await query(pmid: try Self.number("pmid", argument, call))
        case .imageList:
            let catalog = try await catalog()
            return ["images": catalog.images.map { ["id": Int($0.id), "name": $0.name] as [String: Any] }]
        }
    }

    // MARK: VMs

    /// Makes the VM from the flavor and image into the API's cluster and starts it; 0 (and the VM removed again)
    /// when the placement policy finds no host for it.
    func create(name: String, tid: Int64, imageID: Int64) async throws -> Int64 {
        guard DomainTemplate.isValidName(name) else {
            throw Failure.badRequest("'\(name)' is not a valid VM name (1–64 of A–Z a–z 0–9 . _ -)")
        }
        let catalog = try await catalog()
        guard let flavor = catalog.flavors.first(where: { Int64($0.id) == tid }) else {
            throw Failure.notFound("no instance type with tid \(tid) (GET /vm/types lists them)")
        }
        guard let image = catalog.images.first(where: { Int64($0.id) == imageID }) else {
            throw Failure.notFound("no image with id \(imageID) (GET /image/list lists them)")
        }
        let cluster = configuration.cluster
        if case .commandResult = await leader.handle(.info(cluster: cluster)) {
            // A concurrent create may define it first: its conflict is no failure.
            if case .commandResult(let result) = await leader.handle(.define(cluster: cluster)),
                result.code != .conflict
            {
                throw Failure(status: SnoozeAPI.status(for: result.code), message: result.message)
            }
        }
        try Self.accepted(
            await leader.handle(
                .addFromImage(cluster: cluster, .init(flavor: flavor.name, image: image.name, names: [name]))
            )
        )
        let started = try Self.accepted(await leader.handle(.act(.start, cluster: cluster, vm: name)))
        let finished = await waitForTask(started.id)
        guard let stored = try await leader.store.vm(named: name) else {
            throw Failure.notFound("VM \(name) was removed while it started")
        }
        if let finished, finished.state != .succeeded {
            let outcome = finished.outcomes.first { $0.vm == name }
            let reason = outcome?.message ?? finished.message
            // Nothing is left of a VM that did not start: no files, no address, no number.
            if let removal = try? Self.accepted(await leader.handle(.remove(cluster: cluster, vm: name))) {
                _ = await waitForTask(removal.id)
            }
            if outcome?.state == .unplaced {
                throw Failure(status: .conflict, message: "nothing fits \(flavor.name) (\(name)): \(reason)")
            }
            throw Failure(status: .conflict, message: "\(name) did not start: \(reason)")
        }
        // Still starting after the wait (a host waking): it exists, and /vm/query shows how it goes.
        let number = try await leader.store.numbers(of: .vm, for: [stored.id])[stored.id] ?? 0
        logger.notice(
            "Hypervisor-Coordinator VM created",
            metadata: [.vm: "\(name)", .flavor: "\(flavor.name)", .image: "\(image.name)", .detail: "vmid \(number)"]
        )
        return number
    }

    func query(vmid: Int64) async throws -> [String: Any] {
        let vm = try await vm(vmid: vmid)
        let disk = try await leader.store.vmDisk(vmID: vm.id)
        var pmid: Int64 = 0
        if let host = vm.hostID, Self.placed(vm) {
            pmid = try await leader.store.numbers(of: .host, for: [host])[host] ?? 0
        }
        let lease = try await leader.store.lease(vmID: vm.id)
        return [
            "vmid": vmid, "name": vm.name, "instance_type": disk?.flavorID ?? 0, "image_id": disk?.imageID ?? 0,
            "pmid": pmid, "state": vm.state.rawValue, "ip": lease.map { "\($0.ip)" } ?? "",
        ]
    }

    /// Destroys the VM and removes it with its files; true once its task succeeded.
    func destroy(vmid: Int64) async throws -> Bool {
        let vm = try await vm(vmid: vmid)
        let removal = try Self.accepted(await leader.handle(.remove(cluster: vm.vcName, vm: vm.name)))
        let finished = await waitForTask(removal.id)
        guard finished?.state == .succeeded else {
            let reason = finished.map { status in
                status.outcomes.first { $0.state != .done }?.message ?? status.message
            }
            throw Failure(
                status: .conflict,
                message: "\(vm.name) was not destroyed: "
                    + (reason ?? "task \(removal.id) still running after \(configuration.actionWait)")
            )
        }
        return true
    }

    func vm(vmid: Int64) async throws -> StoredVM {
        guard let id = try await leader.store.id(of: .vm, number: vmid), let vm = try await leader.store.vm(id: id)
        else { throw Failure.notFound("no VM with vmid \(vmid)") }
        return vm
    }

    // MARK: Hosts

    /// Every host the manager knows, connected or not, in id order, with its number.
    func hostNumbers() async throws -> [(hostID: String, number: Int64)] {
        let view = try await leader.view()
        let ids = Set(try await leader.store.hosts().map(\.id)).union(view.hosts.map(\.hostID)).sorted()
        let numbers = try await leader.store.numbers(of: .host, for: ids)
        return ids.compactMap { id in numbers[id].map { (id, $0) } }.sorted { $0.number < $1.number }
    }

    func host(pmid: Int64) async throws -> String {
        guard let host = try await leader.store.id(of: .host, number: pmid) else {
            throw Failure.notFound("no physical machine with pmid \(pmid)")
        }
        return host
    }

    /// Capacity as the host reports it (the stored record when it is not connected), free as capacity less what
    /// the VMs placed on it asked for; disk is the shared images directory's file system.
    func query(pmid: Int64) async throws -> [String: Any] {
        let hostID = try await host(pmid: pmid)
        let view = try await leader.view()
        var cores = 0
        var memoryBytes: Int64 = 0
        if let live = view.hosts.first(where: { $0.hostID == hostID }) {
            cores = Int(live.capacity.cores)
            memoryBytes = Int64(clamping: live.capacity.memoryBytes)
        } else if let stored = try await leader.store.hosts().first(where: { $0.id == hostID }) {
            cores = stored.cores
            memoryBytes = Int64(stored.memoryBytes)
        }
        let vms = view.vms.map(\.record).filter { $0.hostID == hostID && Self.placed($0) }
        let usedCPUs = vms.reduce(0) { $0 + $1.virtualCPUs }
        let usedMemory = vms.reduce(Int64(0)) { $0 + $1.memoryBytes }
        let space = await DiskSpace.of(imagesDirectory)
        let capacity: [String: Int] = [
            "cpu": cores, "ram": Int(memoryBytes >> 20), "disk": Int(space.totalBytes >> 30),
        ]
        let free: [String: Int] = [
            "cpu": max(0, cores - usedCPUs), "ram": Int(max(0, memoryBytes - usedMemory) >> 20),
            "disk": Int(space.availableBytes >> 30),
        ]
        return ["pmid": pmid, "capacity": capacity, "free": free, "vms": vms.count]
    }

    // MARK: Helpers

    static func placed(_ vm: StoredVM) -> Bool { SnoozeAPI.placedStates.contains(vm.state) }

    func catalog() async throws -> CatalogReply {
        switch await leader.handle(.flavorList) {
        case .catalogReply(let catalog): return catalog
        case .commandResult(let result):
            throw Failure(status: SnoozeAPI.status(for: result.code), message: result.message)
        default: throw Failure(status: .internalServerError, message: "the catalog gave no answer")
        }
    }

    /// The task once ended, or nil when `action_wait` passed first.
    func waitForTask(_ id: String) async -> TaskStatus? {
        let deadline = ContinuousClock.now + configuration.actionWait
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let milliseconds = UInt32(clamping: max(1, left.components.seconds * 1000))
            guard case .taskStatus(let status) = await leader.handle(.task(id: id, waitMilliseconds: milliseconds))
            else { return nil }
            if status.state.isFinished { return status }
        }
        return nil
    }

    @discardableResult
    static func accepted(_ reply: WireMessage) throws(Failure) -> TaskStatus {
        switch reply {
        case .taskStatus(let status): return status
        case .commandResult(let result):
            throw Failure(status: SnoozeAPI.status(for: result.code), message: result.message)
        default: throw Failure(status: .internalServerError, message: "unexpected answer \(reply.type)")
        }
    }

    static func required(_ name: String, _ argument: (String) -> String?, _ call: Call) throws(Failure) -> String {
        guard let value = argument(name), !value.isEmpty else {
            throw .badRequest("\(call.rawValue) needs the argument \(name)")
        }
        return value
    }

    static func number(_ name: String, _ argument: (String) -> String?, _ call: Call) throws(Failure) -> Int64 {
        let text = try required(name, argument, call)
        guard let value = Int64(text), value > 0 else {
            throw .badRequest("\(call.rawValue): \(name) must be a positive whole number, not '\(text.prefix(40))'")
        }
        return value
    }

    static let reasonHeader = SnoozeAPI.reasonHeader

    static func json(_ object: [String: Any], status: HTTPResponse.Status) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var response = body(String(decoding: data, as: UTF8.self), status: status)
        response.headers[.contentType] = "application/json"
        return response
    }

    static func body(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: "\(text.utf8.count)"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// The size and free space of the file system a directory is on, read with `df` as a child process so a slow
/// shared file system never holds a thread of the cooperative pool; zeros when it cannot be read.
struct DiskSpace: Sendable {
    var totalBytes: Int64
    var availableBytes: Int64

    static func of(_ directory: String) async -> DiskSpace {
        // The directory is made with the first VM; until then its nearest existing parent's file system.
        var path = directory
        while !FileManager.default.fileExists(atPath: path), path != "/" {
            path = URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        guard
            let outcome = try? await CommandRunner.run(
                ["df", "-B1", "--output=size,avail", path],
                timeout: .seconds(30)
            ),
            case .exited(0) = outcome.termination
        else { return DiskSpace(totalBytes: 0, availableBytes: 0) }
        return parse(outcome.standardOutput)
    }

    /// `df --output=size,avail`'s header line and one line of two numbers.
    static func parse(_ output: String) -> DiskSpace {
        let numbers = output.split(separator: "\n").dropFirst().first?.split(separator: " ").compactMap { Int64($0) }
        guard let numbers, numbers.count == 2 else { return DiskSpace(totalBytes: 0, availableBytes: 0) }
        return DiskSpace(totalBytes: numbers[0], availableBytes: numbers[1])
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Wire

/// Snooze's REST API on the HTTP front (docs/snooze-api.md): the bootstrap, group leader and group manager calls of
/// Snooze 2, answered by this manager's group leader in-process. Snooze names the call in the query
/// (`/groupmanager?startVirtualCluster`); every call is served on `/bootstrap`, `/groupmanager` and
/// `/localcontroller`, by GET or POST, since Torpor plays every role on one port and the addresses its replies give
/// are that port.
///
/// Tolerant of old clients: the body is read whatever its Content-Type says, a task id may come raw or quoted. Bad
/// input is a 4xx whose text/plain body names the problem, and changes nothing.
public struct SnoozeAPI: HTTPFrontRoutes {
    let leader: GroupLeader
    let managerID: String
    let configuration: HTTPFrontConfiguration
    /// The manager's Wire port, shown as the monitoring data address.
    let wirePort: Int
    let hostWake: [String: HostWakeConfiguration]
    /// Shown as each host's hypervisor migration timeout (`migration.timeout`, seconds; 0: the agent's own).
    let migrationTimeoutSeconds: Int
    let logger: Logger

    public init(
        leader: GroupLeader,
        managerID: String,
        configuration: HTTPFrontConfiguration,
        wirePort: Int,
        hostWake: [String: HostWakeConfiguration] = [:],
        migrationTimeoutSeconds: Int = 0,
        logger: Logger
    ) {
        self.migrationTimeoutSeconds = migrationTimeoutSeconds
        self.leader = leader
        self.managerID = managerID
        self.configuration = configuration
        self.wirePort = wirePort
        self.hostWake = hostWake
        self.logger = logger
    }

    static let paths = ["bootstrap", "groupmanager", "localcontroller"]

    public func add(to router: Router<HTTPFrontContext>) {
        for path in Self.paths {
            router.get(RouterPath(path)) { request, context in await self.respond(request, context) }
            router.post(RouterPath(path)) { request, context in await self.respond(request, context) }
        }
    }

    enum Call: String, CaseIterable {
        case getGroupLeaderDescription, getCompleteHierarchy, getLocalControllerList
        case getGroupLeaderRepositoryInformation, getGroupManagerRepositoryInformation
        case startVirtualCluster, getVirtualClusterResponse, migrateVirtualMachine
        case destroyVirtualMachine, rebootVirtualMachine, resumeVirtualMachine, shutdownVirtualMachine
        case suspendVirtualMachine
        case getVirtualMachineMetaData
    }

    /// A refusal: status and the message naming the problem.
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var message: String

        static func badRequest(_ message: String) -> Refusal { Refusal(status: .badRequest, message: message) }
        static func notFound(_ message: String) -> Refusal { Refusal(status: .notFound, message: message) }
    }

    func respond(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        var request = request
        do {
            let call = try Self.call(in: request.uri.query)
            let body = try await Self.body(of: &request, limit: configuration.maximumBodyBytes, call: call)
            return try await answer(call, body: body, base: advertised(request, context))
        } catch let refusal as Refusal {
            return Self.text(refusal.message, status: refusal.status)
        } catch {
            logger.error("snooze call failed", metadata: [.error: "\(error)"])
            return Self.text("internal error: \(error)", status: .internalServerError)
        }
    }

    /// The call a query names: its first key (`?getLocalControllerList`, `?startVirtualCluster=`).
    static func call(in query: String?) throws(Refusal) -> Call {
        let name = (query ?? "").split(separator: "&").first.map { $0.split(separator: "=").first ?? "" } ?? ""
        guard !name.isEmpty else {
            throw .badRequest("no Snooze call: name one in the query, e.g. /groupmanager?startVirtualCluster")
        }
        guard let call = Call(rawValue: String(name)) else {
            throw .notFound("no Snooze call named '\(name)' (known: \(Call.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return call
    }

    static func body(of request: inout Request, limit: Int, call: Call) async throws(Refusal) -> Data {
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch {
            throw Refusal(status: .contentTooLarge, message: "\(call.rawValue): the body is over \(limit) bytes")
        }
    }

    // MARK: Calls

    func answer(_ call: Call, body: Data, base: Snooze.NetworkAddress) async throws -> Response {
        switch call {
        case .getGroupLeaderDescription:
            return try Self.json(try await groupLeaderDescription(base: base))
        case .getCompleteHierarchy, .getGroupLeaderRepositoryInformation:
            return try Self.json(
                Snooze.GroupLeaderRepositoryInformation(groupManagerDescriptions: [try await groupManager(base: base)])
            )
        case .getLocalControllerList:
            return try Self.json(Snooze.LocalControllerList(localControllers: try await localControllers(base: base)))
        case .getGroupManagerRepositoryInformation:
            return try Self.json(
                Snooze.GroupManagerRepositoryInformation(localControllerDescriptions: try await localControllers(base: base))
            )
        case .startVirtualCluster:
            let submission = try Self.decode(Snooze.VirtualClusterSubmissionRequest.self, from: body, call: call)
            return Self.text(try await startVirtualCluster(submission), status: .ok)
        case .getVirtualClusterResponse:
            let id = try Self.taskID(in: body)
            guard let response = try await virtualClusterResponse(taskID: id, base: base) else {
                // Not finished: empty, as Snooze answered while a submission was pending.
                return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "0"])
            }
            return try Self.json(response)
        case .migrateVirtualMachine:
            let migration = try Self.decode(Snooze.MigrationRequest.self, from: body, call: call)
            return try await migrate(migration)
        case .getVirtualMachineMetaData:
            let location = try Self.decode(Snooze.LocationRequest.self, from: body, call: call)
            return try Self.json(try await metaData(of: location.virtualMachineId, base: base))
        case .destroyVirtualMachine, .rebootVirtualMachine, .resumeVirtualMachine, .shutdownVirtualMachine,
            .suspendVirtualMachine:
            let location = try Self.decode(Snooze.LocationRequest.self, from: body, call: call)
            return try await act(call, on: location.virtualMachineId)
        }
    }

    func groupLeaderDescription(base: Snooze.NetworkAddress) async throws -> Snooze.GroupManagerDescription {
        describer.groupLeaderDescription(base: base)
    }

    /// The one group manager: this manager, with every host.
    func groupManager(base: Snooze.NetworkAddress) async throws -> Snooze.GroupManagerDescription {
        describer.groupManager(try await leader.view(), base: base)
    }

    func localControllers(base: Snooze.NetworkAddress) async throws -> [Snooze.LocalControllerDescription] {
        localControllers(try await leader.view(), base: base)
    }

    func localControllers(_ view: GroupLeaderView, base: Snooze.NetworkAddress) -> [Snooze.LocalControllerDescription] {
        describer.localControllers(view, base: base)
    }

    var describer: SnoozeDescriber {
        SnoozeDescriber(
            managerID: managerID,
            wirePort: wirePort,
            hostWake: hostWake,
            migrationTimeoutSeconds: migrationTimeoutSeconds
        )
    }

    // MARK: Submissions

    /// Defines a virtual cluster of its own for the submission, adds the VMs and starts them; the start task's id is
    /// Snooze's task identifier. A refused add leaves nothing behind (the empty cluster is undefined again).
    func startVirtualCluster(_ submission: Snooze.VirtualClusterSubmissionRequest) async throws -> String {
        guard !submission.virtualMachineTemplates.isEmpty else {
            throw Refusal.badRequest("startVirtualCluster: virtualMachineTemplates is empty")
        }
        var vms: [ClusterRequest.VMSubmission] = []
        for (index, template) in submission.virtualMachineTemplates.enumerated() {
            do {
                _ = try DomainTemplate.parse(template.libVirtTemplate, diskExists: { _ in true })
            } catch {
                throw Refusal.badRequest("startVirtualCluster: template \(index + 1) (libVirtTemplate): \(error)")
            }
            let rx = try Self.bytesPerSecond(template.networkCapacityDemand?.rxBytes, "rxBytes", index)
            let tx = try Self.bytesPerSecond(template.networkCapacityDemand?.txBytes, "txBytes", index)
            vms.append(
                ClusterRequest.VMSubmission(
                    templateXML: template.libVirtTemplate,
                    networkRxBytesPerSecond: rx,
                    networkTxBytesPerSecond: tx
                )
            )
        }
        let cluster = "snooze-" + UUID().uuidString.lowercased().prefix(8)
        try Self.accepted(await leader.handle(.define(cluster: cluster)), call: "startVirtualCluster")
        do {
            try Self.accepted(await leader.handle(.add(cluster: cluster, vms: vms)), call: "startVirtualCluster")
        } catch {
            _ = await leader.handle(.undefine(cluster: cluster))
            throw error
        }
        let started = try Self.accepted(
            await leader.handle(.act(.start, cluster: cluster, vm: "")),
            call: "startVirtualCluster"
        )
        logger.notice(
            "snooze virtual cluster submitted",
            metadata: [.vc: "\(cluster)", .task: "\(started.id)"]
        )
        return started.id
    }

    /// Snooze's network demand is in KiB/s (its 12800 is its 100 Mbit/s default); Torpor's in bytes per second.
    static func bytesPerSecond(_ kibibytes: Double?, _ field: String, _ index: Int) throws(Refusal) -> UInt64 {
        guard let kibibytes else { return 0 }
        guard kibibytes.isFinite, kibibytes >= 0, kibibytes < 1e12 else {
            throw .badRequest("startVirtualCluster: template \(index + 1): networkCapacityDemand.\(field) must be a "
                + "non-negative number of KiB/s, not \(kibibytes)")
        }
        return UInt64(kibibytes * 1024)
    }

    /// The submission's VMs once its task has ended; nil while it runs.
    func virtualClusterResponse(taskID: String, base: Snooze.NetworkAddress) async throws
        -> Snooze.VirtualClusterResponse?
    {
        let status = try Self.accepted(
            await leader.handle(.task(id: taskID, waitMilliseconds: 0)),
            call: "getVirtualClusterResponse"
        )
        guard status.state.isFinished else { return nil }
        var metas: [Snooze.VirtualMachineMetaData] = []
        for outcome in status.outcomes {
            guard let vm = try await leader.vmView(named: outcome.vm) else { continue }
            let stored = StoredTask.Outcome(vm: outcome.vm, state: .init(outcome.state), hostID: "", message: outcome.message)
            metas.append(describer.metaData(vm, base: base, errorCode: .of(stored, taskKind: status.kind)))
        }
        return Snooze.VirtualClusterResponse(errorCode: nil, virtualMachineMetaData: metas)
    }

    func metaData(of name: String, base: Snooze.NetworkAddress) async throws -> Snooze.VirtualMachineMetaData {
        guard let vm = try await leader.vmView(named: name) else {
            throw Refusal.notFound("unknown VM location: no VM with virtualMachineId '\(name)'")
        }
        return metaData(vm, base: base)
    }

    // MARK: Actions

    func act(_ call: Call, on name: String) async throws -> Response {
        guard let vm = try await leader.vmView(named: name) else {
            throw Refusal.notFound("\(call.rawValue): unknown VM location: no VM with virtualMachineId '\(name)'")
        }
        let cluster = vm.record.vcName
        let reply: WireMessage
        switch call {
        case .suspendVirtualMachine: reply = await leader.handle(.act(.suspend, cluster: cluster, vm: name))
        case .resumeVirtualMachine: reply = await leader.handle(.act(.resume, cluster: cluster, vm: name))
        case .shutdownVirtualMachine: reply = await leader.handle(.act(.shutdown, cluster: cluster, vm: name))
        case .rebootVirtualMachine: reply = await leader.submitReboot(cluster: cluster, vm: name)
        default: reply = await leader.handle(.remove(cluster: cluster, vm: name))
        }
        let submitted = try Self.accepted(reply, call: call.rawValue)
        let finished = await waitForTask(submitted.id)
        let succeeded = finished?.state == .succeeded
        if call == .destroyVirtualMachine, succeeded, cluster.hasPrefix("snooze-") {
            // The last VM of a Snooze submission gone: its cluster goes too.
            if case .clusterReply(let info) = await leader.handle(.info(cluster: cluster)),
                info.clusters.first?.vms.isEmpty == true
            {
                _ = await leader.handle(.undefine(cluster: cluster))
            }
        }
        var response = Self.boolean(succeeded)
        if !succeeded {
            let reason = finished.map { status in
                status.outcomes.first { $0.state != .done }?.message ?? status.message
            } ?? "task \(submitted.id) still running after \(configuration.snooze.actionWait)"
            response.headers[Self.reasonHeader] = Self.headerSafe(reason)
        }
        return response
    }

    /// The task once ended, or nil when `snooze.action_wait` passed first.
    func waitForTask(_ id: String) async -> TaskStatus? {
        let deadline = ContinuousClock.now + configuration.snooze.actionWait
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let milliseconds = UInt32(clamping: max(1, left.components.seconds * 1000))
            guard case .taskStatus(let status) = await leader.handle(.task(id: id, waitMilliseconds: milliseconds))
            else { return nil }
            if status.state.isFinished { return status }
        }
        return nil
    }

    func migrate(_ request: Snooze.MigrationRequest) async throws -> Response {
        let name = request.sourceVirtualMachineLocation.virtualMachineId
        let host = request.destinationVirtualMachineLocation.localControllerId
        do {
            let id = try await leader.startMigration(vm: name, to: host, reason: "Snooze migrateVirtualMachine")
            logger.notice(
                "snooze migration submitted",
                metadata: [.vm: "\(name)", .task: "\(id)"]
            )
            return Self.boolean(true)
        } catch {
            throw Refusal(status: Self.status(for: error.code), message: "migrateVirtualMachine: \(error.message)")
        }
    }

    // MARK: Shapes

    func metaData(_ vm: GroupLeaderView.VM, base: Snooze.NetworkAddress) -> Snooze.VirtualMachineMetaData {
        describer.metaData(vm, base: base)
    }

    static func status(of state: StoredVM.State) -> String { SnoozeDescriber.status(of: state) }

    static var placedStates: Set<StoredVM.State> { SnoozeDescriber.placedStates }

    /// The address replies advertise: `http.advertise`, else the request's Host, else the address it came in on.
    func advertised(_ request: Request, _ context: HTTPFrontContext) -> Snooze.NetworkAddress {
        if let advertise = configuration.advertise, let parsed = HostPortText(advertise, requiresPort: false) {
            return Snooze.NetworkAddress(address: parsed.host, port: parsed.port ?? context.localPort ?? 0)
        }
        if let authority = request.head.authority, let parsed = HostPortText(authority, requiresPort: false) {
            return Snooze.NetworkAddress(address: parsed.host, port: parsed.port ?? 80)
        }
        let listen = configuration.listen.flatMap { HostPortText($0, requiresPort: true) }
        let host = listen.map(\.host).flatMap { ["0.0.0.0", "::"].contains($0) ? nil : $0 }
        return Snooze.NetworkAddress(
            address: host ?? ProcessInfo.processInfo.hostName,
            port: context.localPort ?? listen?.port ?? 0
        )
    }

    // MARK: Encoding and decoding

    static let reasonHeader = HTTPField.Name("Torpor-Reason")!

    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? Character($0) : " " })
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .contentLength: "\(data.count)"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func boolean(_ value: Bool) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value ? "true" : "false"))
        )
    }

    static func text(_ message: String, status: HTTPResponse.Status) -> Response {
        let body = message.hasSuffix("\n") || status == .ok ? message : message + "\n"
        return Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }

    /// The body as `type`, or a 400 naming what is wrong with it.
    static func decode<T: Decodable>(_ type: T.Type, from body: Data, call: Call) throws(Refusal) -> T {
        guard !body.isEmpty else { throw .badRequest("\(call.rawValue): the body is empty; it must be JSON") }
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch let error as DecodingError {
            throw .badRequest("\(call.rawValue): \(describe(error))")
        } catch {
            throw .badRequest("\(call.rawValue): malformed JSON: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "malformed JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))"
        case .dataCorrupted(let context):
            return "malformed value at \(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' must be \(type)"
        @unknown default:
            return "malformed JSON"
        }
    }

    /// A task id as clients send it: raw (`t-1a2b3c4d`), as a JSON string, or as the one string of a JSON object.
    static func taskID(in body: Data) throws(Refusal) -> String {
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw .badRequest("getVirtualClusterResponse: the body is empty; it must be the task identifier")
        }
        if text.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                object.count == 1, let id = object.values.first as? String
            else {
                throw .badRequest("getVirtualClusterResponse: malformed JSON: expected a task identifier")
            }
            return id
        }
        if text.hasPrefix("\"") {
            guard let id = try? JSONDecoder().decode(String.self, from: Data(text.utf8)) else {
                throw .badRequest("getVirtualClusterResponse: malformed JSON string for the task identifier")
            }
            return id
        }
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .badRequest("getVirtualClusterResponse: '\(text.prefix(80))' is not a task identifier")
        }
        return text
    }

    /// The leader's reply when it accepted the request; its refusal as a 4xx otherwise.
    @discardableResult
    static func accepted(_ reply: WireMessage, call: String) throws(Refusal) -> TaskStatus {
        switch reply {
        case .taskStatus(let status):
            return status
        case .commandResult(let result):
            throw Refusal(status: status(for: result.code), message: "\(call): \(result.message)")
        default:
            throw Refusal(status: .internalServerError, message: "\(call): unexpected answer \(reply.type)")
        }
    }

    static func status(for code: CommandResult.Code) -> HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .conflict, .busy: .conflict
        case .invalidArgument, .unsupported: .badRequest
        case .notDelivered, .timedOut: .serviceUnavailable
        default: .internalServerError
        }
    }
}
